#include "flow_table.hpp"

#include <cstring>
#include <emmintrin.h>
#include <new>
#include <smmintrin.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace lb {

const char* flow_state_name(FlowState s) {
  switch (s) {
    case FlowState::syn_sent: return "syn";
    case FlowState::established: return "established";
    case FlowState::closing: return "closing";
  }
  return "?";
}

uint32_t FlowTable::bucket_count(uint32_t capacity) {
  uint64_t buckets = (3ull * capacity + 7) / 8;
  return static_cast<uint32_t>(buckets < 2 ? 2 : buckets);
}

size_t FlowTable::memory_bytes(uint32_t capacity) {
  const size_t deadlines = (static_cast<size_t>(capacity) * sizeof(uint32_t) + 63) / 64 * 64;
  return static_cast<size_t>(capacity) * sizeof(Flow) + static_cast<size_t>(bucket_count(capacity)) * sizeof(Bucket) +
         deadlines;
}

FlowTable::FlowTable(void* memory, uint32_t capacity, Timeouts timeouts, RemoveHook hook, void* hook_ctx)
    : capacity_(capacity), bucket_count_(bucket_count(capacity)), hook_(hook), hook_ctx_(hook_ctx) {
  if (capacity == 0 || capacity > kMaxCapacity) throw std::invalid_argument("flow table capacity out of range");
  if (reinterpret_cast<uintptr_t>(memory) % 64) throw std::invalid_argument("flow table memory not 64-byte aligned");
  if (timeouts.syn_ms >= kMaxTimeoutMs || timeouts.established_ms >= kMaxTimeoutMs ||
      timeouts.closing_ms >= kMaxTimeoutMs)
    throw std::invalid_argument("flow timeout out of range");
  flows_ = static_cast<Flow*>(memory);
  buckets_ = reinterpret_cast<Bucket*>(flows_ + capacity);
  deadline_ = reinterpret_cast<uint32_t*>(buckets_ + bucket_count_);
  std::memset(static_cast<void*>(buckets_), 0, sizeof(Bucket) * bucket_count_);
  std::memset(deadline_, 0, sizeof(uint32_t) * capacity);
  // Free list in index order, so a fresh table fills entries front to back.
  for (uint32_t i = 0; i < capacity; ++i) {
    std::memset(static_cast<void*>(&flows_[i]), 0, sizeof(Flow));
    flows_[i].fwd_bucket = i + 1 < capacity ? i + 1 : kNone;
  }
  free_head_ = 0;
  // Disjoint samples (they cover at most half the table), at least one.
  const uint32_t fit = capacity / (2 * kEvictSample);
  reclaim_batch_ = fit >= kReclaimBatch ? kReclaimBatch : fit ? fit : 1;
  timeout_ms_[0] = timeouts.syn_ms;
  timeout_ms_[1] = timeouts.established_ms;
  timeout_ms_[2] = timeouts.closing_ms;
  for (unsigned l = 0; l < kFlowStateCount; ++l)
    touch_granularity_ms_[l] = timeout_ms_[l] / 64 > kTouchGranularityMs ? timeout_ms_[l] / 64 : kTouchGranularityMs;
}

uint32_t FlowTable::sweep_period_ms() const {
  uint64_t at_max_pace = static_cast<uint64_t>(capacity_) * 1000 / kSweepMaxPerSecond;
  return static_cast<uint32_t>(at_max_pace > kSweepMinPeriodMs ? at_max_pace : kSweepMinPeriodMs);
}

bool FlowTable::reverse_in_use(const FlowKey& rev) const {
  bool reply = false;
  return lookup(rev, &reply) != nullptr;
}


void FlowTable::note_secondary(uint32_t primary, int change) {
  buckets_[primary].overflow += static_cast<uint32_t>(change);
  secondary_keys_ += static_cast<uint32_t>(change);
}


// index_insert() when the primary is full: the secondary, else one cuckoo move.
uint32_t FlowTable::index_insert_cuckoo(const Hashed& h, uint32_t ref) {
  const uint32_t second = secondary(h);
  if (place(second, h.sig, ref | kInSecondary)) {
    note_secondary(h.primary, +1);
    return second;
  }
  // Both full: move one resident key to its other bucket if that has room (one cuckoo
  // step; at 2/3 load this is rare, and a second step rarer still).
  for (unsigned which = 0; which < 2; ++which) {
    const uint32_t b = bucket_of(h, which);
    Bucket& bucket = buckets_[b];
    for (unsigned slot = 0; slot < 8; ++slot) {
      const uint32_t resident = bucket.ref[slot];
      const bool was_secondary = resident & kInSecondary;
      const Hashed other = hash_of(resident & kRefMask);
      const uint32_t alt = bucket_of(other, was_secondary ? 0 : 1);
      if (!place(alt, bucket.sig[slot], (resident & kRefMask) | (was_secondary ? 0 : kInSecondary))) continue;
      note_secondary(other.primary, was_secondary ? -1 : +1);
      bucket.sig[slot] = h.sig;
      bucket.ref[slot] = ref | (which ? kInSecondary : 0);
      set_location(ref, b, slot);
      if (which) note_secondary(h.primary, +1);
      return b;
    }
  }
  return kNone;
}

void FlowTable::index_erase(uint32_t b, unsigned slot, uint32_t ref) {
  Bucket& bucket = buckets_[b];
  if (bucket.ref[slot] & kInSecondary) [[unlikely]]
    note_secondary(hash_of(ref).primary, -1);
  bucket.sig[slot] = 0;
}

void FlowTable::rehome(Flow* flow) {
  const uint32_t idx = index_of(flow);
  rehome_key(idx << 1, flow->fwd_bucket, flow->fwd_slot);
  if (flow->flags & kFlowHasReverse) rehome_key((idx << 1) | 1, flow->rev_bucket, flow->rev_slot);
}

void FlowTable::rehome_key(uint32_t ref, uint32_t bucket, unsigned slot) {
  const Hashed h = hash_of(ref);
  if (bucket == h.primary || !match(buckets_[h.primary], 0)) return;  // home, or home still full
  index_erase(bucket, slot, ref);  // out of the secondary (and the primary's overflow count)
  place(h.primary, h.sig, ref);  // cannot fail: the primary has a free slot
}

__attribute__((always_inline)) inline void FlowTable::release(Flow* flow) {
  uint32_t idx = index_of(flow);
  index_erase(flow->fwd_bucket, flow->fwd_slot, idx << 1);
  if (flow->flags & kFlowHasReverse) index_erase(flow->rev_bucket, flow->rev_slot, (idx << 1) | 1);
  flow->flags = 0;
  flow->fwd_bucket = free_head_;
  free_head_ = idx;
  --used_;
  ++mutations_;
}

void FlowTable::remove(Flow* flow) { release(flow); }

__attribute__((always_inline)) inline uint32_t FlowTable::next_sample(uint32_t first) const {
  const uint32_t n = capacity_ < kEvictSample ? capacity_ : kEvictSample;
  return first + n >= capacity_ ? first + n - capacity_ : first + n;
}

__attribute__((always_inline)) inline uint32_t FlowTable::first_deadline_in_sample(uint32_t first,
                                                                                  uint32_t now_ms) const {
  // Deadlines are compared as signed distances from now: a flow is at most a timeout
  // (< 2^30 ms) ahead and, while the sweep keeps up, little behind.
  static_assert(kEvictSample == 8, "the straight run below compares two vectors of four");
  if (capacity_ >= kEvictSample && first + kEvictSample <= capacity_) [[likely]] {  // a straight run
    const __m128i now = _mm_set1_epi32(static_cast<int>(now_ms));
    const __m128i lo = _mm_sub_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(deadline_ + first)), now);
    const __m128i hi = _mm_sub_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(deadline_ + first + 4)), now);
    __m128i least = _mm_min_epi32(lo, hi);
    least = _mm_min_epi32(least, _mm_shuffle_epi32(least, _MM_SHUFFLE(1, 0, 3, 2)));
    least = _mm_min_epi32(least, _mm_shuffle_epi32(least, _MM_SHUFFLE(2, 3, 0, 1)));  // in every lane
    const unsigned at = static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lo, least)))) |
                        static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hi, least)))) << 4;
    return first + static_cast<uint32_t>(__builtin_ctz(at));
  }
  // Wrapping around the table's end (so every entry is sampled equally often), or the
  // whole of a table smaller than a sample.
  const uint32_t n = capacity_ < kEvictSample ? capacity_ : kEvictSample;
  uint32_t best = first;
  int32_t best_left = static_cast<int32_t>(deadline_[first] - now_ms);
  for (uint32_t i = 1; i < n; ++i) {
    uint32_t index = first + i;
    index -= index >= capacity_ ? capacity_ : 0;
    const int32_t left = static_cast<int32_t>(deadline_[index] - now_ms);
    best = left < best_left ? index : best;
    best_left = left < best_left ? left : best_left;
  }
  return best;
}

uint32_t FlowTable::victim_in_sample(uint32_t first, uint32_t now_ms) {
  // Each pass corrects one stale deadline for good, so at most a sample's worth.
  for (;;) {
    const uint32_t v = first_deadline_in_sample(first, now_ms);
    const uint32_t expiry = expiry_of(flows_[v]);
    if (deadline_[v] == expiry) [[likely]]
      return v;
    deadline_[v] = expiry;
  }
}

void FlowTable::reclaim(uint32_t now_ms) {
  uint32_t victims[kReclaimBatch];
  // This batch's victims: the ones predicted by the last reclaim (their entries
  // prefetched then) while each still has the deadline it was chosen by, else chosen
  // afresh. Their buckets are prefetched here, and read while the next batch is
  // predicted.
  for (uint32_t i = 0; i < reclaim_batch_; ++i) {
    const uint32_t first = evict_hand_;
    evict_hand_ = next_sample(first);
    uint32_t v = predicted_[i];
    if (!have_predictions_ || !(flows_[v].flags & kFlowInUse) || deadline_[v] != predicted_deadline_[i] ||
        deadline_[v] != expiry_of(flows_[v])) [[unlikely]]
      v = victim_in_sample(first, now_ms);
    victims[i] = v;
    const Flow& f = flows_[v];
    __builtin_prefetch(&buckets_[f.fwd_bucket]);
    if (f.flags & kFlowHasReverse) __builtin_prefetch(&buckets_[f.rev_bucket]);
  }
  // The next batch's victims, from the deadlines as they are now (a batch comes about
  // kReclaimBatch SYNs later, when a table too big for the caches would miss on their
  // entries), and the deadlines of the batch after it (32 bytes a sample).
  const uint32_t two_ahead = reclaim_batch_ * kEvictSample;
  for (uint32_t i = 0, first = evict_hand_; i < reclaim_batch_; ++i, first = next_sample(first)) {
    const uint32_t v = first_deadline_in_sample(first, now_ms);
    predicted_[i] = v;
    predicted_deadline_[i] = deadline_[v];
    __builtin_prefetch(&flows_[v]);
    if (first + two_ahead < capacity_) __builtin_prefetch(&deadline_[first + two_ahead]);
  }
  have_predictions_ = true;
  for (uint32_t i = 0; i < reclaim_batch_; ++i) {
    Flow* victim = &flows_[victims[i]];
    hook_(hook_ctx_, *victim, RemoveReason::evicted);
    release(victim);
  }
}


bool FlowTable::set_reverse(Flow* flow, const FlowKey& rev, const Hashed& h) {
  if (flow->flags & (kFlowHasReverse | kFlowClientKeyed)) return false;
  bool reply = false;
  if (lookup(rev, h, &reply)) return false;
  FlowKey previous = flow->rev;
  flow->rev = rev;  // in place before index_insert: a cuckoo move may read keys
  if (index_insert(h, (index_of(flow) << 1) | 1) == kNone) {
    flow->rev = previous;
    return false;
  }
  flow->flags |= kFlowHasReverse;
  ++mutations_;
  return true;
}

uint32_t FlowTable::expire(uint32_t now_ms, uint32_t budget) {
  uint32_t removed = 0;
  if (budget > capacity_) budget = capacity_;
  for (uint32_t i = 0; i < budget; ++i) {
    Flow* f = &flows_[sweep_hand_];
    if (++sweep_hand_ == capacity_) sweep_hand_ = 0;
    if (!(f->flags & kFlowInUse)) continue;
    if (!idle_past_timeout(*f, now_ms)) {
      // The sweep brings stale deadlines up to date, so none is older than a round
      // (and none so old that its distance from now, compared signed, wraps).
      const uint32_t idx = index_of(f), expiry = expiry_of(*f);
      if (deadline_[idx] != expiry) deadline_[idx] = expiry;
      if (secondary_keys_) rehome(f);
      continue;
    }
    hook_(hook_ctx_, *f, RemoveReason::expired);
    release(f);
    ++removed;
  }
  return removed;
}

std::string FlowTable::check_invariants() const {
  auto fail = [](const std::string& what, uint64_t at) { return what + " (at " + std::to_string(at) + ")"; };
  uint32_t in_use = 0;
  for (uint32_t i = 0; i < capacity_; ++i) in_use += (flows_[i].flags & kFlowInUse) != 0;
  if (in_use != used_) return fail("entries in use differ from size()", in_use);
  uint32_t free_entries = 0;
  for (uint32_t i = free_head_; i != kNone; i = flows_[i].fwd_bucket) {
    if (i >= capacity_ || (flows_[i].flags & kFlowInUse) || ++free_entries > capacity_) return fail("free list broken", i);
  }
  for (uint32_t i = 0; i < capacity_; ++i) {
    const Flow& f = flows_[i];
    if ((f.flags & kFlowInUse) && static_cast<int32_t>(expiry_of(f) - deadline_[i]) < 0)
      return fail("deadline later than stamp + timeout", i);
  }
  if (free_entries != capacity_ - used_) return fail("free list length differs from capacity - size", free_entries);
  std::vector<uint32_t> overflow(bucket_count_, 0);
  uint32_t secondary = 0, keys = 0;
  for (uint32_t b = 0; b < bucket_count_; ++b)
    for (unsigned slot = 0; slot < 8; ++slot) {
      if (buckets_[b].sig[slot] == 0) continue;
      const uint32_t ref = buckets_[b].ref[slot] & kRefMask;
      const bool in_secondary = buckets_[b].ref[slot] & kInSecondary;
      if ((ref >> 1) >= capacity_) return fail("index slot refers past the entries", b);
      const Flow& f = flows_[ref >> 1];
      if (!(f.flags & kFlowInUse)) return fail("index slot refers to an unused entry", b);
      if ((ref & 1) && !(f.flags & kFlowHasReverse)) return fail("reverse slot of a flow without reverse key", b);
      const Hashed h = hash_of(ref);
      if (bucket_of(h, in_secondary ? 1 : 0) != b) return fail("key in a bucket that is not its own", b);
      if (h.sig != buckets_[b].sig[slot]) return fail("signature differs from the key's", b);
      if (((ref & 1) ? f.rev_bucket : f.fwd_bucket) != b) return fail("entry's bucket field is wrong", b);
      if (((ref & 1) ? f.rev_slot : f.fwd_slot) != slot) return fail("entry's slot field is wrong", b);
      if (in_secondary) ++overflow[h.primary], ++secondary;
      ++keys;
    }
  for (uint32_t b = 0; b < bucket_count_; ++b)
    if (overflow[b] != buckets_[b].overflow) return fail("overflow count differs from the keys placed away", b);
  if (secondary != secondary_keys_) return fail("secondary_keys() differs from the index", secondary);
  uint32_t expected_keys = 0;
  for (uint32_t i = 0; i < capacity_; ++i) {
    const Flow& f = flows_[i];
    if (!(f.flags & kFlowInUse)) continue;
    bool reply = true;
    const Hashed fwd_hash = hash_of(i << 1);
    if (lookup(f.fwd, fwd_hash, &reply) != &f || reply) return fail("forward key not found", i);
    ++expected_keys;
    if (f.flags & kFlowClientKeyed) {
      if (f.flags & kFlowHasReverse) return fail("client-keyed flow with a reverse slot", i);
      if (f.rev.daddr_be != f.fwd.saddr_be || f.rev.dport_be != f.fwd.sport_be)
        return fail("client-keyed flow's rev is not towards its client", i);
      if (lookup(f.rev, fwd_hash, &reply) != &f || !reply) return fail("client-keyed rev not found", i);
    }
    if (f.flags & kFlowHasReverse) {
      if (lookup(f.rev, &reply) != &f || !reply) return fail("reverse key not found", i);
      ++expected_keys;
    }
  }
  if (keys != expected_keys) return fail("index holds keys of no flow", keys);
  return "";
}

}  // namespace lb
