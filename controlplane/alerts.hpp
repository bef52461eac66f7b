// What lbcp tells a person, and the policy that keeps a flapping node from flooding the
// mailbox. Pure: the caller passes the time; sending is alert_sender.hpp's business.
//
// Policy, applied in this order to every alert offered:
//  1. de-duplication: an alert is suppressed when the last alert that went out about
//     the same target (backend or VIP) was of the same kind and went out within
//     dedup_window. Any change of kind for a target (dead -> recovered -> dead) is
//     always eligible, so the last message a person got about a target always tells its
//     current state (unless the rate limit held it back, which the next one reports);
//  2. rate limit: at most max_per_window alerts go out in any window of window length
//     (sliding); the rest are suppressed;
//  3. the next alert that does go out carries how many were suppressed since the one
//     before it (split by reason), so the reader knows to look at the log.
// Only alerts that went out count for de-duplication and the rate limit.
//
// Thread-safety: AlertPolicy is not thread-safe; lbcp's event loop owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>

namespace lb::cp {

enum class AlertKind : uint8_t { dead, recovered, vip_down, vip_recovered };
const char* alert_kind_name(AlertKind kind);

struct Alert {
  AlertKind kind = AlertKind::dead;
  std::string target;               // "198.18.1.11:80": the backend, or the VIP
  std::string summary;              // one line: the mail's subject
  std::string detail;               // the body
  uint64_t time_ms = 0;             // when it happened, ms since the epoch
  // Filled by AlertPolicy::offer when the alert goes out.
  uint32_t suppressed_duplicates = 0;
  uint32_t suppressed_rate_limited = 0;
};

struct AlertPolicyParams {
  uint64_t dedup_window_ms = 300000;  // 0 = no de-duplication
  uint32_t max_per_window = 20;       // >= 1
  uint64_t window_ms = 3600000;
};

class AlertPolicy {
 public:
  enum class Verdict { send, duplicate, rate_limited };

  explicit AlertPolicy(const AlertPolicyParams& params = {}) : params_(params) {}
  // Takes effect for the next offer; history is kept.
  void set_params(const AlertPolicyParams& params) { params_ = params; }

  // Decides about `alert` at now_ms (any clock that does not go backwards). On send,
  // fills in the suppressed counts and resets them.
  Verdict offer(Alert& alert, uint64_t now_ms);

  uint64_t sent() const { return sent_; }
  uint64_t duplicates() const { return duplicates_total_; }
  uint64_t rate_limited() const { return rate_limited_total_; }
  // Suppressed since the last alert that went out (what the next one will report).
  uint32_t pending_suppressed() const { return pending_duplicates_ + pending_rate_limited_; }

 private:
  // A backend and a VIP are different targets even if their address:port were equal.
  using Target = std::pair<bool, std::string>;  // (about a VIP, "address:port")
  struct LastSent {
    AlertKind kind;
    uint64_t time_ms;
  };
  static Target target_of(const Alert& alert);

  AlertPolicyParams params_;
  std::map<Target, LastSent> last_sent_;  // the last alert that went out per target, within dedup_window
  std::deque<uint64_t> sent_times_;                                   // within window_ms
  uint32_t pending_duplicates_ = 0, pending_rate_limited_ = 0;
  uint64_t sent_ = 0, duplicates_total_ = 0, rate_limited_total_ = 0;
};

}  // namespace lb::cp
