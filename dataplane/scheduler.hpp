// Backend selection for new flows, one engine per scheduler kind, chosen per VIP from a
// table (kSchedulers) when the VIP is configured. Consulted only for a flow's first
// packet; the flow table keeps the flow on its backend afterwards.
//
//   rr      round robin over eligible backends
//   wrr     smooth weighted round robin (nginx's algorithm: an even interleaving, e.g.
//           weights 5,1,1 give a a b a c a a, not a a a a a b c)
//   lc      fewest open flows (summed over all lcores); ties broken round robin; a
//           backend in slow start counts as open/percent, so it is not flooded
//   wlc     fewest open flows per unit of weight
//   maglev  Maglev consistent hash of the flow's 4-tuple
//   sh      Maglev consistent hash of the client address only (client affinity)
//
// Thread-safety: pick() reads the VIP's immutable backend list and writes only the
// caller's SchedState, which belongs to one lcore. Eligible means: state up, weight > 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace lb {

enum class SchedKind : uint8_t { rr, wrr, lc, wlc, maglev, sh };
std::optional<SchedKind> parse_sched(std::string_view name);
const char* sched_name(SchedKind kind);
// True when the choice depends only on the packet, so a lost flow (restart, failover)
// can be re-created on a non-SYN packet and land on the same backend.
inline bool sched_is_consistent(SchedKind k) { return k == SchedKind::maglev || k == SchedKind::sh; }

struct SchedBackend {
  uint32_t weight;  // configured weight x slow-start percent (so 1 can be scaled down)
  uint16_t id;      // global backend id (index into per-lcore counters)
  bool eligible;
  uint16_t percent = 100;  // slow start (lbcp): lc weighs open flows by it
};

// What a scheduler may read: the VIP's backends and, for maglev/sh, its lookup table
// (indices into backends, built from the eligible ones).
struct SchedVip {
  const SchedBackend* backends;
  uint16_t count;
  const uint16_t* maglev;     // nullptr unless maglev/sh
  uint32_t maglev_size;
};

// Per-lcore, per-VIP mutable state. `weight_current` has one entry per backend.
struct SchedState {
  uint32_t cursor = 0;
  std::vector<int64_t> weight_current;
};

// Open (not closing) flows to a backend, summed over lcores.
using OpenFlowsFn = uint32_t (*)(const void* ctx, uint16_t backend_id);

struct SchedInput {
  uint64_t flow_hash;    // hash of the client->VIP 4-tuple (maglev only; 0 for the others)
  uint64_t client_hash;  // hash of the client address
  OpenFlowsFn open_flows;
  const void* open_flows_ctx;
};

constexpr int kNoBackend = -1;

// Round robin. The cursor is kept below vip.count by a compare, not a division (a
// divide costs tens of cycles on the SYN path); a cursor left past the end by a smaller
// backend list starts again at 0.
inline int sched_pick_rr(const SchedVip& vip, SchedState& st) {
  uint32_t i = st.cursor;
  for (uint16_t tried = 0; tried < vip.count; ++tried, ++i) {
    if (i >= vip.count) i = 0;
    if (vip.backends[i].eligible && vip.backends[i].weight > 0) {
      st.cursor = i + 1;
      return static_cast<int>(i);
    }
  }
  return kNoBackend;
}

// maglev and sh: the lookup table's entry for the hash.
inline int sched_pick_table(const SchedVip& vip, uint64_t hash) {
  if (!vip.maglev || vip.maglev_size == 0) return kNoBackend;
  return vip.maglev[hash % vip.maglev_size];
}

// The schedulers that loop over the backends with arithmetic per backend (wrr, lc,
// wlc), out of line; sched_pick() for any kind.
int sched_pick_out_of_line(SchedKind kind, const SchedVip& vip, SchedState& state, const SchedInput& in);

// Index into vip.backends of the chosen backend, or kNoBackend. The few-instruction
// schedulers (rr, maglev, sh) are inlined into the caller, which a SYN pays for
// otherwise with two calls, one of them indirect. `in` is taken by value so that,
// inlined, it stays in registers and is stored only on the out-of-line branch.
inline int sched_pick(SchedKind kind, const SchedVip& vip, SchedState& state, SchedInput in) {
  if (vip.count == 0) return kNoBackend;
  switch (kind) {
    case SchedKind::rr: return sched_pick_rr(vip, state);
    case SchedKind::maglev: return sched_pick_table(vip, in.flow_hash);
    case SchedKind::sh: return sched_pick_table(vip, in.client_hash);
    default: return sched_pick_out_of_line(kind, vip, state, in);
  }
}

}  // namespace lb
