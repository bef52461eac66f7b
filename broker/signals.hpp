// lbbroker's process signals. They are taken synchronously: block_process_signals()
// blocks them in the calling thread before any other thread starts (threads inherit
// the mask), and the main thread takes them with sigwait in wait_for_stop_signal(), so
// no work runs in a signal handler.
//
//   SIGTERM, SIGINT   stop (the caller then stops the monitor)
//   SIGHUP            logged, nothing else: lbbroker reads its configuration only at
//                     start and logs to stdout, so there is nothing to reload or
//                     reopen; what matters is that logrotate's "kill -HUP" does not
//                     kill it
//   SIGPIPE           ignored: a write to a closed socket returns an error instead
//
// Thread-safety: block_process_signals() from the main thread before any other thread
// starts; wait_for_stop_signal() from one thread, the one that blocked them.
#pragma once

#include <csignal>

namespace lb::broker {

// SIGTERM, SIGINT and SIGHUP.
sigset_t process_signal_set();

// Blocks process_signal_set() in the calling thread and ignores SIGPIPE.
void block_process_signals();

// Waits for SIGTERM or SIGINT and returns its number; each SIGHUP taken meanwhile is
// logged (on the "broker" logger) and waited past.
int wait_for_stop_signal();

}  // namespace lb::broker
