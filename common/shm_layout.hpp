// The shared-memory segment where lbdp and lbcp meet (DESIGN.md invariant 4). Defined
// once here; both processes compile against this header, and the header written into
// the segment records the layout version and the sizes and offsets of every part, so
// a process built against a different layout is refused with a clear error instead of
// reading garbage.
//
// lbdp creates the segment at start (replacing any older one, a new `generation`) and
// marks it closed when it stops. lbcp attaches by name, holds an exclusive flock on it
// (one control plane at a time), and re-attaches when it sees a newer generation.
//
// Rings are Boost.Lockfree spsc_queue with a compile-time capacity: the storage and both
// indices live inside the object, it holds no pointers, so it works at any address in
// either process. rte_ring would make lbcp a DPDK secondary process (EAL, hugepages, the
// same DPDK build, and none of it with --no-huge); a hand-written ring is what we avoid.
//
//   ring            producer          consumer   carries
//   heartbeats      lbdp main lcore   lbcp       UDP payloads to the heartbeat port
//   events          lbdp main lcore   lbcp       "snapshot published", "stopping", ...
//   commands        lbcp              lbdp main  backend health and weight changes
//   transmit        lbcp              lbdp main  frames lbcp wants sent on a port
//
// Two areas are published with a sequence lock (one writer each, readers retry):
//   dataplane_stats   written by lbdp: counters and the backend table it forwards with
//   health_report     written by lbcp: its view of each backend (shown by `show backend`)
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <boost/lockfree/spsc_queue.hpp>

#include "heartbeat.hpp"

namespace lb::shm {

constexpr uint64_t kMagic = 0x4c42534547310000ull;  // "LBSEG1\0\0"
constexpr uint32_t kLayoutVersion = 2;  // 2: OFD-lock liveness, configured weights
constexpr const char* kDefaultName = "/lbdp";       // shm_open name (/dev/shm/lbdp)

constexpr uint32_t kMaxBackends = 4096;  // = the dataplane's global backend id space
constexpr uint32_t kMaxHealthEntries = kMaxBackends;  // one per backend at most
constexpr size_t kMaxHeartbeat = 128;
constexpr size_t kMaxFrame = 1518;

// A backend's health as lbcp decides it. unknown: no lbcp has spoken about it (lbdp
// schedules it, so lbdp works without lbcp). warning and dead: no new flows.
enum class Health : uint8_t { unknown = 0, ok = 1, warning = 2, dead = 3 };
inline bool health_allows_new_flows(Health h) { return h == Health::unknown || h == Health::ok; }
inline const char* health_name(Health h) {
  switch (h) {
    case Health::ok: return "ok";
    case Health::warning: return "warning";
    case Health::dead: return "dead";
    default: return "unknown";
  }
}

struct HeartbeatRecord {
  uint64_t rx_ms;          // CLOCK_MONOTONIC ms when lbdp's main lcore took it
  uint32_t src_addr_be;    // IPv4 source of the datagram
  uint16_t src_port_be;
  uint16_t length;         // bytes used in data
  uint8_t data[kMaxHeartbeat];
};

enum class EventKind : uint32_t { started = 1, snapshot_published = 2, stopping = 3 };
struct EventRecord {
  uint64_t time_ms;        // CLOCK_MONOTONIC
  EventKind kind;
  uint32_t reserved;
  uint64_t value;          // snapshot generation for snapshot_published
};

enum class CommandOp : uint32_t { set_health = 1 };
struct CommandRecord {
  uint64_t sequence;       // lbcp's, for logs
  CommandOp op;
  uint32_t backend_addr;   // host order; applies to this address:port in every VIP
  uint16_t backend_port;
  Health health;
  uint8_t reserved;
  uint16_t weight_percent; // slow start: 1..100 of the configured weight; 100 = full
  uint16_t reserved2;
};

struct TxRecord {
  uint16_t port_index;     // lbdp config port index
  uint16_t length;
  uint8_t frame[kMaxFrame];
};

template <typename T, size_t N>
using Ring = boost::lockfree::spsc_queue<T, boost::lockfree::capacity<N>>;
using HeartbeatRing = Ring<HeartbeatRecord, 4096>;
using EventRing = Ring<EventRecord, 256>;
using CommandRing = Ring<CommandRecord, 4096>;
using TxRing = Ring<TxRecord, 256>;

// A sequence lock around a plain struct: one writer, any number of readers that retry
// while a write is in progress. Hand-written because neither Boost nor the standard
// library has one and DPDK's (rte_seqlock) would tie lbcp to DPDK; it is ten lines.
template <typename T>
struct Seqlocked {
  std::atomic<uint64_t> sequence{0};
  T value;

  // Writer only.
  template <typename F>
  void write(F&& edit) {
    uint64_t s = sequence.load(std::memory_order_relaxed);
    s += s & 1;  // a writer that died mid-write (a killed lbcp) left it odd
    sequence.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    edit(value);
    sequence.store(s + 2, std::memory_order_release);
  }
  // Any thread or process. Copies a consistent value into *out; false if the writer
  // kept it busy for `attempts` tries.
  bool read(T* out, int attempts = 1000) const {
    for (int i = 0; i < attempts; ++i) {
      uint64_t before = sequence.load(std::memory_order_acquire);
      if (before & 1) continue;
      std::memcpy(static_cast<void*>(out), static_cast<const void*>(&value), sizeof(T));
      std::atomic_thread_fence(std::memory_order_acquire);
      if (sequence.load(std::memory_order_relaxed) == before) return true;
    }
    return false;
  }
};

struct BackendEntry {
  uint32_t vip_addr;       // host order
  uint16_t vip_port;
  uint16_t id;             // lbdp's global backend id
  uint32_t addr;           // host order
  uint16_t port;
  uint8_t admin_state;     // lb::BackendState: 0 up, 1 drain, 2 maintenance
  Health health;           // as lbdp applies it
  uint32_t weight;         // configured
  uint16_t weight_percent; // slow start as lbdp applies it
  uint16_t reserved;
  uint32_t open_flows;
};

struct DataplaneStats {
  uint64_t updated_ms;     // CLOCK_MONOTONIC
  uint64_t snapshot_generation;
  uint64_t rx_packets, tx_packets, dropped;
  uint64_t heartbeats, heartbeats_malformed, heartbeats_ring_full;
  uint64_t commands_applied, commands_rejected;
  uint32_t backend_count;
  uint32_t reserved;
  BackendEntry backends[kMaxBackends];
};

struct HealthEntry {
  uint32_t addr;           // host order
  uint16_t port;
  Health state;
  uint8_t reserved;
  uint32_t counter;        // ticks since the last valid heartbeat
  uint16_t weight_percent;
  uint16_t reserved2;
  hb::Load load;           // from the last valid heartbeat
  uint64_t last_heartbeat_ms;  // CLOCK_MONOTONIC; 0 = never
};

struct HealthReport {
  uint64_t updated_ms;     // CLOCK_MONOTONIC
  uint32_t tick_ms, warning_ticks, dead_ticks;
  uint32_t count;
  HealthEntry entries[kMaxHealthEntries];
};

enum class SegmentState : uint32_t { creating = 0, ready = 1, closed = 2 };

// Offsets and sizes recorded in the header; an attaching process compares them with
// its own (layout_matches).
struct LayoutInfo {
  uint64_t total_size;
  uint64_t heartbeats_offset, heartbeats_size;
  uint64_t events_offset, events_size;
  uint64_t commands_offset, commands_size;
  uint64_t transmit_offset, transmit_size;
  uint64_t stats_offset, stats_size;
  uint64_t health_offset, health_size;
};

struct alignas(64) Header {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t header_size;
  LayoutInfo layout;
  uint64_t generation;          // lbdp's start time, ns since the epoch: newer = larger
  int32_t dataplane_pid;
  std::atomic<uint32_t> state;  // SegmentState
  std::atomic<uint64_t> dataplane_alive_ms;  // lbdp's main lcore, every tick (CLOCK_MONOTONIC)
  std::atomic<int32_t> controlplane_pid;     // the attached lbcp, 0 when none
  std::atomic<uint64_t> controlplane_alive_ms;
};

// The whole segment. Every part starts on its own cache line.
struct alignas(64) Segment {
  Header header;
  alignas(64) HeartbeatRing heartbeats;
  alignas(64) EventRing events;
  alignas(64) CommandRing commands;
  alignas(64) TxRing transmit;
  alignas(64) Seqlocked<DataplaneStats> stats;
  alignas(64) Seqlocked<HealthReport> health;
};

static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");
static_assert(std::atomic<size_t>::is_always_lock_free, "spsc_queue indices must be lock-free");
static_assert(std::is_trivially_copyable_v<HeartbeatRecord> && std::is_trivially_copyable_v<CommandRecord> &&
              std::is_trivially_copyable_v<EventRecord> && std::is_trivially_copyable_v<TxRecord>);
static_assert(sizeof(HeartbeatRecord) == 144);
static_assert(sizeof(CommandRecord) == 24);
static_assert(sizeof(EventRecord) == 24);
static_assert(sizeof(BackendEntry) == 28);
static_assert(sizeof(HealthEntry) == 40);
static_assert(offsetof(Header, layout) == 16);

// The layout this build expects.
LayoutInfo this_layout();

}  // namespace lb::shm
