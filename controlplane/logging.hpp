// lbcp's named loggers, so the log can be filtered by module: "lbcp" (start-up, config),
// "health" (every state change), "alerts" (what was sent, suppressed, failed), "shm"
// (the segment shared with lbdp, heartbeat intake).
//
// Thread-safety: logger() may be called from any thread; the loggers write through the
// default logger's (thread-safe) sinks. set_log_level from the event loop.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace lb::cp {

// The named logger, created on first use as a clone of the default logger.
std::shared_ptr<spdlog::logger> logger(const std::string& name);
// Creates every named logger and sets their level ("info", "debug", ...). False for an
// unknown level name.
bool set_log_level(const std::string& level);

}  // namespace lb::cp
