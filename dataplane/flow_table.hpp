// The per-lcore flow table: which backend each TCP connection belongs to.
//
// Thread-safety: NOT thread-safe. Each worker lcore owns one table and is its only
// reader and writer (DESIGN.md invariant 2); the main lcore never touches it.
//
// Memory is fixed at construction (capacity flows, no allocation afterwards):
//   * an array of 64-byte Flow entries (one cache line each), and
//   * an index of 64-byte buckets, each 8 16-bit signatures, 8 entry references
//     (entry<<1|direction) and an overflow count, with ceil(3 * capacity / 8) buckets:
//     two keys per flow (forward and reverse) at most 2/3 full, and
//   * an array of 32-bit deadlines, one per entry, what eviction compares (below): a
//     lower bound of when the flow would expire (stamp_ms plus its state's timeout).
//     It is written when the flow is created and when a state change brings its
//     expiry sooner (a shorter timeout); a packet or a state change that puts the
//     expiry off leaves it, so the established path never writes to it (measured: the
//     write on a flow's first data packet, a random line of a 40 MB array at 10 M
//     flows, made lbbench gen-est-10m take 1.26-1.45 times the cycles per packet).
//     Eviction corrects the deadline of the flow it would take from the entry, and
//     chooses again when it was stale; the sweep corrects those it passes.
// That is 64 + 24 + 4 = 92 bytes per flow at the configured size (memory_bytes()).
//
// Every key has a primary and a secondary bucket. A key goes to its primary while it
// has room, else to its secondary (the primary's overflow count says so), else one
// resident key moves to its other bucket (cuckoo style). At 2/3 load only a few per cent
// of keys live in their secondary, so a lookup reads one bucket line and one entry
// line: the secondary is read only when the primary's overflow count is not zero.
// Signatures are compared 8 at a time with SSE2.
//
// Each flow is found through index slots that refer to its entry, and a packet's
// tuple, in the orientation it arrives in, is confirmed against the entry's:
//   fwd: client -> VIP               (saddr=client, daddr=VIP)
//   rev: backend -> client (nat) or backend -> local address (fullnat)
// * fullnat: two slots, one hashed from each whole tuple (set_reverse adds the second):
//   the reply carries nothing of the client.
// * nat ("client-keyed", create_client_keyed()): ONE slot, hashed from the client's
//   address and port (hash_client), which both directions carry: a lookup through it
//   matches either fwd (a client packet) or rev (a reply). A new connection then writes
//   one index slot instead of two, and its eviction erases one: the reverse slot was a
//   second random bucket line on every SYN (measured: a third of the SYN path's
//   cycles). Flows of one client address and port share a bucket (and signature); a
//   client rarely has more than a few, and a bucket pair holds 16.
// * dsr: one slot for fwd (replies bypass the appliance).
//
// Idle expiry: each flow carries the time of its last packet, written only when it is
// older than max(kTouchGranularityMs, timeout / 64) for the flow's state (so a busy
// flow dirties its line rarely, and a flow may expire up to that much early: 1 s for
// half-open and closing flows, 14 s of the default 15 minutes for established ones). A sweep walks the entry array in index order, a few
// entries per worker pass (expire()), and removes flows idle longer than their state's
// timeout; nothing on the packet path links or unlinks lists, so a packet reads its
// bucket and its entry and writes nothing else. The sweep also moves keys that live in
// their secondary bucket home once their primary has room. sweep_period_ms() is how long one round
// over the table takes at the pace the worker keeps: max(1 s, capacity / 1 M s), i.e. at
// most a million entries a second. A flow leaves the table between its timeout and
// its timeout plus one sweep period (plus the touch granularity early).
// When every entry is in use, create() evicts flows: of each of the next kReclaimBatch
// samples of kEvictSample consecutive entries (a rotating sample), the one whose
// expiry comes first, i.e. the flow the sweep would remove first (half-open and
// closing flows, whose timeouts are short, go before established ones unless those are
// about to expire anyway), reported through the remove hook. The next creates take the
// entries so freed. The choice reads the deadline array, where a sample is 32 bytes,
// not 8 entry lines (measured: reading and scoring the entries was a fifth of the SYN
// path's cycles with the table full), and then the chosen entry: when its deadline
// was stale (below stamp_ms plus timeout), it is corrected and the sample's lowest
// chosen again. As every other deadline is at most its flow's expiry, the flow so
// found expires first. A stale deadline is corrected once, at the cost of an entry
// read; a SYN flood against flows that were half-open once and are established now
// pays it once per such flow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nmmintrin.h>
#include <string>
#include <emmintrin.h>

namespace lb {

struct FlowKey {
  uint32_t saddr_be;
  uint32_t daddr_be;
  uint16_t sport_be;
  uint16_t dport_be;
  // As one 8-byte and one 4-byte compare (the defaulted == compared four fields).
  bool operator==(const FlowKey& o) const {
    uint64_t a, b;
    uint32_t c, d;
    __builtin_memcpy(&a, this, 8);
    __builtin_memcpy(&b, &o, 8);
    __builtin_memcpy(&c, reinterpret_cast<const char*>(this) + 8, 4);
    __builtin_memcpy(&d, reinterpret_cast<const char*>(&o) + 8, 4);
    return ((a ^ b) | (c ^ d)) == 0;
  }
};
static_assert(sizeof(FlowKey) == 12);

// 64-bit hash of a key, for the Maglev scheduler (the table has its own, FlowTable::hash).
// CRC32C of the key (SSE4.2, a few cycles) in the low half; the high half is a
// non-linear mix of it (murmur3's finaliser): CRC alone is linear.
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
  uint32_t stamp_ms;        // 24  last packet, to touch_granularity_ms(state) (idle clock)
  uint16_t vip_id;          // 28
  uint16_t backend_id;      // 30
  uint16_t nexthop;         // 32  neighbour slot towards the backend
  uint8_t out_port;         // 34  port towards the backend
  uint8_t in_port;          // 35  port the client's packets arrive on
  uint8_t client_mac[6];    // 36  L2 next hop back to the client (source MAC seen)
  FlowState state;          // 42
  uint8_t flags;            // 43  kFlowInUse | kFlowHasReverse | kFlowClientKeyed
  uint32_t fwd_bucket;      // 44  index bucket holding the forward key (free-list link while unused)
  uint32_t rev_bucket;      // 48  index bucket holding the reverse key
  uint16_t csum_fwd_ip;     // 52  checksum addends of the rewrite (see rewrite.hpp),
  uint16_t csum_fwd_l4;     // 54  client -> backend
  uint16_t csum_rev_ip;     // 56  and backend -> client
  uint16_t csum_rev_l4;     // 58
  uint8_t mode;             // 60  forwarding mode (FwdMode) the flow was created with
  uint8_t fwd_slot;         // 61  slot of the forward key in fwd_bucket
  uint8_t rev_slot;         // 62  slot of the reverse key in rev_bucket
  uint8_t reserved;         // 63
};
static_assert(sizeof(Flow) == 64, "one cache line per flow");
constexpr uint8_t kFlowInUse = 1;
constexpr uint8_t kFlowHasReverse = 2;   // rev has a slot of its own (fullnat)
constexpr uint8_t kFlowClientKeyed = 4;  // one slot, hashed from the client (nat): matches fwd and rev
// Whether the entry's rev tuple is meaningful (and matched by lookups).
inline bool flow_has_rev(const Flow& f) { return f.flags & (kFlowHasReverse | kFlowClientKeyed); }

class FlowTable {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;
  // candidate(): no match in the primary bucket, but the secondary may hold the key.
  static constexpr uint32_t kProbeSecondary = 0xfffffffeu;
  static constexpr uint32_t kTouchGranularityMs = 1000;
  static constexpr uint32_t kMaxCapacity = 1u << 30;
  static constexpr uint32_t kEvictSample = 8;
  // Flows evicted at once when a new flow finds no free entry (fewer in a table of
  // fewer than kReclaimBatch * 2 * kEvictSample entries, so that the samples stay
  // disjoint and at least one flow in two stays).
  static constexpr uint32_t kReclaimBatch = 16;
  static constexpr uint32_t kSweepMinPeriodMs = 1000;
  static constexpr uint32_t kSweepMaxPerSecond = 1u << 20;
  static constexpr uint32_t kMaxTimeoutMs = 1u << 30;

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
  // caller and must outlive the table. capacity in [1, kMaxCapacity]; each timeout
  // below kMaxTimeoutMs (deadlines are compared as signed 32-bit distances from now).
  FlowTable(void* memory, uint32_t capacity, Timeouts timeouts, RemoveHook hook, void* hook_ctx);

  // The key's primary bucket, what picks its secondary, and its signature (what lookup()
  // computes first): the CRC32C of the key's 12 bytes, times two odd constants (top bits
  // depend on all of the CRC's bits: CRC alone is linear, and structured keys such as
  // sequential ports crowd some buckets), picks the primary and the secondary; the
  // signature mixes both, so keys sharing either bucket still differ in it. The
  // secondary bucket itself is computed only when needed (secondary()): most lookups
  // never read it.
  struct Hashed {
    uint32_t primary;
    uint32_t mix;  // the second product: secondary() maps it to a bucket
    uint16_t sig;
  };
  Hashed hash(const FlowKey& key) const {
    uint64_t a;
    uint32_t b;
    __builtin_memcpy(&a, &key, 8);
    __builtin_memcpy(&b, reinterpret_cast<const char*>(&key) + 8, 4);
    const uint32_t crc = _mm_crc32_u32(static_cast<uint32_t>(_mm_crc32_u64(0x9e3779b9u, a)), b);
    return spread(crc);
  }
  // Primary bucket and signature from a 32-bit CRC (see hash()).
  Hashed spread(uint32_t crc) const {
    const uint32_t lo = crc * 0x9e3779b1u;
    const uint32_t hi = crc * 0x85ebca6bu;
    Hashed out;
    out.primary = static_cast<uint32_t>((static_cast<uint64_t>(lo) * bucket_count_) >> 32);
    out.mix = hi;
    out.sig = static_cast<uint16_t>((lo ^ (hi >> 16)) | 1u);  // never 0 (0 marks an empty slot)
    return out;
  }
  // The key's secondary bucket: never its primary (the next one when they coincide).
  uint32_t secondary(const Hashed& h) const {
    const uint32_t b = static_cast<uint32_t>((static_cast<uint64_t>(h.mix) * bucket_count_) >> 32);
    if (b != h.primary) return b;
    return h.primary + 1 == bucket_count_ ? 0 : h.primary + 1;
  }
  // bucket_of(h, 0) is the primary, bucket_of(h, 1) the secondary.
  uint32_t bucket_of(const Hashed& h, unsigned which) const { return which ? secondary(h) : h.primary; }
  // The hash of a client-keyed (nat) flow's slot: the client's address and port only,
  // which the client's packets carry as source and the backend's replies as destination.
  Hashed hash_client(uint32_t client_addr_be, uint16_t client_port_be) const {
    const uint64_t a = (static_cast<uint64_t>(client_port_be) << 32) | client_addr_be;
    return spread(static_cast<uint32_t>(_mm_crc32_u64(0x7f4a7c15u, a)));
  }
  // Burst pipelines: hash a burst's keys and prefetch their primary buckets; then take
  // each key's candidate() (prefetching its entry, or its secondary bucket, whose keys
  // then take candidate_secondary()); then lookup_from(); then process.
  void prefetch_bucket(const Hashed& h) const { __builtin_prefetch(&buckets_[h.primary]); }

  // The first reference whose signature matches in the key's primary bucket, with its
  // entry prefetched. kNone when no slot of the key's buckets carries its signature, so
  // that no flow is indexed under h at all (the worker relies on this meaning: see the
  // four-argument lookup()); kProbeSecondary (with the secondary bucket prefetched)
  // when the primary has no match but has overflowed.
  // Confirming a match needs the entry's key, a cache miss in a large table; fetching
  // all of a burst's candidates first lets those misses overlap.
  uint32_t candidate(const Hashed& h) const {
    const Bucket& primary = buckets_[h.primary];
    if (unsigned m = match(primary, h.sig)) return prefetched(primary.ref[slot_of(m)] & kRefMask);
    if (primary.overflow == 0) return kNone;
    __builtin_prefetch(&buckets_[secondary(h)]);
    return kProbeSecondary;
  }
  // candidate() for a key that got kProbeSecondary (kNone, again, when the secondary
  // has no slot with the signature either).
  uint32_t candidate_secondary(const Hashed& h) const {
    const Bucket& second = buckets_[secondary(h)];
    if (unsigned m = match(second, h.sig)) return prefetched(second.ref[slot_of(m)] & kRefMask);
    return kNone;
  }
  // lookup(), given the final candidate (not kProbeSecondary) taken with no change to
  // the table since.
  Flow* lookup_from(const FlowKey& key, const Hashed& h, uint32_t candidate, bool* reply) const {
    if (candidate == kNone) return nullptr;
    if (matches(candidate, key, reply)) return &flows_[candidate >> 1];
    return lookup(key, h, reply);  // a signature collision: try the other matches
  }

  // The flow a packet with this key belongs to, or nullptr. *reply is set to true when
  // the key matched a flow's rev tuple. Does not change idle time (see touch()).
  // `h` is how the flow is indexed: hash(key) for whole-tuple slots, hash_client() of
  // the client's address and port for client-keyed (nat) flows. The one-argument form
  // finds whole-tuple slots only.
  Flow* lookup(const FlowKey& key, bool* reply) const { return lookup(key, hash(key), reply); }
  Flow* lookup(const FlowKey& key, const Hashed& h, bool* reply) const {
    if (Flow* f = find_in(h.primary, key, h.sig, reply)) return f;
    if (buckets_[h.primary].overflow == 0) return nullptr;
    return find_in(secondary(h), key, h.sig, reply);
  }
  // lookup(), and whether the key's signature is absent from its buckets: then
  // (*unindexed) no flow at all is indexed under h, so a lookup of any other key with
  // the same h (a nat flow's reply tuple shares its client-keyed hash) would miss too.
  // A new connection's SYN usually finds its primary bucket without the signature and
  // not overflowed, and is spared the full lookup here and the reply tuple's later.
  Flow* lookup(const FlowKey& key, const Hashed& h, bool* reply, bool* unindexed) const {
    const Bucket& primary = buckets_[h.primary];
    if (!match(primary, h.sig) && primary.overflow == 0) {
      *unindexed = true;
      return nullptr;
    }
    *unindexed = false;
    return lookup(key, h, reply);
  }
  // Whether `flow` (found earlier in this burst) still holds `key` in the given direction.
  static bool still_holds(const Flow* flow, const FlowKey& key, bool reply) {
    return (flow->flags & kFlowInUse) && (reply ? flow->rev : flow->fwd) == key && (!reply || flow_has_rev(*flow));
  }
  // Whether some flow uses this tuple through a whole-tuple slot (a fullnat reverse key,
  // or any forward key). A client-keyed (nat) flow's rev is found only through
  // lookup(rev, hash_client(rev.daddr_be, rev.dport_be)).
  bool reverse_in_use(const FlowKey& rev) const;

  // A new flow for `fwd` in state syn_sent; evicts a flow (see above) if the table is
  // full. Returns nullptr only when both index buckets of the key are full. The caller
  // fills the payload fields. `fwd` must not be present already.
  Flow* create(const FlowKey& fwd, FlowState state, uint32_t now_ms) { return create(fwd, hash(fwd), state, now_ms); }
  Flow* create(const FlowKey& fwd, const Hashed& h, FlowState state, uint32_t now_ms) {
    return create(fwd, nullptr, h, state, now_ms);
  }
  // A client-keyed flow (nat): one slot, h = hash_client(fwd.saddr_be, fwd.sport_be),
  // through which lookups match fwd and rev (rev.daddr/dport must be the client's).
  // The caller checks first that no flow holds rev (lookup(rev, h)). Otherwise as create().
  Flow* create_client_keyed(const FlowKey& fwd, const FlowKey& rev, const Hashed& h, FlowState state,
                            uint32_t now_ms) {
    return create(fwd, &rev, h, state, now_ms);
  }
  // Adds the reverse key (a slot of its own). False (nothing changed) if the flow has one
  // already or is client-keyed, the key is in use, or its buckets are full.
  bool set_reverse(Flow* flow, const FlowKey& rev) { return set_reverse(flow, rev, hash(rev)); }
  bool set_reverse(Flow* flow, const FlowKey& rev, const Hashed& h);
  // A packet of this flow was seen now.
  void touch(Flow* flow, uint32_t now_ms) const {
    if (now_ms - flow->stamp_ms >= touch_granularity_ms_[static_cast<unsigned>(flow->state)]) flow->stamp_ms = now_ms;
  }
  // How stale a flow's stamp may get before a packet rewrites it: 1/64 of its state's
  // timeout, at least kTouchGranularityMs. A flow expires at most that much early.
  uint32_t touch_granularity_ms(FlowState s) const { return touch_granularity_ms_[static_cast<unsigned>(s)]; }
  // Also stamps the flow. The deadline is written only when the new state's timeout is
  // shorter than the old one's (else it stays a lower bound, see above).
  void set_state(Flow* flow, FlowState state, uint32_t now_ms) const {
    const uint32_t timeout = timeout_ms_[static_cast<unsigned>(state)];
    const bool sooner = timeout < timeout_ms_[static_cast<unsigned>(flow->state)];
    flow->state = state;
    flow->stamp_ms = now_ms;
    if (sooner) deadline_[index_of(flow)] = now_ms + timeout;
  }
  // Removes a flow without calling the hook (the caller accounts for it).
  void remove(Flow* flow);
  // Examines the next `budget` entries of the sweep (wrapping around the table) and
  // removes those idle longer than their state's timeout (calling the hook); returns
  // how many it removed. expire(now, capacity()) examines every entry once.
  uint32_t expire(uint32_t now_ms, uint32_t budget);
  // One round of the sweep, at the pace the worker keeps (see above).
  uint32_t sweep_period_ms() const;

  uint32_t size() const { return used_; }
  // Changes whenever a flow is created or removed: a lookup result (hit or miss) taken
  // at the same value is still right.
  uint64_t mutations() const { return mutations_; }
  uint32_t capacity() const { return capacity_; }
  const Flow& entry(uint32_t index) const { return flows_[index]; }
  uint32_t timeout_ms(FlowState s) const { return timeout_ms_[static_cast<unsigned>(s)]; }
  // Keys that live in their secondary bucket (for tests and statistics).
  uint32_t secondary_keys() const { return secondary_keys_; }
  // Checks every invariant of the entries, the free list and the index (O(capacity),
  // for tests): "" when all hold, else what does not.
  std::string check_invariants() const;

 private:
  // ref: entry index << 1 | 1 for the reverse key; bit 31 set when the key lives in its
  // secondary bucket (entry indexes are below 2^30).
  static constexpr uint32_t kRefMask = 0x7fffffffu;
  static constexpr uint32_t kInSecondary = 0x80000000u;
  struct alignas(64) Bucket {
    uint16_t sig[8];    // 0 = empty slot
    uint32_t ref[8];
    uint32_t overflow;  // keys whose primary this is that live in their secondary
    uint32_t unused[3];
  };
  static_assert(sizeof(Bucket) == 64);

  // Slots of `bucket` whose signature equals sig, as a mask with bit 2*slot set.
  static unsigned match(const Bucket& bucket, uint16_t sig) {
    const __m128i sigs = _mm_load_si128(reinterpret_cast<const __m128i*>(bucket.sig));
    const __m128i eq = _mm_cmpeq_epi16(sigs, _mm_set1_epi16(static_cast<short>(sig)));
    return static_cast<unsigned>(_mm_movemask_epi8(eq)) & 0x5555u;
  }
  static unsigned slot_of(unsigned mask) { return static_cast<unsigned>(__builtin_ctz(mask)) >> 1; }
  uint32_t prefetched(uint32_t ref) const {
    __builtin_prefetch(&flows_[ref >> 1]);
    return ref;
  }
  Flow* find_in(uint32_t b, const FlowKey& key, uint16_t sig, bool* reply) const {
    const Bucket& bucket = buckets_[b];
    for (unsigned m = match(bucket, sig); m; m &= m - 1) {
      uint32_t ref = bucket.ref[slot_of(m)] & kRefMask;
      if (matches(ref, key, reply)) return &flows_[ref >> 1];
    }
    return nullptr;
  }
  // Whether the entry behind ref holds key: the reverse slot's rev; a forward slot's fwd
  // or, for a client-keyed flow, its rev. Sets *reply on a match.
  bool matches(uint32_t ref, const FlowKey& key, bool* reply) const {
    const Flow& f = flows_[ref >> 1];
    bool is_rev = true, ok;
    if (ref & 1)
      ok = f.rev == key;
    else if (f.fwd == key) [[likely]]
      ok = true, is_rev = false;
    else
      ok = (f.flags & kFlowClientKeyed) && f.rev == key;
    if (ok) *reply = is_rev;
    return ok;
  }
  // The hash a resident slot was placed by (for moves and erasure).
  Hashed hash_of(uint32_t ref) const {
    const Flow& f = flows_[ref >> 1];
    if (!(ref & 1) && (f.flags & kFlowClientKeyed)) return hash_client(f.fwd.saddr_be, f.fwd.sport_be);
    return hash(key_of(ref));
  }
  [[gnu::always_inline]] Flow* create(const FlowKey& fwd, const FlowKey* client_keyed_rev, const Hashed& h, FlowState state,
                                      uint32_t now_ms);
  // Puts (sig, ref) in a free slot of bucket b and records where in the entry; false
  // when the bucket is full.
  [[gnu::always_inline]] bool place(uint32_t b, uint16_t sig, uint32_t ref);
  // Records in ref's entry which bucket and slot hold the key (so erasing it is O(1)).
  void set_location(uint32_t ref, uint32_t b, unsigned slot) {
    Flow& f = flows_[ref >> 1];
    if (ref & 1) {
      f.rev_bucket = b;
      f.rev_slot = static_cast<uint8_t>(slot);
    } else {
      f.fwd_bucket = b;
      f.fwd_slot = static_cast<uint8_t>(slot);
    }
  }
  // Inserts, returning the bucket used, or kNone when both (after a cuckoo move) are full.
  [[gnu::always_inline]] uint32_t index_insert(const Hashed& h, uint32_t ref);
  uint32_t index_insert_cuckoo(const Hashed& h, uint32_t ref);
  // Empties the slot that holds ref (the location its entry recorded).
  [[gnu::always_inline]] inline void index_erase(uint32_t bucket, unsigned slot, uint32_t ref);
  void note_secondary(uint32_t primary, int change);
  // Moves a key that lives in its secondary bucket home when its primary has room (the
  // sweep does this, so keys that overflowed do not stay away after their primary
  // emptied: under churn they would pile up and make lookups read two buckets).
  void rehome(Flow* flow);
  void rehome_key(uint32_t ref, uint32_t bucket, unsigned slot);
  const FlowKey& key_of(uint32_t ref) const { return (ref & 1) ? flows_[ref >> 1].rev : flows_[ref >> 1].fwd; }
  uint32_t expiry_of(const Flow& flow) const { return flow.stamp_ms + timeout_ms_[static_cast<unsigned>(flow.state)]; }
  bool idle_past_timeout(const Flow& flow, uint32_t now_ms) const {
    return now_ms - flow.stamp_ms >= timeout_ms_[static_cast<unsigned>(flow.state)];
  }
  void release(Flow* flow);
  // Refills the empty free list: of each of the next reclaim_batch_ samples, the flow
  // whose deadline comes first is evicted (reported through the hook). A SYN flood
  // evicts on every SYN, and one victim at a time paid each miss in turn: each reclaim
  // also chooses the next one's victims and prefetches their entries, and the victims
  // are released after all of a batch's buckets were prefetched. A predicted victim
  // whose deadline has changed since (a state change, or another flow in its entry) or
  // was stale is chosen again from its sample.
  void reclaim(uint32_t now_ms);
  // The flow of the sample at `first` that expires first: the lowest deadline, corrected
  // from its entry and chosen again while it was stale.
  uint32_t victim_in_sample(uint32_t first, uint32_t now_ms);
  // An eviction sample: kEvictSample entries from `first` (wrapping around the table's
  // end; the whole table when it is smaller). Returns the one whose deadline comes
  // first (the lowest of the sample when several share it).
  uint32_t first_deadline_in_sample(uint32_t first, uint32_t now_ms) const;
  // Where the sample after the one at `first` starts.
  uint32_t next_sample(uint32_t first) const;
  uint32_t index_of(const Flow* flow) const { return static_cast<uint32_t>(flow - flows_); }

  Flow* flows_;
  Bucket* buckets_;
  uint32_t* deadline_;  // per entry, at most its expiry; meaningful while it is in use
  uint32_t capacity_;
  uint32_t bucket_count_;
  uint32_t used_ = 0;
  uint32_t secondary_keys_ = 0;
  uint64_t mutations_ = 0;
  uint32_t free_head_ = kNone;
  uint32_t sweep_hand_ = 0;
  uint32_t evict_hand_ = 0;
  uint32_t reclaim_batch_;  // flows a reclaim() evicts: kReclaimBatch, or fewer in a small table
  // The next reclaim's victims as the last one chose them, and their deadlines then.
  bool have_predictions_ = false;
  uint32_t predicted_[kReclaimBatch];
  uint32_t predicted_deadline_[kReclaimBatch];
  uint32_t timeout_ms_[kFlowStateCount];
  uint32_t touch_granularity_ms_[kFlowStateCount];
  RemoveHook hook_;
  void* hook_ctx_;
};

// Inline: create() is on every SYN's path, and its call (with the spills around it)
// was 23 of a SYN's instructions (callgrind).
inline bool FlowTable::place(uint32_t b, uint16_t sig, uint32_t ref) {
  Bucket& bucket = buckets_[b];
  unsigned free = match(bucket, 0);
  if (!free) return false;
  unsigned slot = slot_of(free);
  bucket.sig[slot] = sig;
  bucket.ref[slot] = ref;
  set_location(ref & kRefMask, b, slot);
  return true;
}

inline uint32_t FlowTable::index_insert(const Hashed& h, uint32_t ref) {
  if (place(h.primary, h.sig, ref)) [[likely]]
    return h.primary;
  return index_insert_cuckoo(h, ref);
}

inline Flow* FlowTable::create(const FlowKey& fwd, const FlowKey* client_keyed_rev, const Hashed& h, FlowState state,
                               uint32_t now_ms) {
  if (free_head_ == kNone) reclaim(now_ms);
  uint32_t idx = free_head_;
  Flow* flow = &flows_[idx];
  // The key must be in place before index_insert: a cuckoo move may read keys.
  uint32_t next_free = flow->fwd_bucket;
  __builtin_memset(static_cast<void*>(flow), 0, sizeof(Flow));
  flow->fwd = fwd;
  if (client_keyed_rev) {
    flow->rev = *client_keyed_rev;
    flow->flags = kFlowClientKeyed;
  }
  if (index_insert(h, idx << 1) == kNone) {
    flow->flags = 0;
    flow->fwd_bucket = next_free;
    return nullptr;
  }
  free_head_ = next_free;
  flow->flags |= kFlowInUse;
  flow->state = state;
  flow->stamp_ms = now_ms;
  deadline_[idx] = now_ms + timeout_ms_[static_cast<unsigned>(state)];
  ++used_;
  ++mutations_;
  return flow;
}

// Spreads the sweep over its period: capacity entries per period_ms, counted from the
// TSC, so each worker pass examines the few entries that are due rather than a burst
// of them once a millisecond. At most kMaxPerPass at once (kMaxPerIdlePass on a pass
// without packets): after a long pass or an idle nap the debt is paid over the
// following passes (it is capped at one round, which examines every entry anyway).
class SweepPacer {
 public:
  static constexpr uint32_t kMaxPerPass = 1024;
  static constexpr uint32_t kMaxPerIdlePass = 65536;  // a pass with no packets pays debt faster
  SweepPacer(uint32_t capacity, uint32_t period_ms, uint64_t tsc_per_ms, uint64_t now_tsc)
      : capacity_(capacity),
        per_tsc_(static_cast<double>(capacity) / (static_cast<double>(tsc_per_ms) * (period_ms ? period_ms : 1))),
        last_tsc_(now_tsc) {}
  // Entries due since the last call. A worker pass that handled no packets (`idle`) may
  // take up to kMaxPerIdlePass, so debt built up over idle naps is paid while idle
  // rather than by the busy passes that follow.
  uint32_t due(uint64_t now_tsc, bool idle = false) {
    owed_ += static_cast<double>(now_tsc - last_tsc_) * per_tsc_;
    last_tsc_ = now_tsc;
    if (owed_ > capacity_) owed_ = capacity_;
    const uint32_t limit = idle ? kMaxPerIdlePass : kMaxPerPass;
    const uint32_t n = owed_ >= limit ? limit : static_cast<uint32_t>(owed_);
    owed_ -= n;
    return n;
  }

 private:
  double capacity_;
  double per_tsc_;  // entries per TSC cycle
  uint64_t last_tsc_;
  double owed_ = 0;  // entries due and not yet handed out
};

}  // namespace lb
