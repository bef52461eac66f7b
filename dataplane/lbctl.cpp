// lbctl: sends commands to a running lbdp over its unix socket and prints the answers.
//   lbctl [-s SOCKET] COMMAND WORDS...        one command
//   lbctl [-s SOCKET] -f SCRIPT               one command per line (# comments); stops at
//                                            the first that fails
// Exit status: 0 when every command succeeded, 1 when one failed, 2 on usage or
// connection errors.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "control_protocol.hpp"

namespace {

constexpr int kTimeoutMs = 30000;  // a command's answer; lbdp answers in milliseconds

[[noreturn]] void usage(const char* error) {
  if (error) std::fprintf(stderr, "lbctl: %s\n", error);
  std::fprintf(stderr, "usage: lbctl [-s SOCKET] COMMAND...\n       lbctl [-s SOCKET] -f SCRIPT\n"
                       "  SOCKET defaults to %s (lbdp --socket)\n", lb::kDefaultControlSocket);
  std::exit(2);
}

// Sends one line; prints the answer; returns true on "%% ok".
bool run(int fd, const std::string& line, std::string& pending) {
  std::string msg = line + "\n";
  if (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
    std::fprintf(stderr, "lbctl: lbdp closed the connection\n");
    std::exit(2);
  }
  for (;;) {
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string out = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (out == lb::kStatusOk) return true;
      if (out == lb::kStatusError) return false;
      std::printf("%s\n", out.c_str());
    }
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, kTimeoutMs) == 0) {
      std::fprintf(stderr, "lbctl: no answer from lbdp within %d s\n", kTimeoutMs / 1000);
      std::exit(2);
    }
    char buf[8192];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      std::fprintf(stderr, "lbctl: lbdp closed the connection\n");
      std::exit(2);
    }
    pending.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed connection is reported, not fatal
  std::string socket_path = lb::kDefaultControlSocket, script;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    if (!std::strcmp(argv[i], "-s") && i + 1 < argc) socket_path = argv[++i];
    else if (!std::strcmp(argv[i], "-f") && i + 1 < argc) script = argv[++i];
    else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) usage(nullptr);
    else usage("unknown option");
  }
  std::vector<std::string> lines;
  if (!script.empty()) {
    if (i != argc) usage("-f takes no command words");
    std::ifstream in(script);
    if (!in) usage(("cannot read " + script).c_str());
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  } else {
    if (i == argc) usage("no command");
    std::string cmd;
    for (; i < argc; ++i) cmd += (cmd.empty() ? "" : " ") + std::string(argv[i]);
    lines.push_back(cmd);
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "lbctl: cannot connect to %s: %s (is lbdp running?)\n", socket_path.c_str(),
                 std::strerror(errno));
    return 2;
  }
  std::string pending;
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string& l = lines[n];
    size_t start = l.find_first_not_of(" \t");
    if (start == std::string::npos || l[start] == '#') continue;
    if (!run(fd, l, pending)) {
      if (!script.empty()) std::fprintf(stderr, "lbctl: %s:%zu: command failed: %s\n", script.c_str(), n + 1, l.c_str());
      return 1;
    }
  }
  return 0;
}
