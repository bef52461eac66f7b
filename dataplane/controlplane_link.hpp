// lbdp's end of the shared-memory segment it shares with lbcp (common/shm_layout.hpp,
// DESIGN.md invariant 4). The main lcore owns it: it is the single producer of the
// heartbeat and event rings and the single consumer of the command and transmit rings,
// and the single writer of the dataplane stats area. Workers never touch it: they pass
// heartbeat datagrams to the main lcore through their slow-path rings.
//
// Without [controlplane] shm in the config there is no segment and every call is a
// cheap no-op, so lbdp runs alone exactly as before.
//
// Every time written into the segment is shm::monotonic_ms() (CLOCK_MONOTONIC), the
// clock lbcp reads too; lbdp's own millisecond clock is not comparable across processes.
//
// Thread-safety: main lcore only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "counters.hpp"
#include "shm_segment.hpp"
#include "snapshot.hpp"

namespace lb {

class ControlPlaneLink {
 public:
  // Creates (replacing any stale one) the named segment. Refuses a name that a live
  // lbdp still serves (shm::SegmentOwner::create). False with *error on failure.
  bool open(const std::string& name, std::string* error);
  // Posts `stopping` and marks the segment closed; lbcp then waits for a new one.
  void close();
  bool active() const { return static_cast<bool>(segment_); }

  // The UDP payload of a datagram a worker steered here (to an own address and the
  // heartbeat port). Checks it with hb::header_plausible and queues it for lbcp.
  void heartbeat(const uint8_t* payload, uint32_t length, uint32_t src_addr_be, uint16_t src_port_be,
                 LcoreCounters& counters);

  // Applies the queued health commands to `health`. Returns true when it changed (the
  // caller then publishes a new snapshot).
  bool take_commands(HealthMap& health, LcoreCounters& counters);

  // Hands each frame lbcp queued for transmission to `send` (config port index, bytes).
  void take_transmits(const std::function<void(uint16_t, const uint8_t*, uint16_t)>& send, LcoreCounters& counters);

  void post_event(shm::EventKind kind, uint64_t value);
  // Main-loop liveness, read by lbcp.
  void alive();

  // Publishes counters and the backend table (from the running snapshot) for lbcp.
  using OpenFlowsFn = std::function<uint32_t(uint16_t backend_id)>;
  void publish_stats(const Snapshot& snap, const LcoreCounters& totals, const OpenFlowsFn& open_flows);

  // lbcp's last health report, copied into *out (about 48 KB). False when there is no
  // segment, lbcp never wrote one, or the copy could not be made consistent.
  bool health_report(shm::HealthReport* out) const;

 private:
  shm::SegmentOwner segment_;
  uint64_t applied_ = 0, rejected_ = 0;  // commands
  shm::TxRecord tx_scratch_;            // 1.5 KB: kept off the main lcore's stack
};

}  // namespace lb
