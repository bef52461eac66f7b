#include "logging.hpp"

namespace lb::cp {

namespace {
const char* const kNames[] = {"lbcp", "health", "alerts", "shm"};
}

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  if (auto existing = spdlog::get(name)) return existing;
  auto created = spdlog::default_logger()->clone(name);
  try {
    spdlog::register_logger(created);
  } catch (const spdlog::spdlog_ex&) {
    // Another thread registered it first.
    if (auto existing = spdlog::get(name)) return existing;
  }
  return created;
}

bool set_log_level(const std::string& level) {
  spdlog::level::level_enum value = spdlog::level::from_str(level);
  // from_str answers "off" for any name it does not know.
  if (value == spdlog::level::off && level != "off") return false;
  spdlog::set_level(value);
  for (const char* name : kNames) logger(name)->set_level(value);
  return true;
}

}  // namespace lb::cp
