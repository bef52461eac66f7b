#include "interval.hpp"

#include <algorithm>

namespace lb::broker {

uint32_t next_interval_ms(const IntervalRule& rule, uint32_t rt_now_us, uint32_t rt_last_us) {
  // In double: a 4-second response times a large multiplier overflows 32 bits.
  double wait_ms = static_cast<double>(std::max(rt_now_us, rt_last_us)) * rule.multiplier / 1000.0;
  if (!(wait_ms >= rule.min_ms)) return rule.min_ms;  // also catches NaN
  if (wait_ms >= rule.max_ms) return rule.max_ms;
  return static_cast<uint32_t>(wait_ms);
}

uint32_t AdaptiveInterval::next(uint32_t rt_now_us) {
  uint32_t wait = next_interval_ms(rule_, rt_now_us, rt_last_us_);
  rt_last_us_ = rt_now_us;
  return wait;
}

}  // namespace lb::broker
