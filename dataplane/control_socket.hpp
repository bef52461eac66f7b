// The unix-socket face of the CLI: a running lbdp accepts the same commands as its
// interactive prompt from clients such as lbctl.
//
// Protocol (control_protocol.hpp): the client sends one command per line; for each, the
// server writes the command's output lines, then one status line, "%% ok" or
// "%% error". Clients may send several commands on one connection (a script).
//
// Served from the main lcore's loop (poll(), non-blocking, a bounded amount of work
// per call: at most kMaxLinesPerPoll commands, and a client's next command runs only
// once its previous answer is written), never from a worker. Not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "cli.hpp"
#include "control_protocol.hpp"

namespace lb {

class ControlSocket {
 public:
  ControlSocket(std::string path, CommandExecutor& executor) : path_(std::move(path)), executor_(executor) {}
  ~ControlSocket();
  // Creates and listens; false with *error set if the path cannot be bound.
  bool open(std::string* error);
  // Accepts new clients and runs complete command lines that have arrived.
  void poll();
  const std::string& path() const { return path_; }

 private:
  struct Client {
    int fd;
    std::string in;   // received, not yet run
    std::string out;  // answers not yet written (the socket is non-blocking)
  };
  static constexpr size_t kMaxLinesPerPoll = 16;
  static constexpr size_t kMaxPending = 64u << 20;  // a client that does not read is dropped
  // Runs complete lines while the client has no unwritten answer; false to drop it.
  bool serve(Client& c);
  static bool flush(Client& c);  // false when the client is gone
  std::string path_;
  CommandExecutor& executor_;
  int listen_fd_ = -1;
  std::vector<Client> clients_;
};

}  // namespace lb
