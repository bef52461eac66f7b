// lbdp's testpmd-style command language, declared as data on DPDK's cmdline library
// (typed tokens, help text, one handler per command instance).
//
// A handler only turns its parsed tokens into a Request and hands it to the
// CommandExecutor of the session that runs the line; the executor (cli_executor.hpp,
// backed by the App) does the work. So the interactive prompt (lbdp -i), the unix
// socket (lbctl) and the tests all go through the same parsing and the same executor.
//
// Thread-safety: main lcore only (one command at a time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <cmdline.h>

#include "config.hpp"

namespace lb {

struct Request {
  enum class Kind : uint8_t {
    help, show_port_stats, show_port_info, show_lcore_stats, show_vip, show_backend, show_flows, show_config,
    clear_stats, add_vip, del_vip, set_vip_sched, add_backend, del_backend, set_backend_weight,
    set_backend_state, start, stop, reload, quit,
  };
  Kind kind = Kind::help;
  bool all = true;            // show port ...: all ports, or `port`
  uint16_t port_id = 0;
  bool has_vip = false;       // show backend/flows: one VIP only
  Ipv4 vip;
  uint16_t vip_port = 0;
  Ipv4 address;               // backend address
  uint16_t port = 0;          // backend port
  uint32_t weight = 1;
  FwdMode mode = FwdMode::nat;
  SchedKind sched = SchedKind::rr;
  BackendState state = BackendState::up;
  std::vector<Ipv4> local_addresses;
  bool count_only = false;    // show flows ... count
  uint32_t limit = 100;       // show flows ... N
};

class CommandExecutor {
 public:
  virtual ~CommandExecutor() = default;
  // Appends the command's output to `out`; false when the command failed (then nothing
  // changed, and `out` says why in one line per problem).
  virtual bool execute(const Request& request, std::string& out) = 0;
};

// The command table (NULL-terminated), for cmdline_new / cmdline_stdin_new.
cmdline_parse_ctx_t* command_table();

// Parses and runs one line with `executor`. Output (and, on a parse error, one line
// naming the token that is wrong and what was expected) goes to `out`; returns whether
// the command succeeded. An empty line or a comment (#...) succeeds and does nothing.
bool run_command(CommandExecutor& executor, const std::string& line, std::string& out);

// One line per command: its syntax and help text.
std::string command_help();

// For the interactive prompt: the executor the handlers use when a line is typed at
// an `lbdp -i` prompt (run_command sets it for its own duration).
void set_interactive_executor(CommandExecutor* executor);

}  // namespace lb
