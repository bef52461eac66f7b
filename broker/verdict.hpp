// The rule that decides whether this node heartbeats (docs/broker.md, "Overload"):
//   failing     the probe's answer was wrong (no answer in time, wrong status, body
//               without the expected text) or the load figures could not be read
//   overloaded  the answer was right but the response time, the CPU load or the open
//               connections exceed their limit (a value equal to its limit is fine)
//   healthy     otherwise: only then is a heartbeat sent
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "config.hpp"
#include "load.hpp"
#include "probe.hpp"

namespace lb::broker {

enum class Health : uint8_t { healthy, overloaded, failing };
const char* health_name(Health health);

struct Verdict {
  Health health = Health::failing;
  std::string reason;  // empty when healthy; otherwise every limit exceeded, "; "-separated
};

// load is null when the figures could not be read; load_error then says why.
Verdict judge(const ProbeResult& probe, const LoadSample* load, const std::string& load_error,
              const LimitsConfig& limits);

}  // namespace lb::broker
