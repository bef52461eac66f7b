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

AlertPolicy::Target AlertPolicy::target_of(const Alert& alert) {
  bool vip = alert.kind == AlertKind::vip_down || alert.kind == AlertKind::vip_recovered;
  return Target{vip, alert.target};
}

AlertPolicy::Verdict AlertPolicy::offer(Alert& alert, uint64_t now_ms) {
  // Forget what can no longer suppress anything, so the maps stay small.
  while (!sent_times_.empty() && now_ms - sent_times_.front() >= params_.window_ms) sent_times_.pop_front();
  for (auto it = last_sent_.begin(); it != last_sent_.end();) {
    if (now_ms - it->second.time_ms >= params_.dedup_window_ms) it = last_sent_.erase(it);
    else ++it;
  }

  // Only a repeat of what the target's last alert said is a duplicate: a change of
  // kind must reach the reader, or the last mail could say "recovered" about a node
  // that is dead again.
  Target key = target_of(alert);
  auto last = last_sent_.find(key);
  if (last != last_sent_.end() && last->second.kind == alert.kind) {
    ++pending_duplicates_;
    ++duplicates_total_;
    return Verdict::duplicate;
  }
  if (sent_times_.size() >= params_.max_per_window) {
    ++pending_rate_limited_;
    ++rate_limited_total_;
    return Verdict::rate_limited;
  }
  if (params_.dedup_window_ms > 0) last_sent_[key] = LastSent{alert.kind, now_ms};
  sent_times_.push_back(now_ms);
  alert.suppressed_duplicates = pending_duplicates_;
  alert.suppressed_rate_limited = pending_rate_limited_;
  pending_duplicates_ = pending_rate_limited_ = 0;
  ++sent_;
  return Verdict::send;
}

}  // namespace lb::cp
