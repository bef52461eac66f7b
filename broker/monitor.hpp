// lbbroker's monitor thread: probe the local server, judge the node (verdict.hpp), send
// a signed heartbeat when it is healthy, wait the adaptive interval (interval.hpp),
// repeat. An overloaded or failing node sends nothing; lbcp's counter for it then runs
// up and the node drops out of scheduling until it heartbeats again.
//
// The probe, the load figures, the network and the wall clock come in through small
// interfaces, so tests drive step() with fakes. State changes (healthy, overloaded,
// failing) are logged once each, with the reason, on the spdlog logger "monitor";
// every probe is logged at debug level.
//
// Thread-safety: a Monitor belongs to the thread that calls step()/run(). StopSignal
// may be raised from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "config.hpp"
#include "heartbeat.hpp"
#include "interval.hpp"
#include "load.hpp"
#include "probe.hpp"
#include "sender.hpp"
#include "verdict.hpp"

namespace lb::broker {

// Ends Monitor::run from another thread, and wakes it from its wait at once.
class StopSignal {
 public:
  void request_stop();
  bool stop_requested();
  // Waits up to `timeout`; true when a stop was requested before or during the wait.
  bool wait_for(std::chrono::milliseconds timeout);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stop_ = false;
};

// What one step found and did.
struct StepReport {
  ProbeResult probe;
  std::optional<LoadSample> load;   // empty when the figures could not be read
  Verdict verdict;
  uint32_t interval_ms = 0;         // the wait before the next probe
  bool sent = false;                // a heartbeat went out
  uint64_t sequence = 0;            // its sequence number, when sent
};

using WallClockMs = std::function<uint64_t()>;  // ms since the epoch
uint64_t system_wall_ms();

class Monitor {
 public:
  // boot_id: this broker's start time in ns since the epoch (heartbeat.hpp).
  Monitor(const BrokerConfig& config, Prober& prober, LoadSource& load, HeartbeatSink& sink, WallClockMs wall_ms,
          uint64_t boot_id);

  // One probe, verdict and (when healthy and `send`) heartbeat. lbbroker --once passes
  // send = false: a heartbeat with a new boot id would make lbcp refuse the heartbeats
  // of the broker already running on this node (their boot id is older).
  StepReport step(bool send = true);

  // step() and wait, until `stop`. When the node was healthy at the end it sends one
  // last heartbeat flagged draining, so lbcp knows the silence that follows is a stop.
  void run(StopSignal& stop);

 private:
  bool send_heartbeat(uint8_t flags, const LoadSample& load, uint32_t response_us, uint32_t interval_ms,
                      uint64_t* sequence);
  void log_state(const StepReport& report);

  const BrokerConfig& config_;
  Prober& prober_;
  LoadSource& load_source_;
  HeartbeatSink& sink_;
  WallClockMs wall_ms_;
  uint64_t boot_id_;
  uint64_t last_sequence_ = 0;
  AdaptiveInterval interval_;
  std::optional<Health> last_health_;  // empty before the first step
  bool send_failing_ = false;
  StepReport last_report_;
};

}  // namespace lb::broker
