// The adaptive probe interval (Yang & Luo's rule, DESIGN.md "Broker and agents"):
//
//   next = clamp(max(rt_now, rt_last) * multiplier, min_ms, max_ms);  rt_last = rt_now
//
// A slow answer stretches the wait before the next probe, so a loaded server is probed,
// and heartbeats, less often; taking the larger of the last two response times keeps a
// single fast answer from snapping the interval back down at once.
// Thread-safety: next_interval_ms is pure; an AdaptiveInterval belongs to one thread.
#pragma once

#include <cstdint>

namespace lb::broker {

struct IntervalRule {
  double multiplier;
  uint32_t min_ms;
  uint32_t max_ms;  // min_ms <= max_ms
};

// Response times in microseconds; the result in milliseconds, within [min_ms, max_ms].
uint32_t next_interval_ms(const IntervalRule& rule, uint32_t rt_now_us, uint32_t rt_last_us);

class AdaptiveInterval {
 public:
  explicit AdaptiveInterval(const IntervalRule& rule) : rule_(rule) {}
  // Records a probe's response time and returns the wait before the next probe. The
  // first call has no previous probe and uses rt_now alone.
  uint32_t next(uint32_t rt_now_us);

 private:
  IntervalRule rule_;
  uint32_t rt_last_us_ = 0;
};

}  // namespace lb::broker
