// lbdp: the appliance's DPDK dataplane. See app.hpp for the start-up order and
// docs/dataplane.md for how to run it; docs/cli.md for the commands.
#include <cmdline.h>
#include <cmdline_socket.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "app.hpp"
#include "cli_executor.hpp"
#include "control_socket.hpp"

namespace {

// The main lcore's loop once forwarding runs: the slow path (App::tick), commands from
// the socket and, with -i, from the terminal.
void serve(lb::App& app, const lb::Options& options) {
  lb::AppExecutor executor(app);
  lb::ControlSocket control(options.socket_path, executor);
  if (!options.socket_path.empty()) {
    std::string error;
    if (!control.open(&error)) spdlog::error("command socket: {} (lbctl will not reach this lbdp)", error);
    else spdlog::info("commands: lbctl -s {} help", options.socket_path);
  }
  struct cmdline* prompt = nullptr;
  if (options.interactive) {
    lb::set_interactive_executor(&executor);
    prompt = cmdline_stdin_new(lb::command_table(), "lbdp> ");
  }
  while (app.tick() && !executor.quit_requested()) {
    control.poll();
    if (prompt) {
      int status = cmdline_poll(prompt);
      if (status == RDLINE_EXITED || status < 0) break;  // quit, or Ctrl-D on an empty line
    }
    rte_delay_us_sleep(1000);
  }
  if (prompt) {
    cmdline_printf(prompt, "\n");
    cmdline_stdin_exit(prompt);
    lb::set_interactive_executor(nullptr);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Validation alone needs no EAL (and no root): lbdp --check-config FILE
  if (argc == 3 && std::strcmp(argv[1], "--check-config") == 0) {
    lb::ConfigResult r = lb::load_config(argv[2]);
    for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (r.config) std::printf("%s: ok (%zu ports, %zu VIPs)\n", argv[2], r.config->ports.size(), r.config->vips.size());
    return r.config ? 0 : 1;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a command-socket client that goes away must not kill lbdp
  int consumed = rte_eal_init(argc, argv);
  if (consumed < 0) {
    std::fprintf(stderr, "lbdp: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  argv[consumed] = argv[0];
  int status = 0;
  {
    lb::Options options = lb::parse_options(argc - consumed, argv + consumed);
    lb::App app(options);
    if (app.start()) serve(app, options);
    else status = 1;
  }  // the destructor tears start-up down in reverse
  rte_eal_cleanup();
  return status;
}
