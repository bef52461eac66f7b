#include "heartbeat_intake.hpp"

#include <arpa/inet.h>

#include <string>

namespace lb::cp {

const char* intake_extra_name(HeartbeatIntake::Extra why) {
  switch (why) {
    case HeartbeatIntake::Extra::source_mismatch: return "source_mismatch";
    case HeartbeatIntake::Extra::oversized: return "oversized";
    case HeartbeatIntake::Extra::count_: break;
  }
  return "?";
}

std::optional<hb::Message> HeartbeatIntake::check(const shm::HeartbeatRecord& record, uint64_t epoch_ms) {
  auto refuse = [this](size_t index) -> std::optional<hb::Message> {
    ++rejected_[index];
    return std::nullopt;
  };
  constexpr size_t kExtraBase = static_cast<size_t>(hb::Reject::count_);
  if (record.length > sizeof(record.data)) return refuse(kExtraBase + static_cast<size_t>(Extra::oversized));
  hb::Message message;
  hb::Reject why = hb::decode(record.data, record.length, key_, &message);
  if (why != hb::Reject::none) return refuse(static_cast<size_t>(why));
  // Before the replay guard, so a message from the wrong place cannot advance the
  // sequence it records for the node.
  if (message.node_addr != ntohl(record.src_addr_be))
    return refuse(kExtraBase + static_cast<size_t>(Extra::source_mismatch));
  why = replay_.accept(message, epoch_ms);
  if (why != hb::Reject::none) return refuse(static_cast<size_t>(why));
  ++accepted_;
  return message;
}

uint64_t HeartbeatIntake::rejected_total() const {
  uint64_t total = 0;
  for (uint64_t n : rejected_) total += n;
  return total;
}

std::string HeartbeatIntake::summary() const {
  std::string s;
  for (size_t i = 0; i < kReasons; ++i) {
    if (rejected_[i] == 0) continue;
    const char* name = i < static_cast<size_t>(hb::Reject::count_)
                           ? hb::reject_name(static_cast<hb::Reject>(i))
                           : intake_extra_name(static_cast<Extra>(i - static_cast<size_t>(hb::Reject::count_)));
    if (!s.empty()) s += ' ';
    s += std::string(name) + "=" + std::to_string(rejected_[i]);
  }
  return s;
}

}  // namespace lb::cp
