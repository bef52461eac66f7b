#include "control_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lb {

ControlSocket::~ControlSocket() {
  for (auto& c : clients_) ::close(c.fd);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
}

bool ControlSocket::open(std::string* error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path) return *error = "socket path too long: " + path_, false;
  std::strcpy(addr.sun_path, path_.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return *error = std::string("socket: ") + std::strerror(errno), false;
  // A stale socket file from a process that died is replaced; a live one is refused.
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ::close(probe);
    ::close(listen_fd_);
    listen_fd_ = -1;  // so the destructor does not unlink the other lbdp's socket
    return *error = path_ + ": another lbdp is listening there", false;
  }
  if (probe >= 0) ::close(probe);
  ::unlink(path_.c_str());
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0) {
    *error = path_ + ": " + std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  ::chmod(path_.c_str(), 0600);
  return true;
}

void ControlSocket::poll() {
  if (listen_fd_ < 0) return;
  for (int fd; (fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;)
    clients_.push_back(Client{fd, {}, {}});
  for (size_t i = 0; i < clients_.size();) {
    Client& c = clients_[i];
    char buf[4096];
    ssize_t n = 1;  // no read when the input is full already: neither EOF nor error
    bool gone = false;
    while (c.in.size() < kMaxPending && (n = ::read(c.fd, buf, sizeof buf)) > 0) c.in.append(buf, static_cast<size_t>(n));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) gone = true;
    if (!gone) gone = !serve(c);
    if (gone || c.in.size() >= kMaxPending || c.out.size() >= kMaxPending) {
      ::close(c.fd);
      clients_.erase(clients_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
}

bool ControlSocket::flush(Client& c) {
  while (!c.out.empty()) {
    ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (w > 0) {
      c.out.erase(0, static_cast<size_t>(w));
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;  // the rest goes out on a later poll
    } else {
      return false;
    }
  }
  return true;
}

bool ControlSocket::serve(Client& c) {
  for (size_t lines = 0; lines < kMaxLinesPerPoll; ++lines) {
    if (!flush(c)) return false;
    if (!c.out.empty()) return true;  // answer the next command once this one is read
    size_t nl = c.in.find('\n');
    if (nl == std::string::npos) return true;
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    bool ok = run_command(executor_, line, c.out);
    c.out += ok ? kStatusOk : kStatusError;
    c.out += "\n";
  }
  return flush(c);
}

}  // namespace lb
