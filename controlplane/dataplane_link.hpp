// lbcp's end of the shared-memory segment lbdp creates (common/shm_layout.hpp, DESIGN.md
// invariant 4): attaching and re-attaching, the rings lbcp consumes (heartbeats, events)
// and produces (commands), the stats area it reads and the health report it writes.
//
// Attachment: maintain() attaches when detached, at most once a second, logging the
// first failure of each kind and the success. When the segment is superseded (lbdp
// stopped, or a new lbdp created a new generation) it detaches and tries the new one at
// once; maintain() returns true whenever a new attachment was made, and the caller then
// re-pushes every backend's state (a new lbdp starts with all backends 'unknown').
// While attached, header.controlplane_pid is ours (shm::SegmentClient sets it on attach
// and gives it back on detach) and controlplane_alive_ms is kept fresh by alive(), which
// the controller calls every poll.
//
// Thread-safety: not thread-safe; lbcp's event loop owns it. lbcp is the single consumer
// of the heartbeat and event rings, the single producer of the command ring and the
// single writer of the health report, as shm_layout.hpp requires.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "health.hpp"
#include "shm_segment.hpp"

namespace lb::cp {

class DataplaneLink {
 public:
  explicit DataplaneLink(std::string name);
  ~DataplaneLink();
  DataplaneLink(const DataplaneLink&) = delete;
  DataplaneLink& operator=(const DataplaneLink&) = delete;

  // See the file comment. now_ms: CLOCK_MONOTONIC ms.
  bool maintain(uint64_t now_ms);
  void detach();
  bool attached() const { return client_.get() != nullptr; }
  uint64_t generation() const { return client_.generation(); }
  const std::string& name() const { return name_; }

  // Pops up to `max` records and hands each to fn. Returns how many.
  template <typename Fn>
  size_t drain_heartbeats(Fn&& fn, size_t max = 4096) {
    if (!attached()) return 0;
    size_t n = 0;
    while (n < max && client_.get()->heartbeats.pop(heartbeat_scratch_)) {
      fn(static_cast<const shm::HeartbeatRecord&>(heartbeat_scratch_));
      ++n;
    }
    return n;
  }
  template <typename Fn>
  size_t drain_events(Fn&& fn) {
    if (!attached()) return 0;
    size_t n = 0;
    shm::EventRecord event;
    while (client_.get()->events.pop(event)) {
      fn(static_cast<const shm::EventRecord&>(event));
      ++n;
    }
    return n;
  }

  // A consistent copy of lbdp's stats, false when not attached, never published
  // (updated_ms == 0) or the writer kept it busy.
  bool read_stats(shm::DataplaneStats* out) const;

  // Queues one set_health command with the next sequence number (kept across
  // re-attachments). False when not attached or the ring is full.
  bool push(const Command& command);
  uint64_t commands_pushed() const { return sequence_; }

  // Publishes lbcp's view of every backend (at most kMaxHealthEntries of them).
  void write_report(const std::vector<BackendStatus>& backends, const HealthParams& params, uint64_t now_ms);
  void alive(uint64_t now_ms);
  // lbdp's main loop has not marked itself alive for stall_ms (0 = never marked: not
  // judged).
  bool dataplane_stalled(uint64_t now_ms, uint64_t stall_ms) const;

 private:
  std::string name_;
  shm::SegmentClient client_;
  uint64_t last_attempt_ms_ = 0;
  bool attempted_ = false;
  std::string last_failure_;          // logged once until it changes or attach succeeds
  uint64_t sequence_ = 0;
  bool report_truncation_logged_ = false;
  shm::HeartbeatRecord heartbeat_scratch_{};
};

}  // namespace lb::cp
