// The checks a heartbeat record from lbdp's ring passes before it may touch a backend's
// health: the MAC, version and length (hb::decode with the shared key), the node address
// in the message equal to the datagram's source address (a broker speaks only for its
// own node, so a stolen key on one node cannot keep another node alive from elsewhere),
// then freshness and replay (hb::ReplayGuard). Every refusal is counted by reason.
//
// Thread-safety: not thread-safe; lbcp's event loop owns it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "heartbeat.hpp"
#include "shm_layout.hpp"

namespace lb::cp {

class HeartbeatIntake {
 public:
  // Reasons beyond hb::Reject, counted after its values.
  enum class Extra : uint8_t { source_mismatch, oversized, count_ };
  static constexpr size_t kReasons = static_cast<size_t>(hb::Reject::count_) + static_cast<size_t>(Extra::count_);

  HeartbeatIntake(hb::Key key, uint64_t max_skew_ms) : key_(std::move(key)), replay_(max_skew_ms) {}
  // A new key (SIGHUP); the replay history is kept.
  void set_key(hb::Key key) { key_ = std::move(key); }

  // The message when the record passes every check, else nullopt (and a counter).
  // epoch_ms: the receiver's wall clock, ms since the epoch (for freshness).
  std::optional<hb::Message> check(const shm::HeartbeatRecord& record, uint64_t epoch_ms);

  uint64_t accepted() const { return accepted_; }
  uint64_t rejected(hb::Reject why) const { return rejected_[static_cast<size_t>(why)]; }
  uint64_t rejected(Extra why) const {
    return rejected_[static_cast<size_t>(hb::Reject::count_) + static_cast<size_t>(why)];
  }
  uint64_t rejected_total() const;
  // "bad_mac=3 replay=1" for the non-zero counters ("" when none).
  std::string summary() const;

 private:
  hb::Key key_;
  hb::ReplayGuard replay_;
  uint64_t accepted_ = 0;
  std::array<uint64_t, kReasons> rejected_{};
};

const char* intake_extra_name(HeartbeatIntake::Extra why);

}  // namespace lb::cp
