#include "alerts.hpp"

namespace lb::cp {

const char* alert_kind_name(AlertKind kind) {
  switch (kind) {
    case AlertKind::dead: return "dead";
    case AlertKind::recovered: return "recovered";
    case AlertKind::vip_down: return "vip_down";
    case AlertKind::vip_recovered: return "vip_recovered";
  }
  return "?";
}

AlertPolicy::Verdict AlertPolicy::offer(Alert& alert, uint64_t now_ms) {
  // Forget what can no longer suppress anything, so the maps stay small.
  while (!sent_times_.empty() && now_ms - sent_times_.front() >= params_.window_ms) sent_times_.pop_front();
  for (auto it = last_sent_.begin(); it != last_sent_.end();) {
    if (now_ms - it->second >= params_.dedup_window_ms) it = last_sent_.erase(it);
    else ++it;
  }

  auto key = std::make_pair(alert.target, alert.kind);
  if (last_sent_.count(key)) {
    ++pending_duplicates_;
    ++duplicates_total_;
    return Verdict::duplicate;
  }
  if (sent_times_.size() >= params_.max_per_window) {
    ++pending_rate_limited_;
    ++rate_limited_total_;
    return Verdict::rate_limited;
  }
  if (params_.dedup_window_ms > 0) last_sent_[key] = now_ms;
  sent_times_.push_back(now_ms);
  alert.suppressed_duplicates = pending_duplicates_;
  alert.suppressed_rate_limited = pending_rate_limited_;
  pending_duplicates_ = pending_rate_limited_ = 0;
  ++sent_;
  return Verdict::send;
}

}  // namespace lb::cp
