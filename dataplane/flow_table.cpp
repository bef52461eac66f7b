#include "flow_table.hpp"

#include <cstring>
#include <emmintrin.h>
#include <new>
#include <stdexcept>

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
  return static_cast<size_t>(capacity) * sizeof(Flow) + static_cast<size_t>(bucket_count(capacity)) * sizeof(Bucket);
}

FlowTable::FlowTable(void* memory, uint32_t capacity, Timeouts timeouts, RemoveHook hook, void* hook_ctx)
    : capacity_(capacity), bucket_count_(bucket_count(capacity)), hook_(hook), hook_ctx_(hook_ctx) {
  if (capacity == 0 || capacity > kMaxCapacity) throw std::invalid_argument("flow table capacity out of range");
  if (reinterpret_cast<uintptr_t>(memory) % 64) throw std::invalid_argument("flow table memory not 64-byte aligned");
  flows_ = static_cast<Flow*>(memory);
  buckets_ = reinterpret_cast<Bucket*>(flows_ + capacity);
  std::memset(static_cast<void*>(buckets_), 0, sizeof(Bucket) * bucket_count_);
  // Free list in index order, so a fresh table fills entries front to back.
  for (uint32_t i = 0; i < capacity; ++i) {
    std::memset(static_cast<void*>(&flows_[i]), 0, sizeof(Flow));
    flows_[i].lru_next = i + 1 < capacity ? i + 1 : kNone;
  }
  free_head_ = 0;
  for (unsigned l = 0; l < kFlowStateCount; ++l) lru_head_[l] = lru_tail_[l] = kNone;
  timeout_ms_[0] = timeouts.syn_ms;
  timeout_ms_[1] = timeouts.established_ms;
  timeout_ms_[2] = timeouts.closing_ms;
}

bool FlowTable::reverse_in_use(const FlowKey& rev) const {
  bool reply = false;
  return lookup(rev, &reply) != nullptr;
}

uint32_t FlowTable::index_insert(const Hashed& h, uint32_t ref) {
  unsigned free0 = match(buckets_[h.bucket[0]], 0), free1 = match(buckets_[h.bucket[1]], 0);
  if (free0 | free1) {
    // The emptier of the two buckets, so load spreads evenly.
    bool second = __builtin_popcount(free1) > __builtin_popcount(free0);
    uint32_t b = h.bucket[second];
    unsigned slot = __builtin_ctz(second ? free1 : free0);
    buckets_[b].sig[slot] = h.sig;
    buckets_[b].ref[slot] = ref;
    bucket_field(ref) = b;
    return b;
  }
  // Both full: move one resident key to its other bucket if that has room (one cuckoo
  // step; at 2/3 load this is rare, and a second step rarer still).
  for (uint32_t b : h.bucket) {
    Bucket& bucket = buckets_[b];
    for (unsigned slot = 0; slot < 8; ++slot) {
      Hashed other = hash(key_of(bucket.ref[slot]));
      uint32_t alt = other.bucket[0] == b ? other.bucket[1] : other.bucket[0];
      unsigned free_alt = match(buckets_[alt], 0);
      if (!free_alt) continue;
      unsigned to = __builtin_ctz(free_alt);
      buckets_[alt].sig[to] = bucket.sig[slot];
      buckets_[alt].ref[to] = bucket.ref[slot];
      bucket_field(bucket.ref[slot]) = alt;
      bucket.sig[slot] = h.sig;
      bucket.ref[slot] = ref;
      bucket_field(ref) = b;
      return b;
    }
  }
  return kNone;
}

void FlowTable::index_erase(uint32_t b, uint32_t ref) {
  Bucket& bucket = buckets_[b];
  for (unsigned slot = 0; slot < 8; ++slot)
    if (bucket.ref[slot] == ref && bucket.sig[slot] != 0) {
      bucket.sig[slot] = 0;
      return;
    }
}

void FlowTable::lru_unlink(Flow* flow) {
  unsigned list = static_cast<unsigned>(flow->state);
  if (flow->lru_prev != kNone) flows_[flow->lru_prev].lru_next = flow->lru_next;
  else lru_head_[list] = flow->lru_next;
  if (flow->lru_next != kNone) flows_[flow->lru_next].lru_prev = flow->lru_prev;
  else lru_tail_[list] = flow->lru_prev;
}

void FlowTable::lru_append(Flow* flow, unsigned list) {
  uint32_t idx = index_of(flow);
  flow->lru_next = kNone;
  flow->lru_prev = lru_tail_[list];
  if (lru_tail_[list] != kNone) flows_[lru_tail_[list]].lru_next = idx;
  else lru_head_[list] = idx;
  lru_tail_[list] = idx;
}

void FlowTable::move_to_tail(Flow* flow, uint32_t now_ms) {
  lru_unlink(flow);
  lru_append(flow, static_cast<unsigned>(flow->state));
  flow->lru_stamp_ms = now_ms;
}

void FlowTable::set_state(Flow* flow, FlowState state, uint32_t now_ms) {
  if (flow->state == state) {
    touch(flow, now_ms);
    return;
  }
  lru_unlink(flow);
  flow->state = state;
  lru_append(flow, static_cast<unsigned>(state));
  flow->lru_stamp_ms = now_ms;
}

void FlowTable::release(Flow* flow) {
  uint32_t idx = index_of(flow);
  index_erase(flow->fwd_bucket, idx << 1);
  if (flow->flags & kFlowHasReverse) index_erase(flow->rev_bucket, (idx << 1) | 1);
  lru_unlink(flow);
  flow->flags = 0;
  flow->lru_next = free_head_;
  free_head_ = idx;
  --used_;
  ++mutations_;
}

void FlowTable::remove(Flow* flow) { release(flow); }

Flow* FlowTable::evict_oldest() {
  // The oldest idle flow is the oldest of the three list heads (each list is ordered
  // by its stamp). Compare ages, not stamps, so the millisecond clock may wrap.
  Flow* oldest = nullptr;
  for (unsigned l = 0; l < kFlowStateCount; ++l) {
    if (lru_head_[l] == kNone) continue;
    Flow* head = &flows_[lru_head_[l]];
    if (!oldest || static_cast<int32_t>(head->lru_stamp_ms - oldest->lru_stamp_ms) < 0) oldest = head;
  }
  return oldest;
}

Flow* FlowTable::create(const FlowKey& fwd, const Hashed& h, FlowState state, uint32_t now_ms) {
  if (free_head_ == kNone) {
    Flow* victim = evict_oldest();
    hook_(hook_ctx_, *victim, RemoveReason::evicted);
    release(victim);
  }
  uint32_t idx = free_head_;
  Flow* flow = &flows_[idx];
  // The key must be in place before index_insert: a cuckoo move may read keys.
  uint32_t next_free = flow->lru_next;
  std::memset(static_cast<void*>(flow), 0, sizeof(Flow));
  flow->fwd = fwd;
  flow->lru_next = next_free;
  if (index_insert(h, idx << 1) == kNone) return nullptr;
  free_head_ = next_free;
  flow->flags = kFlowInUse;
  flow->state = state;
  flow->lru_stamp_ms = now_ms;
  lru_append(flow, static_cast<unsigned>(state));
  ++used_;
  ++mutations_;
  return flow;
}

bool FlowTable::set_reverse(Flow* flow, const FlowKey& rev) {
  if ((flow->flags & kFlowHasReverse)) return false;
  Hashed h = hash(rev);
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
  for (unsigned l = 0; l < kFlowStateCount && removed < budget; ++l) {
    while (removed < budget && lru_head_[l] != kNone) {
      Flow* head = &flows_[lru_head_[l]];
      if (now_ms - head->lru_stamp_ms < timeout_ms_[l]) break;  // the rest are younger
      hook_(hook_ctx_, *head, RemoveReason::expired);
      release(head);
      ++removed;
    }
  }
  return removed;
}

}  // namespace lb
