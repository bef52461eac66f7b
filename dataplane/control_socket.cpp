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
    clients_.push_back(Client{fd, {}});
  for (size_t i = 0; i < clients_.size();) {
    Client& c = clients_[i];
    char buf[4096];
    ssize_t n;
    bool closed = false;
    while ((n = ::read(c.fd, buf, sizeof buf)) > 0) c.in.append(buf, static_cast<size_t>(n));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
    serve(c);
    if (closed || c.in.size() > (1 << 20)) {
      ::close(c.fd);
      clients_.erase(clients_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
}

void ControlSocket::serve(Client& c) {
  size_t nl;
  while ((nl = c.in.find('\n')) != std::string::npos) {
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    std::string out;
    bool ok = run_command(executor_, line, out);
    out += ok ? kStatusOk : kStatusError;
    out += "\n";
    // Replies are small; a client that does not read is not waited for (blocking write
    // with a short deadline would stall the slow path).
    const char* p = out.data();
    size_t left = out.size();
    for (int spins = 0; left > 0 && spins < 1000; ++spins) {
      ssize_t w = ::write(c.fd, p, left);
      if (w > 0) p += w, left -= static_cast<size_t>(w);
      else if (w < 0 && errno != EAGAIN) break;
      else ::usleep(100);
    }
  }
}

}  // namespace lb
