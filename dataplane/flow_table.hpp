// The per-lcore flow table: which backend each TCP connection belongs to.
//
// Thread-safety: NOT thread-safe. Each worker lcore owns one table and is its only
// reader and writer (DESIGN.md invariant 2); the main lcore never touches it.
//
// Memory is fixed at construction (capacity flows, no allocation afterwards):
//   * an array of 64-byte Flow entries (one cache line each), and
//   * an index of 64-byte buckets, 8 signatures then 8 entry references
//     (entry<<1|direction), with ceil(3 * capacity / 8) buckets: two keys per flow
//     (forward and reverse) at most 2/3 full. Every key has two candidate buckets
//     (two-choice hashing; when both are full one resident key moves to its other
//     bucket, cuckoo style). Signatures are compared 4 at a time with SSE2.
// That is 64 + 24 = 88 bytes per flow at the configured size (memory_bytes()).
//
// Each flow is reachable by two keys, both in the orientation packets arrive in:
//   forward: client -> VIP               (saddr=client, daddr=VIP)
//   reverse: backend -> client (nat) or backend -> local address (fullnat)
// A DSR flow has no reverse key (replies bypass the appliance).
//
// Idle expiry: flows sit on one of three LRU lists by TCP state (syn, established,
// closing), each with its own timeout, so the head of each list is the next to expire;
// expire() pops expired heads incrementally with a budget. A packet moves its flow to
// the tail at most once per kTouchGranularityMs, so timeouts have that resolution
// (a flow may expire up to 1 s early) and a busy flow costs no list work per packet.
// When every entry is in use, create() evicts the least recently used flow of all
// three lists (the oldest idle one) and reports it through the remove hook.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nmmintrin.h>
#include <emmintrin.h>

namespace lb {

struct FlowKey {
  uint32_t saddr_be;
  uint32_t daddr_be;
  uint16_t sport_be;
  uint16_t dport_be;
  bool operator==(const FlowKey&) const = default;
};
static_assert(sizeof(FlowKey) == 12);

// 64-bit hash of a key (also used by schedulers).
// CRC32C of the key (SSE4.2, a few cycles) in the low half; the high half is a
// non-linear mix of it (murmur3's finaliser). Two CRC lanes would not do: CRC is linear,
// so two lanes differ by a constant and the two candidate buckets would be correlated.
inline uint64_t hash_flow_key(const FlowKey& key) {
  uint64_t a = (static_cast<uint64_t>(key.saddr_be) << 32) | key.daddr_be;
  uint32_t b = (static_cast<uint32_t>(key.sport_be) << 16) | key.dport_be;
  uint32_t lo = _mm_crc32_u32(static_cast<uint32_t>(_mm_crc32_u64(0x9e3779b9u, a)), b);
  uint32_t hi = lo;
  hi ^= hi >> 16;
  hi *= 0x85ebca6bu;
  hi ^= hi >> 13;
  hi *= 0xc2b2ae35u;
  hi ^= hi >> 16;
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

enum class FlowState : uint8_t { syn_sent = 0, established = 1, closing = 2 };
constexpr unsigned kFlowStateCount = 3;
const char* flow_state_name(FlowState s);

struct alignas(64) Flow {
  FlowKey fwd;              // 0   client -> VIP, as received
  FlowKey rev;              // 12  backend -> client/local, as received (nat, fullnat)
  uint32_t lru_stamp_ms;    // 24  last time the flow moved to its list's tail (idle clock)
  uint32_t lru_prev;        // 28
  uint32_t lru_next;        // 32  (free-list link while unused)
  uint16_t vip_id;          // 36
  uint16_t backend_id;      // 38
  uint16_t nexthop;         // 40  neighbour slot towards the backend
  uint8_t out_port;         // 42  port towards the backend
  uint8_t in_port;          // 43  port the client's packets arrive on
  uint8_t client_mac[6];    // 44  L2 next hop back to the client (source MAC seen)
  FlowState state;          // 50
  uint8_t flags;            // 51  kFlowInUse | kFlowHasReverse
  uint32_t fwd_bucket;      // 52  index bucket holding the forward key
  uint32_t rev_bucket;      // 56  index bucket holding the reverse key
  uint8_t mode;             // 60  forwarding mode (FwdMode) the flow was created with
  uint8_t reserved[3];      // 61
};
static_assert(sizeof(Flow) == 64, "one cache line per flow");
constexpr uint8_t kFlowInUse = 1;
constexpr uint8_t kFlowHasReverse = 2;

class FlowTable {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;
  static constexpr uint32_t kTouchGranularityMs = 1000;
  static constexpr uint32_t kMaxCapacity = 1u << 30;

  struct Timeouts {
    uint32_t syn_ms;
    uint32_t established_ms;
    uint32_t closing_ms;
  };
  enum class RemoveReason : uint8_t { expired, evicted, replaced };
  // Called for every flow that leaves the table except through remove(); the flow is
  // still intact during the call.
  using RemoveHook = void (*)(void* ctx, const Flow& flow, RemoveReason why);

  // Bytes of memory a table of `capacity` flows needs (entries + index), 64-byte aligned.
  static size_t memory_bytes(uint32_t capacity);
  static uint32_t bucket_count(uint32_t capacity);

  // `memory` must be 64-byte aligned, memory_bytes(capacity) long; it is owned by the
  // caller and must outlive the table. capacity in [1, kMaxCapacity].
  FlowTable(void* memory, uint32_t capacity, Timeouts timeouts, RemoveHook hook, void* hook_ctx);

  // The key's two candidate buckets and signature (what lookup() computes first).
  struct Hashed {
    uint32_t bucket[2];
    uint32_t sig;
  };
  Hashed hash(const FlowKey& key) const {
    uint64_t h = hash_flow_key(key);
    Hashed out;
    out.bucket[0] = static_cast<uint32_t>((static_cast<uint64_t>(static_cast<uint32_t>(h)) * bucket_count_) >> 32);
    out.bucket[1] = static_cast<uint32_t>(((h >> 32) * bucket_count_) >> 32);
    if (out.bucket[1] == out.bucket[0]) out.bucket[1] = out.bucket[0] + 1 == bucket_count_ ? 0 : out.bucket[0] + 1;
    out.sig = static_cast<uint32_t>(h >> 16) | 1u;  // never 0 (0 marks an empty slot)
    return out;
  }
  // Burst pipelines: hash a burst's keys and prefetch their buckets, then take each
  // key's candidate() (prefetching its entry), then lookup_from(), then process.
  void prefetch_buckets(const Hashed& h) const {
    __builtin_prefetch(&buckets_[h.bucket[0]]);
    __builtin_prefetch(&buckets_[h.bucket[1]]);
  }
  // If touch(flow, now) will move the flow in its LRU list, prefetch its neighbours.
  void prefetch_lru_neighbours(const Flow* flow, uint32_t now_ms) const {
    if (now_ms - flow->lru_stamp_ms < kTouchGranularityMs) return;
    if (flow->lru_prev != kNone) __builtin_prefetch(&flows_[flow->lru_prev], 1);
    if (flow->lru_next != kNone) __builtin_prefetch(&flows_[flow->lru_next], 1);
  }

  // Burst stage between prefetch_buckets() and lookup_from(): the first reference whose
  // signature matches in the key's buckets (kNone when none does: the key is certainly
  // absent), with its entry prefetched. Confirming a match needs the entry's key, a
  // cache miss in a large table; fetching all of a burst's candidates first lets those
  // misses overlap instead of following one another.
  uint32_t candidate(const Hashed& h) const {
    for (uint32_t b : h.bucket)
      if (unsigned m = match(buckets_[b], h.sig)) {
        uint32_t ref = buckets_[b].ref[__builtin_ctz(m)];
        __builtin_prefetch(&flows_[ref >> 1]);
        return ref;
      }
    return kNone;
  }
  // lookup(), given candidate(h) taken with no change to the table since.
  Flow* lookup_from(const FlowKey& key, const Hashed& h, uint32_t candidate, bool* reply) const {
    if (candidate == kNone) return nullptr;
    if (key_of(candidate) == key) {
      *reply = candidate & 1;
      return &flows_[candidate >> 1];
    }
    return lookup(key, h, reply);  // a signature collision: try the other matches
  }

  // The flow a packet with this key belongs to, or nullptr. *reply is set to true when
  // the key matched a flow's reverse key. Does not change idle time (see touch()).
  Flow* lookup(const FlowKey& key, bool* reply) const { return lookup(key, hash(key), reply); }
  Flow* lookup(const FlowKey& key, const Hashed& h, bool* reply) const {
    for (uint32_t b : h.bucket) {
      const Bucket& bucket = buckets_[b];
      for (unsigned m = match(bucket, h.sig); m; m &= m - 1) {
        uint32_t ref = bucket.ref[__builtin_ctz(m)];
        if (key_of(ref) == key) {
          *reply = ref & 1;
          return &flows_[ref >> 1];
        }
      }
    }
    return nullptr;
  }
  // Whether `flow` (found earlier in this burst) still holds `key` in the given direction.
  static bool still_holds(const Flow* flow, const FlowKey& key, bool reply) {
    return (flow->flags & kFlowInUse) && (reply ? flow->rev : flow->fwd) == key &&
           (!reply || (flow->flags & kFlowHasReverse));
  }
  // Whether some flow already uses this reverse key.
  bool reverse_in_use(const FlowKey& rev) const;

  // A new flow for `fwd` in state syn_sent; evicts the oldest idle flow if the table is
  // full. Returns nullptr only when both index buckets of the key are full. The caller
  // fills the payload fields. `fwd` must not be present already.
  Flow* create(const FlowKey& fwd, FlowState state, uint32_t now_ms) { return create(fwd, hash(fwd), state, now_ms); }
  Flow* create(const FlowKey& fwd, const Hashed& h, FlowState state, uint32_t now_ms);
  // Adds the reverse key. False (nothing changed) if the flow has one already, the key is
  // in use, or its buckets are full.
  bool set_reverse(Flow* flow, const FlowKey& rev);
  // A packet of this flow was seen now.
  void touch(Flow* flow, uint32_t now_ms) {
    if (now_ms - flow->lru_stamp_ms >= kTouchGranularityMs) move_to_tail(flow, now_ms);
  }
  void set_state(Flow* flow, FlowState state, uint32_t now_ms);
  // Removes a flow without calling the hook (the caller accounts for it).
  void remove(Flow* flow);
  // Removes up to `budget` expired flows (calling the hook); returns how many.
  uint32_t expire(uint32_t now_ms, uint32_t budget);

  uint32_t size() const { return used_; }
  // Changes whenever a flow is created or removed: a lookup result (hit or miss) taken
  // at the same value is still right.
  uint64_t mutations() const { return mutations_; }
  uint32_t capacity() const { return capacity_; }
  const Flow& entry(uint32_t index) const { return flows_[index]; }
  uint32_t timeout_ms(FlowState s) const { return timeout_ms_[static_cast<unsigned>(s)]; }

 private:
  struct alignas(64) Bucket {
    uint32_t sig[8];  // 0 = empty slot
    uint32_t ref[8];  // entry index << 1 | 1 for the reverse key
  };
  static_assert(sizeof(Bucket) == 64);

  // Slots of `bucket` whose signature equals sig, as a bit mask.
  static unsigned match(const Bucket& bucket, uint32_t sig) {
    const __m128i wanted = _mm_set1_epi32(static_cast<int>(sig));
    const __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i*>(&bucket.sig[0]));
    const __m128i hi = _mm_load_si128(reinterpret_cast<const __m128i*>(&bucket.sig[4]));
    unsigned m_lo = static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lo, wanted))));
    unsigned m_hi = static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hi, wanted))));
    return m_lo | (m_hi << 4);
  }
  // Inserts, returning the bucket used, or kNone when both (after a cuckoo move) are full.
  uint32_t index_insert(const Hashed& h, uint32_t ref);
  void index_erase(uint32_t bucket, uint32_t ref);
  const FlowKey& key_of(uint32_t ref) const { return (ref & 1) ? flows_[ref >> 1].rev : flows_[ref >> 1].fwd; }
  uint32_t& bucket_field(uint32_t ref) { return (ref & 1) ? flows_[ref >> 1].rev_bucket : flows_[ref >> 1].fwd_bucket; }
  void lru_unlink(Flow* flow);
  void lru_append(Flow* flow, unsigned list);
  void move_to_tail(Flow* flow, uint32_t now_ms);
  void release(Flow* flow);
  Flow* evict_oldest();
  uint32_t index_of(const Flow* flow) const { return static_cast<uint32_t>(flow - flows_); }

  Flow* flows_;
  Bucket* buckets_;
  uint32_t capacity_;
  uint32_t bucket_count_;
  uint32_t used_ = 0;
  uint64_t mutations_ = 0;
  uint32_t free_head_ = kNone;
  uint32_t lru_head_[kFlowStateCount];
  uint32_t lru_tail_[kFlowStateCount];
  uint32_t timeout_ms_[kFlowStateCount];
  RemoveHook hook_;
  void* hook_ctx_;
};



}  // namespace lb
