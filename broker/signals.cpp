#include "signals.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <cstring>

namespace lb::broker {

namespace {

std::shared_ptr<spdlog::logger> log() {
  if (auto existing = spdlog::get("broker")) return existing;
  auto logger = spdlog::default_logger()->clone("broker");
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace

sigset_t process_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

void block_process_signals() {
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t set = process_signal_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal() {
  sigset_t set = process_signal_set();
  for (;;) {
    int signal_number = 0;
    if (sigwait(&set, &signal_number) != 0) continue;
    if (signal_number != SIGHUP) return signal_number;
    log()->info("{}: nothing to reload or reopen: the configuration is read only at start (restart lbbroker to "
                "apply a change), and logs go to stdout",
                strsignal(signal_number));
  }
}

}  // namespace lb::broker
