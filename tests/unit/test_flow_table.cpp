// Unit tests for flow_table.hpp: keys, reverse keys, primary/secondary buckets, the
// expiry sweep and its pacer, and eviction.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "flow_table.hpp"

namespace lb {
namespace {

using Reason = FlowTable::RemoveReason;

struct HookLog {
  struct Event {
    FlowKey key;
    FlowState state;
    uint16_t backend_id;
    Reason why;
  };
  std::vector<Event> events;
  unsigned count(Reason r) const {
    unsigned n = 0;
    for (const auto& e : events) n += e.why == r;
    return n;
  }
  static void hook(void* ctx, const Flow& flow, Reason why) {
    auto* log = static_cast<HookLog*>(ctx);
    EXPECT_TRUE(flow.flags & kFlowInUse) << "hook must see the flow intact";
    log->events.push_back({flow.fwd, flow.state, flow.backend_id, why});
  }
};

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// A table with its own 64-byte aligned memory.
class TestTable {
 public:
  TestTable(uint32_t capacity, FlowTable::Timeouts t) {
    size_t bytes = (FlowTable::memory_bytes(capacity) + 63) / 64 * 64;
    mem_.reset(std::aligned_alloc(64, bytes));
    // Scribble over the memory so the table cannot rely on it being zeroed.
    std::memset(mem_.get(), 0xa5, bytes);
    table_ = std::make_unique<FlowTable>(mem_.get(), capacity, t, &HookLog::hook, &log_);
  }
  FlowTable& operator*() { return *table_; }
  FlowTable* operator->() { return table_.get(); }
  HookLog& log() { return log_; }

 private:
  std::unique_ptr<void, FreeDeleter> mem_;
  HookLog log_;
  std::unique_ptr<FlowTable> table_;
};

constexpr FlowTable::Timeouts kTimeouts{5000, 60000, 3000};  // syn, established, closing
constexpr uint32_t kGran = FlowTable::kTouchGranularityMs;

FlowKey key(uint32_t n) {
  // Distinct, structured keys: client 10.x.y.z:port -> VIP 203.0.113.10:80 (wire order
  // does not matter to the table; values are just distinct).
  return FlowKey{0x0a000000u + n, 0xcb00710au, static_cast<uint16_t>(1024 + n % 60000), 80};
}
FlowKey rkey(uint32_t n) {
  return FlowKey{0xc0a80001u + (n % 200), 0x0a000000u + n, 8080, static_cast<uint16_t>(1024 + n % 60000)};
}

Flow* find(FlowTable& t, const FlowKey& k, bool* reply = nullptr) {
  bool r = false;
  Flow* f = t.lookup(k, &r);
  if (reply) *reply = r;
  return f;
}
// A lookup the way the worker does it for a nat VIP's packet (from the client) or a
// backend's reply (to the client): through the hash of the client's address and port.
Flow* find_from_client(FlowTable& t, const FlowKey& k, bool* reply = nullptr) {
  bool r = false;
  Flow* f = t.lookup(k, t.hash_client(k.saddr_be, k.sport_be), &r);
  if (reply) *reply = r;
  return f;
}
Flow* find_to_client(FlowTable& t, const FlowKey& k, bool* reply = nullptr) {
  bool r = false;
  Flow* f = t.lookup(k, t.hash_client(k.daddr_be, k.dport_be), &r);
  if (reply) *reply = r;
  return f;
}
Flow* create_nat(FlowTable& t, const FlowKey& fwd, const FlowKey& rev, FlowState s, uint32_t now) {
  return t.create_client_keyed(fwd, rev, t.hash_client(fwd.saddr_be, fwd.sport_be), s, now);
}

TEST(FlowTable, LayoutAndMemoryBudget) {
  EXPECT_EQ(sizeof(Flow), 64u);
  EXPECT_EQ(alignof(Flow), 64u);
  for (uint32_t cap : {1u, 7u, 1000u, 1024u, 100000u, 262144u, 1u << 20, 3000017u}) {
    size_t bytes = FlowTable::memory_bytes(cap);
    EXPECT_GE(bytes, static_cast<size_t>(cap) * sizeof(Flow)) << cap;
    EXPECT_EQ(bytes % 64, 0u) << cap;
    if (cap >= 1000) {
      EXPECT_LE(bytes / cap, 100u) << cap;
    }
    // Index room for two keys per flow at most 2/3 full: >= 3 slots per flow.
    EXPECT_GE(static_cast<uint64_t>(FlowTable::bucket_count(cap)) * 8, 3ull * cap) << cap;
  }
}

TEST(FlowTable, ConstructorValidatesArguments) {
  size_t bytes = (FlowTable::memory_bytes(16) + 63) / 64 * 64 + 64;
  std::unique_ptr<void, FreeDeleter> mem(std::aligned_alloc(64, bytes));
  HookLog log;
  EXPECT_THROW(FlowTable(mem.get(), 0, kTimeouts, &HookLog::hook, &log), std::invalid_argument);
  EXPECT_THROW(FlowTable(static_cast<char*>(mem.get()) + 8, 16, kTimeouts, &HookLog::hook, &log),
               std::invalid_argument);
  FlowTable ok(mem.get(), 16, kTimeouts, &HookLog::hook, &log);
  EXPECT_EQ(ok.capacity(), 16u);
  EXPECT_EQ(ok.size(), 0u);
  EXPECT_EQ(ok.timeout_ms(FlowState::syn_sent), 5000u);
  EXPECT_EQ(ok.timeout_ms(FlowState::established), 60000u);
  EXPECT_EQ(ok.timeout_ms(FlowState::closing), 3000u);
}

TEST(FlowTable, ForwardAndReverseKeys) {
  TestTable t(64, kTimeouts);
  const FlowKey fwd = key(1), rev = rkey(1);
  EXPECT_EQ(find(*t, fwd), nullptr);

  Flow* f = t->create(fwd, FlowState::syn_sent, 100);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(t->size(), 1u);
  EXPECT_EQ(f->fwd, fwd);
  EXPECT_EQ(f->state, FlowState::syn_sent);
  EXPECT_TRUE(f->flags & kFlowInUse);
  EXPECT_FALSE(f->flags & kFlowHasReverse);
  f->backend_id = 77;

  bool reply = true;
  EXPECT_EQ(find(*t, fwd, &reply), f);
  EXPECT_FALSE(reply);
  EXPECT_EQ(find(*t, rev), nullptr) << "no reverse key yet";
  EXPECT_FALSE(t->reverse_in_use(rev));

  ASSERT_TRUE(t->set_reverse(f, rev));
  EXPECT_TRUE(f->flags & kFlowHasReverse);
  EXPECT_EQ(f->rev, rev);
  EXPECT_EQ(find(*t, rev, &reply), f);
  EXPECT_TRUE(reply);
  EXPECT_EQ(find(*t, fwd, &reply), f);
  EXPECT_FALSE(reply);
  EXPECT_TRUE(t->reverse_in_use(rev));
  EXPECT_EQ(t->size(), 1u) << "a reverse key is not a second flow";

  // A second flow cannot take the same reverse key (fullnat local port clash).
  Flow* g = t->create(key(2), FlowState::syn_sent, 100);
  ASSERT_NE(g, nullptr);
  EXPECT_NE(g, f);
  EXPECT_FALSE(t->set_reverse(g, rev));
  EXPECT_FALSE(g->flags & kFlowHasReverse);
  EXPECT_EQ(find(*t, rev, &reply), f);
  EXPECT_TRUE(reply);
  // ... nor one that is another flow's forward key.
  EXPECT_FALSE(t->set_reverse(g, fwd));
  EXPECT_EQ(find(*t, fwd, &reply), f);
  EXPECT_FALSE(reply);
  // A fresh reverse key works.
  EXPECT_TRUE(t->set_reverse(g, rkey(2)));
  EXPECT_EQ(find(*t, rkey(2), &reply), g);
  EXPECT_TRUE(reply);
  EXPECT_EQ(t->size(), 2u);

  // remove() takes both keys away and does not call the hook.
  t->remove(f);
  EXPECT_EQ(t->size(), 1u);
  EXPECT_EQ(find(*t, fwd), nullptr);
  EXPECT_EQ(find(*t, rev), nullptr);
  EXPECT_FALSE(t->reverse_in_use(rev));
  EXPECT_TRUE(t.log().events.empty());
  EXPECT_EQ(find(*t, key(2)), g);

  // The freed reverse key and forward key are usable again.
  Flow* h = t->create(fwd, FlowState::established, 200);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->backend_id, 0) << "a new flow starts with a clean payload";
  EXPECT_FALSE(h->flags & kFlowHasReverse);
  EXPECT_EQ(find(*t, rev), nullptr) << "the old reverse key must not come back with the slot";
  EXPECT_TRUE(t->set_reverse(h, rev));
  EXPECT_EQ(find(*t, rev, &reply), h);
  EXPECT_TRUE(reply);

  t->remove(g);
  t->remove(h);
  EXPECT_EQ(t->size(), 0u);
  EXPECT_EQ(find(*t, key(2)), nullptr);
  EXPECT_EQ(find(*t, rkey(2)), nullptr);
}

// nat flows: one slot, hashed from the client's address and port, that finds the flow
// from either direction; none under the whole tuples.
TEST(FlowTable, ClientKeyedFlowsAreFoundFromBothDirections) {
  TestTable t(64, kTimeouts);
  const FlowKey fwd = key(1), rev = rkey(1);  // rkey(n) is towards key(n)'s client
  Flow* f = create_nat(*t, fwd, rev, FlowState::syn_sent, 100);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->flags & kFlowClientKeyed);
  EXPECT_FALSE(f->flags & kFlowHasReverse);
  EXPECT_TRUE(flow_has_rev(*f));
  EXPECT_EQ(f->rev, rev);
  bool reply = true;
  EXPECT_EQ(find_from_client(*t, fwd, &reply), f);
  EXPECT_FALSE(reply);
  EXPECT_EQ(find_to_client(*t, rev, &reply), f);
  EXPECT_TRUE(reply);
  EXPECT_TRUE(FlowTable::still_holds(f, rev, true));
  EXPECT_TRUE(FlowTable::still_holds(f, fwd, false));
  // Nothing under the whole tuples: it costs one slot, not two.
  EXPECT_EQ(find(*t, fwd), nullptr);
  EXPECT_EQ(find(*t, rev), nullptr);
  EXPECT_FALSE(t->set_reverse(f, rkey(2))) << "a client-keyed flow takes no reverse slot";
  // A packet of the same client address and port that is neither tuple is no match.
  FlowKey other_vip = fwd;
  other_vip.daddr_be ^= 1;
  EXPECT_EQ(find_from_client(*t, other_vip), nullptr);
  FlowKey other_backend = rev;
  other_backend.saddr_be ^= 1;
  EXPECT_EQ(find_to_client(*t, other_backend), nullptr);
  EXPECT_EQ(t->check_invariants(), "");
  t->remove(f);
  EXPECT_EQ(find_from_client(*t, fwd), nullptr);
  EXPECT_EQ(find_to_client(*t, rev), nullptr);
  EXPECT_EQ(t->size(), 0u);
  EXPECT_EQ(t->check_invariants(), "");
}

// One client address and port to many VIPs: the flows share a bucket pair (and
// signature) and every one is still found by its own tuples; a seventeenth does not
// fit the pair, and removing flows makes room again.
TEST(FlowTable, ClientKeyedFlowsOfOneClientShareABucketPair) {
  TestTable t(256, kTimeouts);
  const FlowKey base = key(7), base_rev = rkey(7);
  std::vector<Flow*> flows;
  std::vector<std::pair<FlowKey, FlowKey>> tuples;
  for (uint32_t v = 0; v < 17; ++v) {
    FlowKey fwd = base, rev = base_rev;
    fwd.daddr_be += v;  // another VIP
    rev.saddr_be += v;  // another backend
    Flow* f = create_nat(*t, fwd, rev, FlowState::established, 0);
    if (v < 16) {
      ASSERT_NE(f, nullptr) << v;
      flows.push_back(f);
      tuples.push_back({fwd, rev});
    } else {
      EXPECT_EQ(f, nullptr) << "17 slots of one hash cannot fit a bucket pair";
    }
    ASSERT_EQ(t->check_invariants(), "") << v;
  }
  for (size_t i = 0; i < flows.size(); ++i) {
    bool reply = false;
    EXPECT_EQ(find_from_client(*t, tuples[i].first, &reply), flows[i]) << i;
    EXPECT_FALSE(reply);
    EXPECT_EQ(find_to_client(*t, tuples[i].second, &reply), flows[i]) << i;
    EXPECT_TRUE(reply);
  }
  for (size_t i = 0; i < flows.size(); i += 2) t->remove(flows[i]);
  EXPECT_EQ(t->check_invariants(), "");
  for (size_t i = 1; i < flows.size(); i += 2) EXPECT_EQ(find_to_client(*t, tuples[i].second), flows[i]) << i;
  FlowKey fwd = base, rev = base_rev;
  fwd.daddr_be += 100;
  rev.saddr_be += 100;
  EXPECT_NE(create_nat(*t, fwd, rev, FlowState::established, 0), nullptr);
  EXPECT_EQ(t->check_invariants(), "");
}

// lookup(key, h, reply, unindexed): "unindexed" lets the worker skip a nat SYN's check
// of its reply tuple, which is hashed alike. It must never be said of a client that has
// a flow (in either bucket of its pair), and it should be said of most that have none.
TEST(FlowTable, UnindexedIsNeverSaidOfAClientWithAFlow) {
  constexpr uint32_t kCap = 1024;
  TestTable t(kCap, kTimeouts);
  // Clients with up to 16 flows each (one per VIP): crowded bucket pairs overflow into
  // their secondaries, so both kinds of placement are probed.
  std::vector<std::pair<FlowKey, FlowKey>> live;
  for (uint32_t c = 0; live.size() < kCap * 3 / 4; ++c)
    for (uint32_t v = 0; v <= c % 16 && live.size() < kCap * 3 / 4; ++v) {
      FlowKey fwd = key(c), rev = rkey(c);
      fwd.daddr_be += v;
      rev.saddr_be += v;
      if (create_nat(*t, fwd, rev, FlowState::established, 0)) live.push_back({fwd, rev});
    }
  ASSERT_EQ(t->check_invariants(), "");
  ASSERT_GT(t->secondary_keys(), 0u) << "the test needs keys in their secondary buckets";
  for (const auto& [fwd, rev] : live) {
    // Another connection of the same client (a new VIP): not present, but indexed alike.
    FlowKey other = fwd;
    other.daddr_be += 1000;
    bool reply = false, unindexed = true;
    EXPECT_EQ(t->lookup(other, t->hash_client(other.saddr_be, other.sport_be), &reply, &unindexed), nullptr);
    EXPECT_FALSE(unindexed) << "client " << fwd.saddr_be << " has a flow";
    unindexed = true;
    EXPECT_EQ(t->lookup(fwd, t->hash_client(fwd.saddr_be, fwd.sport_be), &reply, &unindexed),
              find_from_client(*t, fwd));
    EXPECT_FALSE(unindexed);
  }
  // Clients with no flow: the answer agrees with lookup(), and the flag says so for most.
  uint32_t said = 0, probes = 0;
  for (uint32_t c = 100000; c < 104000; ++c, ++probes) {
    const FlowKey fwd = key(c);
    const FlowTable::Hashed h = t->hash_client(fwd.saddr_be, fwd.sport_be);
    bool reply = false, unindexed = false;
    EXPECT_EQ(t->lookup(fwd, h, &reply, &unindexed), nullptr);
    said += unindexed;
  }
  EXPECT_GT(said, probes / 2) << "most absent clients' signatures are absent from their primary bucket";
}

TEST(FlowTable, KeysDifferingInOneFieldAreDistinct) {
  TestTable t(64, kTimeouts);
  FlowKey base{0x01020304u, 0x05060708u, 1000, 80};
  std::vector<FlowKey> keys{base};
  FlowKey k = base;
  k.saddr_be ^= 1;
  keys.push_back(k);
  k = base;
  k.daddr_be ^= 0x80000000u;
  keys.push_back(k);
  k = base;
  k.sport_be ^= 1;
  keys.push_back(k);
  k = base;
  k.dport_be ^= 0x100;
  keys.push_back(k);
  // Swapped addresses/ports (the reverse direction) must be a different key.
  keys.push_back(FlowKey{base.daddr_be, base.saddr_be, base.dport_be, base.sport_be});
  std::vector<Flow*> flows;
  for (const auto& fk : keys) {
    flows.push_back(t->create(fk, FlowState::syn_sent, 0));
    ASSERT_NE(flows.back(), nullptr);
  }
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(find(*t, keys[i]), flows[i]) << i;
}

TEST(FlowTable, ExpiryFollowsPerStateTimeouts) {
  TestTable t(64, kTimeouts);
  Flow* syn = t->create(key(1), FlowState::syn_sent, 0);
  Flow* est = t->create(key(2), FlowState::established, 0);
  Flow* clo = t->create(key(3), FlowState::closing, 0);
  ASSERT_TRUE(syn && est && clo);
  auto& log = t.log();

  // Well before any timeout (allowing the documented granularity): nothing.
  EXPECT_EQ(t->expire(kTimeouts.closing_ms - kGran - 1, 100), 0u);
  EXPECT_EQ(t->size(), 3u);
  // Closing times out first.
  EXPECT_EQ(t->expire(kTimeouts.closing_ms, 100), 1u);
  ASSERT_EQ(log.events.size(), 1u);
  EXPECT_EQ(log.events[0].key, key(3));
  EXPECT_EQ(log.events[0].why, Reason::expired);
  EXPECT_EQ(log.events[0].state, FlowState::closing);
  EXPECT_EQ(find(*t, key(3)), nullptr);
  // Then syn.
  EXPECT_EQ(t->expire(kTimeouts.syn_ms - kGran - 1, 100), 0u);
  EXPECT_EQ(t->expire(kTimeouts.syn_ms, 100), 1u);
  ASSERT_EQ(log.events.size(), 2u);
  EXPECT_EQ(log.events[1].key, key(1));
  EXPECT_EQ(find(*t, key(1)), nullptr);
  // Established lives longest.
  EXPECT_EQ(t->expire(kTimeouts.established_ms - kGran - 1, 100), 0u);
  EXPECT_NE(find(*t, key(2)), nullptr);
  EXPECT_EQ(t->expire(kTimeouts.established_ms, 100), 1u);
  EXPECT_EQ(find(*t, key(2)), nullptr);
  EXPECT_EQ(t->size(), 0u);
  EXPECT_EQ(log.count(Reason::expired), 3u);
  EXPECT_EQ(log.count(Reason::evicted), 0u);
  // Nothing left to expire.
  EXPECT_EQ(t->expire(10'000'000, 100), 0u);
}

TEST(FlowTable, SetStateChangesTheTimeout) {
  TestTable t(64, kTimeouts);
  Flow* f = t->create(key(1), FlowState::syn_sent, 0);
  Flow* other_syn = t->create(key(2), FlowState::syn_sent, 0);
  ASSERT_TRUE(f && other_syn);
  t->set_state(f, FlowState::established, 4000);
  EXPECT_EQ(f->state, FlowState::established);
  // Past the syn timeout of both: only the flow still in syn goes.
  EXPECT_EQ(t->expire(10000, 100), 1u);
  ASSERT_EQ(t.log().events.size(), 1u);
  EXPECT_EQ(t.log().events[0].key, key(2));
  EXPECT_EQ(find(*t, key(1)), f);
  // Established timeout counts from the state change.
  EXPECT_EQ(t->expire(4000 + kTimeouts.established_ms - kGran - 1, 100), 0u);
  // Closing: a short timeout again, counted from the change.
  t->set_state(f, FlowState::closing, 20000);
  EXPECT_EQ(f->state, FlowState::closing);
  EXPECT_EQ(t->expire(20000 + kTimeouts.closing_ms - kGran - 1, 100), 0u);
  EXPECT_EQ(find(*t, key(1)), f);
  EXPECT_EQ(t->expire(20000 + kTimeouts.closing_ms, 100), 1u);
  EXPECT_EQ(find(*t, key(1)), nullptr);
  EXPECT_EQ(t.log().events.back().state, FlowState::closing);
  EXPECT_EQ(t->size(), 0u);
}

TEST(FlowTable, SetStateToSameStateIsATouch) {
  TestTable t(64, kTimeouts);
  Flow* f = t->create(key(1), FlowState::established, 0);
  Flow* g = t->create(key(2), FlowState::established, 0);
  ASSERT_TRUE(f && g);
  t->set_state(f, FlowState::established, 30000);
  EXPECT_EQ(t->expire(kTimeouts.established_ms, 100), 1u);
  EXPECT_EQ(find(*t, key(1)), f);
  EXPECT_EQ(find(*t, key(2)), nullptr);
}

TEST(FlowTable, TouchKeepsAFlowAlive) {
  TestTable t(64, kTimeouts);
  Flow* touched = t->create(key(1), FlowState::syn_sent, 0);
  Flow* idle = t->create(key(2), FlowState::syn_sent, 100);
  ASSERT_TRUE(touched && idle);
  t->touch(touched, 1500);
  t->touch(touched, 3000);
  EXPECT_EQ(t->expire(100 + kTimeouts.syn_ms, 100), 1u);
  EXPECT_EQ(find(*t, key(2)), nullptr);
  EXPECT_EQ(find(*t, key(1)), touched);
  EXPECT_EQ(t.log().events.at(0).key, key(2));
  // It expires one timeout after its last effective touch.
  EXPECT_EQ(t->expire(3000 + kTimeouts.syn_ms - kGran - 1, 100), 0u);
  EXPECT_EQ(t->expire(3000 + kTimeouts.syn_ms, 100), 1u);
  EXPECT_EQ(find(*t, key(1)), nullptr);
}

TEST(FlowTable, TouchHasGranularity) {
  TestTable t(64, kTimeouts);
  Flow* f = t->create(key(1), FlowState::syn_sent, 0);
  ASSERT_NE(f, nullptr);
  // Touches closer together than the granularity do not all count, but the flow may
  // expire at most one granularity early relative to its last packet.
  uint32_t last_packet = 0;
  for (uint32_t now = 10; now <= 20000; now += 10) {
    t->touch(f, now);
    last_packet = now;
  }
  EXPECT_EQ(t->expire(last_packet + kTimeouts.syn_ms - kGran - 1, 100), 0u);
  EXPECT_EQ(t->expire(last_packet + kTimeouts.syn_ms, 100), 1u);
  EXPECT_GE(f->stamp_ms + kGran, last_packet) << "stamp lags the last packet by less than the granularity";
}

// Long timeouts get a coarser stamp: 1/64 of the timeout, so an established flow's line
// is written rarely; it still expires within one granularity of its last packet.
TEST(FlowTable, TouchGranularityScalesWithTimeout) {
  TestTable t(64, {5000, 640000, 3000});
  EXPECT_EQ(t->touch_granularity_ms(FlowState::syn_sent), kGran);
  EXPECT_EQ(t->touch_granularity_ms(FlowState::closing), kGran);
  const uint32_t gran = t->touch_granularity_ms(FlowState::established);
  EXPECT_EQ(gran, 10000u);
  Flow* f = t->create(key(1), FlowState::established, 0);
  ASSERT_NE(f, nullptr);
  t->touch(f, gran - 1);
  EXPECT_EQ(f->stamp_ms, 0u) << "a packet within the granularity does not write the stamp";
  t->touch(f, gran);
  EXPECT_EQ(f->stamp_ms, gran);
  uint32_t last_packet = gran;
  for (uint32_t now = gran; now <= 200000; now += 500) {
    t->touch(f, now);
    last_packet = now;
  }
  EXPECT_EQ(t->expire(last_packet + 640000 - gran - 1, 64), 0u);
  EXPECT_EQ(t->expire(last_packet + 640000, 64), 1u);
}

// The budget counts entries examined, in index order (a fresh table fills entries front
// to back), whether or not they expire.
TEST(FlowTable, ExpireRespectsBudget) {
  TestTable t(128, kTimeouts);
  for (uint32_t i = 0; i < 10; ++i) ASSERT_NE(t->create(key(i), FlowState::syn_sent, i), nullptr);
  for (uint32_t i = 10; i < 16; ++i) ASSERT_NE(t->create(key(i), FlowState::closing, i), nullptr);
  for (uint32_t i = 16; i < 20; ++i) ASSERT_NE(t->create(key(i), FlowState::established, i), nullptr);
  const uint32_t now = 1'000'000;
  EXPECT_EQ(t->expire(now, 0), 0u);
  EXPECT_EQ(t->size(), 20u);
  EXPECT_EQ(t->expire(now, 3), 3u);
  EXPECT_EQ(t->size(), 17u);
  EXPECT_EQ(t->expire(now, 8), 8u);  // entries 3..10: syn and closing flows
  EXPECT_EQ(t->size(), 9u);
  EXPECT_EQ(t.log().count(Reason::expired), 11u);
  EXPECT_EQ(t->expire(now, 100), 9u);  // entries 11..110
  EXPECT_EQ(t->size(), 0u);
  // A young flow in the examined range stays; the sweep wraps around the table.
  ASSERT_NE(t->create(key(100), FlowState::established, now), nullptr);  // entry 19 (freed last)
  EXPECT_EQ(t->expire(now + 1, 128), 0u);
  EXPECT_EQ(t->size(), 1u);
  EXPECT_EQ(t.log().count(Reason::expired), 20u);
  std::set<uint32_t> seen;
  for (const auto& e : t.log().events) seen.insert(e.key.saddr_be);
  EXPECT_EQ(seen.size(), 20u) << "every flow reported exactly once";
}

// A full table evicts, of the sampled entries, the flow whose deadline (last packet plus
// its state's timeout) comes first: idle flows before busy ones, half-open and closing
// flows before established ones of the same idle time, and a fresh half-open flow
// before an established one with more time left.
TEST(FlowTable, EvictionPrefersTheFlowWhoseDeadlineComesFirst) {
  constexpr uint32_t kCap = 64;
  TestTable t(kCap, kTimeouts);
  auto& log = t.log();
  // Entries alternate: even ones idle since 0, odd ones touched at 40000.
  std::vector<Flow*> flows;
  for (uint32_t i = 0; i < kCap; ++i) {
    flows.push_back(t->create(key(i), FlowState::established, 0));
    ASSERT_NE(flows.back(), nullptr);
  }
  for (uint32_t i = 1; i < kCap; i += 2) t->touch(flows[i], 40000);
  // Every sample of kEvictSample consecutive entries holds idle ones: only they go. A
  // create into the full table evicts one flow per sample, for a batch of creates
  // (kCap / 16 of them in a table this small).
  const uint32_t batch = kCap / (2 * FlowTable::kEvictSample);
  // (The new flows' deadline, 110000, is later than either.)
  for (uint32_t n = 0; n < kCap / 4; ++n) {
    ASSERT_NE(t->create(key(1000 + n), FlowState::established, 50000), nullptr);
    ASSERT_EQ(log.events.size(), (n / batch + 1) * batch) << "evictions come in batches";
    EXPECT_EQ(t->size(), kCap - batch + 1 + n % batch);
  }
  for (const auto& e : log.events) {
    EXPECT_EQ(e.why, Reason::evicted);
    EXPECT_EQ(e.key.saddr_be % 2, key(0).saddr_be % 2) << "an eviction took a busy flow";
    EXPECT_EQ(find(*t, e.key), nullptr);
  }
  EXPECT_EQ(t->size(), kCap);

  // Same idle time, different states: the syn flow (5 s timeout) goes before the
  // established one (60 s), whatever its place in the sample.
  TestTable u(FlowTable::kEvictSample, kTimeouts);
  for (uint32_t i = 0; i < FlowTable::kEvictSample; ++i)
    ASSERT_NE(u->create(key(i), i == 5 ? FlowState::syn_sent : FlowState::established, 0), nullptr);
  ASSERT_NE(u->create(key(100), FlowState::syn_sent, 3000), nullptr);
  ASSERT_EQ(u.log().events.size(), 1u);
  EXPECT_EQ(u.log().events[0].key, key(5));
  EXPECT_EQ(u.log().events[0].state, FlowState::syn_sent);

  // A half-open flow created now (5 s left) against established ones idle 50 s (10 s
  // left) and one idle 58 s (2 s left): the half-open one goes first, then the one
  // nearly gone. (Ranking by idle time over timeout would take the established ones
  // first, and so give up established flows to a SYN flood's young half-open ones.)
  TestTable v(FlowTable::kEvictSample, kTimeouts);
  for (uint32_t i = 0; i < FlowTable::kEvictSample; ++i)
    ASSERT_NE(v->create(key(i), FlowState::established, i == 3 ? 2000 : 10000), nullptr);
  v->set_state(const_cast<Flow*>(&v->entry(6)), FlowState::syn_sent, 60000);
  ASSERT_NE(v->create(key(100), FlowState::established, 60000), nullptr);
  ASSERT_EQ(v.log().events.size(), 1u);
  EXPECT_EQ(v.log().events[0].key, key(3)) << "the flow 2 s from its deadline goes first";
  ASSERT_NE(v->create(key(101), FlowState::established, 60000), nullptr);
  ASSERT_EQ(v.log().events.size(), 2u);
  EXPECT_EQ(v.log().events[1].key, key(6)) << "then the half-open flow, 5 s from its deadline";
  EXPECT_EQ(v->check_invariants(), "");
}

// A flow that was half-open and is established now keeps its old (half-open) deadline
// until eviction or the sweep looks at it: eviction must not take it for a half-open
// flow. And a state change that brings a flow's expiry sooner (established to closing)
// makes it go before established flows.
TEST(FlowTable, EvictionCorrectsDeadlinesLeftBehindByStateChanges) {
  constexpr uint32_t kCap = FlowTable::kEvictSample;
  TestTable t(kCap, kTimeouts);
  std::vector<Flow*> flows;
  for (uint32_t i = 0; i < kCap; ++i) flows.push_back(t->create(key(i), FlowState::syn_sent, 0));
  // All but entry 5 become established at 1 s (expiring at 61 s); entry 5 stays
  // half-open (expiring at 5 s), last in the sample's order among equal deadlines.
  for (uint32_t i = 0; i < kCap; ++i)
    if (i != 5) t->set_state(flows[i], FlowState::established, 1000);
  EXPECT_EQ(t->check_invariants(), "");
  ASSERT_NE(t->create(key(100), FlowState::syn_sent, 2000), nullptr);
  ASSERT_EQ(t.log().events.size(), 1u);
  EXPECT_EQ(t.log().events[0].key, key(5)) << "an established flow was evicted for its old half-open deadline";
  // Entry 2 closes at 3 s (expiring at 6 s, before the new half-open flow's 7 s).
  t->set_state(flows[2], FlowState::closing, 3000);
  ASSERT_NE(t->create(key(101), FlowState::syn_sent, 3000), nullptr);
  ASSERT_EQ(t.log().events.size(), 2u);
  EXPECT_EQ(t.log().events[1].key, key(2)) << "the closing flow expires first";
  EXPECT_EQ(t.log().events[1].state, FlowState::closing);
  EXPECT_EQ(t->check_invariants(), "");
  // The sweep brings the deadlines it passes up to date. Without it, a deadline left
  // behind for more than 2^31 ms would, compared as a signed distance from now, look
  // far ahead: entry 6, touched since its creation at 0 and the first to expire now,
  // would be passed over for a flow with an up-to-date, later deadline.
  constexpr uint32_t kNow = 0x80000000u + 200000;
  TestTable u(kCap, kTimeouts);
  for (uint32_t i = 0; i < kCap; ++i) ASSERT_NE(u->create(key(i), FlowState::established, 0), nullptr);
  u->touch(const_cast<Flow*>(&u->entry(6)), kNow - 50000);  // expires at kNow + 10 s
  for (uint32_t i = 0; i < kCap; ++i)
    if (i != 6) u->remove(const_cast<Flow*>(&u->entry(i)));
  for (uint32_t i = 0; i < kCap - 1; ++i)  // expire at kNow + 59 s, deadlines exact
    ASSERT_NE(u->create(key(200 + i), FlowState::established, kNow - 1000), nullptr);
  ASSERT_EQ(u->size(), kCap);
  EXPECT_EQ(u->expire(kNow, kCap), 0u);
  ASSERT_NE(u->create(key(100), FlowState::established, kNow), nullptr);
  ASSERT_EQ(u.log().events.size(), 1u);
  EXPECT_EQ(u.log().events[0].key, key(6)) << "a deadline older than 2^31 ms was not brought up to date";
  EXPECT_EQ(u->check_invariants(), "");
}

TEST(FlowTable, EvictionAndExpiryAcrossClockWrap) {
  TestTable t(2, kTimeouts);
  const uint32_t before_wrap = 0xfffff000u;
  Flow* a = t->create(key(1), FlowState::established, before_wrap);
  Flow* b = t->create(key(2), FlowState::established, 0x800);  // 0x1800 ms later, after the wrap
  ASSERT_TRUE(a && b);
  ASSERT_NE(t->create(key(3), FlowState::syn_sent, 0x1000), nullptr);
  ASSERT_EQ(t.log().events.size(), 1u);
  EXPECT_EQ(t.log().events[0].key, key(1)) << "the older flow has the larger stamp";

  // The same in a whole sample (compared as one run of deadlines): deadlines on both
  // sides of the wrap, the earliest one before it.
  TestTable w(FlowTable::kEvictSample, kTimeouts);
  for (uint32_t i = 0; i < FlowTable::kEvictSample; ++i)
    ASSERT_NE(w->create(key(i), FlowState::established, i == 4 ? before_wrap - 0x1000 : 0x800 + i), nullptr);
  ASSERT_NE(w->create(key(100), FlowState::syn_sent, 0x1000), nullptr);
  ASSERT_EQ(w.log().events.size(), 1u);
  EXPECT_EQ(w.log().events[0].key, key(4));

  TestTable u(8, kTimeouts);
  Flow* f = u->create(key(1), FlowState::syn_sent, 0u - 1000u);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(u->expire(kTimeouts.syn_ms - 1000 - kGran - 1, 10), 0u);
  EXPECT_EQ(u->expire(kTimeouts.syn_ms - 1000, 10), 1u);
}

// Randomised model check: whatever mix of creates (evicting when full), reverse keys,
// touches, state changes, removals and sweeps, the table holds exactly the flows a
// model holds (the hook reports every flow the table drops), each findable by its keys,
// a dropped flow's keys are gone, and the index's invariants (overflow counts, bucket
// fields, signatures, free list) hold after every operation.
TEST(FlowTable, RandomisedOperationsMatchModel) {
  constexpr uint32_t kCap = 48;
  TestTable t(kCap, kTimeouts);
  std::mt19937 rng(42);
  struct ModelFlow {
    Flow* flow;
    bool has_rev;
    bool client_keyed;
  };
  std::map<uint32_t, ModelFlow> model;  // key number -> flow
  uint32_t now = 0xffff0000u;           // wraps during the test
  uint32_t next_key = 0;
  size_t seen_events = 0;
  auto pick = [&]() {
    auto it = model.begin();
    std::advance(it, static_cast<long>(rng() % model.size()));
    return it;
  };
  auto forget = [&](std::map<uint32_t, ModelFlow>::iterator it) {
    const uint32_t n = it->first;
    model.erase(it);
    EXPECT_EQ(find(*t, key(n)), nullptr) << "a dropped flow's forward key is still found";
    EXPECT_EQ(find(*t, rkey(n)), nullptr) << "a dropped flow's reverse key is still found";
    EXPECT_EQ(find_from_client(*t, key(n)), nullptr) << "a dropped nat flow is still found";
    EXPECT_EQ(find_to_client(*t, rkey(n)), nullptr) << "a dropped nat flow's reply is still found";
  };
  auto absorb_hook_events = [&]() {
    for (; seen_events < t.log().events.size(); ++seen_events) {
      const auto& e = t.log().events[seen_events];
      auto it = model.find(e.key.saddr_be - 0x0a000000u);
      ASSERT_NE(it, model.end()) << "the hook reported a flow the model does not hold";
      forget(it);
    }
  };
  for (int op = 0; op < 20000; ++op) {
    now += 1 + rng() % 300;
    unsigned what = rng() % 12;
    if (what < 4 || model.empty()) {
      uint32_t n = next_key++;
      const bool full = model.size() == kCap;
      const bool client_keyed = rng() % 3 == 0;
      const auto state = static_cast<FlowState>(rng() % 3);
      Flow* f = client_keyed ? create_nat(*t, key(n), rkey(n), state, now) : t->create(key(n), state, now);
      ASSERT_NE(f, nullptr);
      // A full table evicts a batch, one flow per sample (kCap / 16 in this table).
      ASSERT_EQ(t.log().events.size(), seen_events + (full ? kCap / (2 * FlowTable::kEvictSample) : 0)) << "op " << op;
      for (size_t i = seen_events; i < t.log().events.size(); ++i) ASSERT_EQ(t.log().events[i].why, Reason::evicted);
      absorb_hook_events();
      model[n] = {f, false, client_keyed};
      if (!client_keyed && rng() % 2) model[n].has_rev = t->set_reverse(f, rkey(n));
    } else if (what < 7) {
      t->touch(pick()->second.flow, now);
    } else if (what < 9) {
      t->set_state(pick()->second.flow, static_cast<FlowState>(rng() % 3), now);
    } else if (what < 11) {
      auto it = pick();
      t->remove(it->second.flow);
      forget(it);
    } else {
      size_t before = model.size();
      uint32_t removed = t->expire(now, 1 + rng() % 16);
      for (size_t i = seen_events; i < t.log().events.size(); ++i) ASSERT_EQ(t.log().events[i].why, Reason::expired);
      absorb_hook_events();
      ASSERT_EQ(model.size(), before - removed);
    }
    ASSERT_EQ(t->size(), model.size());
    ASSERT_EQ(t->check_invariants(), "") << "op " << op;
  }
  for (const auto& [n, m] : model) {
    bool reply = false;
    if (m.client_keyed) {
      ASSERT_EQ(find_from_client(*t, key(n)), m.flow);
      ASSERT_EQ(find_to_client(*t, rkey(n), &reply), m.flow);
      ASSERT_TRUE(reply);
      ASSERT_EQ(find(*t, key(n)), nullptr);
      continue;
    }
    ASSERT_EQ(find(*t, key(n)), m.flow);
    ASSERT_EQ(find(*t, rkey(n), &reply), m.has_rev ? m.flow : nullptr);
    if (m.has_rev) {
      ASSERT_TRUE(reply);
    }
  }
}

// Keys that do not fit their primary bucket go to their secondary, which the primary's
// overflow count points lookups to; removing them brings the counts back to zero.
TEST(FlowTable, OverflowIntoSecondaryBuckets) {
  constexpr uint32_t kCap = 64;  // 24 buckets, 192 slots: 128 keys
  TestTable t(kCap, kTimeouts);
  // Random keys (sequential ones spread almost perfectly over CRC-chosen buckets).
  std::mt19937 rng(7);
  auto random_key = [&]() {
    return FlowKey{static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()),
                   static_cast<uint16_t>(rng())};
  };
  std::vector<FlowKey> keys;
  std::vector<Flow*> flows;
  uint32_t reversed = 0;
  for (uint32_t i = 0; i < kCap; ++i) {
    keys.push_back(random_key());
    flows.push_back(t->create(keys.back(), FlowState::established, 0));
    ASSERT_NE(flows.back(), nullptr) << i;
    reversed += t->set_reverse(flows.back(), random_key());
  }
  EXPECT_GE(reversed, kCap * 9 / 10);
  EXPECT_GT(t->secondary_keys(), 0u) << "at this load some primaries overflow";
  for (uint32_t i = 0; i < kCap; ++i) {
    bool reply = true;
    ASSERT_EQ(find(*t, keys[i], &reply), flows[i]) << i;
    EXPECT_FALSE(reply);
    // The burst path finds the same, through the secondary when told to.
    FlowTable::Hashed h = t->hash(keys[i]);
    uint32_t c = t->candidate(h);
    if (c == FlowTable::kProbeSecondary) c = t->candidate_secondary(h);
    EXPECT_EQ(t->lookup_from(keys[i], h, c, &reply), flows[i]) << i;
  }
  for (uint32_t i = 0; i < kCap; i += 2) t->remove(flows[i]);
  for (uint32_t i = 1; i < kCap; i += 2) EXPECT_EQ(find(*t, keys[i]), flows[i]) << i;
  for (uint32_t i = 1; i < kCap; i += 2) t->remove(flows[i]);
  EXPECT_EQ(t->size(), 0u);
  EXPECT_EQ(t->secondary_keys(), 0u);
  for (uint32_t i = 0; i < kCap; ++i) EXPECT_EQ(t->candidate(t->hash(keys[i])), FlowTable::kNone) << i;
}

// Under churn (a full table evicting), keys that overflowed stay in their secondary
// bucket; once their primary has room, the sweep brings them home.
TEST(FlowTable, SweepMovesOverflowedKeysHome) {
  constexpr uint32_t kCap = 4096;
  constexpr uint32_t kNever = FlowTable::kMaxTimeoutMs - 1;
  TestTable t(kCap, {kNever, kNever, kNever});  // nothing expires
  std::mt19937 rng(11);
  auto random_key = [&]() {
    return FlowKey{static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()),
                   static_cast<uint16_t>(rng())};
  };
  for (uint32_t i = 0; i < 4 * kCap; ++i) {  // fill, then three turnovers
    Flow* f = t->create(random_key(), FlowState::established, i);
    ASSERT_NE(f, nullptr);
    t->set_reverse(f, random_key());
  }
  const uint32_t piled_up = t->secondary_keys();
  EXPECT_GT(piled_up, 2 * kCap / 20) << "more than 5% of keys away from home after churn";
  ASSERT_EQ(t->check_invariants(), "");
  // Free half the entries, then one sweep round.
  for (uint32_t i = 0; i < kCap; i += 2) {
    Flow* f = const_cast<Flow*>(&t->entry(i));
    if (f->flags & kFlowInUse) t->remove(f);
  }
  const uint32_t before_sweep = t->secondary_keys();
  EXPECT_EQ(t->expire(5 * kCap, kCap), 0u);
  EXPECT_LT(t->secondary_keys(), before_sweep / 4) << "the sweep left most keys away from home";
  EXPECT_EQ(t->check_invariants(), "");
}

// Samples wrap around the table's end: with a capacity that is not a multiple of the
// sample, the last entry is not sampled alone (and so evicted however busy it is).
TEST(FlowTable, EvictionSampleWrapsAroundTheEnd) {
  constexpr uint32_t kCap = FlowTable::kEvictSample + 1;
  TestTable t(kCap, kTimeouts);
  for (uint32_t i = 0; i < kCap; ++i) ASSERT_NE(t->create(key(i), FlowState::established, 0), nullptr);
  t->touch(const_cast<Flow*>(&t->entry(kCap - 1)), 50000);  // the last entry is busy
  for (uint32_t n = 0; n < 4; ++n) {
    ASSERT_NE(t->create(key(100 + n), FlowState::established, 50000), nullptr);
    ASSERT_EQ(t.log().events.size(), n + 1);
    EXPECT_NE(t.log().events.back().key, key(kCap - 1)) << "eviction " << n << " took the busy last entry";
  }
  EXPECT_EQ(t->check_invariants(), "");
}

// The pacer hands out capacity entries per period, spread over the passes.
TEST(SweepPacer, HandsOutTheTableOncePerPeriod) {
  constexpr uint64_t kTscPerMs = 1000;
  SweepPacer pacer(10000, 2000, kTscPerMs, 0);  // 10,000 entries every 2 s: 5 per ms
  uint64_t total = 0;
  uint32_t largest = 0;
  for (uint64_t tsc = 100; tsc <= 2000 * kTscPerMs; tsc += 100) {  // a pass every 0.1 ms
    uint32_t n = pacer.due(tsc);
    total += n;
    largest = std::max(largest, n);
  }
  EXPECT_EQ(total, 10000u);
  EXPECT_LE(largest, 1u) << "half an entry per pass, never a burst";
  // After a stall (a long pass, an idle nap), at most kMaxPerPass at once; the debt is
  // paid over the following passes.
  SweepPacer big(1u << 20, 1000, kTscPerMs, 0);
  uint64_t paid = 0;
  for (int i = 0; i < 200; ++i) {
    uint32_t n = big.due(100 * kTscPerMs);  // 100 ms owe 104857.6 entries
    EXPECT_LE(n, SweepPacer::kMaxPerPass);
    paid += n;
  }
  EXPECT_EQ(paid, 104857u);
  // A pass without packets pays more of the debt at once.
  SweepPacer idle(1u << 20, 1000, kTscPerMs, 0);
  EXPECT_EQ(idle.due(100 * kTscPerMs, true), 65536u);
  EXPECT_EQ(idle.due(100 * kTscPerMs, true), 104857u - 65536u);
  // A stall longer than a round owes one round (every entry once), not more.
  SweepPacer capped(1000, 1000, kTscPerMs, 0);
  uint64_t round = 0;
  for (int i = 0; i < 10; ++i) round += capped.due(60'000 * kTscPerMs);
  EXPECT_EQ(round, 1000u);
}

// The burst path's two-step lookup (candidate, then lookup_from) answers exactly as
// lookup() does: present forward and reverse keys, absent keys, and a candidate whose
// key differs (what a signature collision looks like), which must fall back.
TEST(FlowTable, CandidateLookupMatchesLookup) {
  constexpr uint32_t kCap = 4096;
  TestTable t(kCap, kTimeouts);
  for (uint32_t i = 0; i < kCap / 2; ++i) {
    Flow* f = t->create(key(i), FlowState::established, 0);
    ASSERT_NE(f, nullptr);
    if (i % 2 == 0) {
      ASSERT_TRUE(t->set_reverse(f, rkey(i)));
    }
  }
  uint32_t present = 0, absent = 0, false_candidates = 0;
  for (uint32_t i = 0; i < kCap; ++i)
    for (const FlowKey& k : {key(i), rkey(i)}) {
      FlowTable::Hashed h = t->hash(k);
      uint32_t c = t->candidate(h);
      if (c == FlowTable::kProbeSecondary) c = t->candidate_secondary(h);
      bool r1 = false, r2 = false;
      Flow* expected = t->lookup(k, h, &r1);
      Flow* got = t->lookup_from(k, h, c, &r2);
      ASSERT_EQ(got, expected) << "key " << i;
      if (expected) {
        ASSERT_EQ(r1, r2);
        ++present;
      } else {
        ++absent;
        false_candidates += c != FlowTable::kNone;
      }
    }
  EXPECT_EQ(present, kCap / 2 + kCap / 4);
  EXPECT_GT(absent, 0u);
  EXPECT_LE(false_candidates, absent / 100) << "a matching signature for an absent key is possible but must be rare";
  // A candidate that is another key's entry: lookup_from must not trust it.
  FlowTable::Hashed h0 = t->hash(key(0)), h1 = t->hash(key(1));
  bool reply = true;
  uint32_t other = t->candidate(h1);
  if (other == FlowTable::kProbeSecondary) other = t->candidate_secondary(h1);
  EXPECT_EQ(t->lookup_from(key(0), h0, other, &reply), find(*t, key(0)));
  EXPECT_FALSE(reply);
}

TEST(FlowTable, HundredThousandRandomFlows) {
  constexpr uint32_t kCap = 100000;
  TestTable t(kCap, kTimeouts);
  std::mt19937_64 rng(0x5eed);
  std::vector<FlowKey> fwd, rev;
  std::unordered_set<uint64_t> used;  // hash of keys to keep them distinct
  auto fresh = [&]() {
    for (;;) {
      uint64_t r = rng();
      FlowKey k{static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32), static_cast<uint16_t>(rng()),
                static_cast<uint16_t>(rng() % 4 == 0 ? 0x5000 : rng())};
      uint64_t id = (static_cast<uint64_t>(k.saddr_be) * 0x100000001b3ull) ^ k.daddr_be ^
                    (static_cast<uint64_t>(k.sport_be) << 40) ^ (static_cast<uint64_t>(k.dport_be) << 20);
      if (used.insert(id).second) return k;
    }
  };
  std::vector<Flow*> flows(kCap);
  for (uint32_t i = 0; i < kCap; ++i) {
    fwd.push_back(fresh());
    rev.push_back(fresh());
  }
  for (uint32_t i = 0; i < kCap; ++i) {
    Flow* f = t->create(fwd[i], FlowState::established, i / 100);
    ASSERT_NE(f, nullptr) << "create failed at " << i;
    f->backend_id = static_cast<uint16_t>(i);
    f->vip_id = static_cast<uint16_t>(i >> 16);
    flows[i] = f;
  }
  EXPECT_EQ(t->size(), kCap);
  EXPECT_TRUE(t.log().events.empty()) << "nothing may be evicted below capacity";
  // Reverse keys too: the index is sized for two keys per flow.
  uint32_t reverse_failed = 0;
  std::vector<bool> has_rev(kCap);
  for (uint32_t i = 0; i < kCap; ++i) {
    has_rev[i] = t->set_reverse(flows[i], rev[i]);
    reverse_failed += !has_rev[i];
  }
  EXPECT_LE(reverse_failed, kCap / 1000) << "reverse keys refused at the design load";

  auto id_of = [](const Flow* f) { return static_cast<uint32_t>(f->vip_id) << 16 | f->backend_id; };
  std::set<const Flow*> distinct;
  for (uint32_t i = 0; i < kCap; ++i) {
    bool reply = true;
    Flow* f = t->lookup(fwd[i], &reply);
    ASSERT_NE(f, nullptr) << i;
    ASSERT_EQ(id_of(f), i);
    ASSERT_FALSE(reply);
    ASSERT_EQ(f->fwd, fwd[i]);
    distinct.insert(f);
    if (has_rev[i]) {
      ASSERT_EQ(t->lookup(rev[i], &reply), f) << i;
      ASSERT_TRUE(reply);
    } else {
      ASSERT_EQ(t->lookup(rev[i], &reply), nullptr);
    }
  }
  EXPECT_EQ(distinct.size(), kCap);
  EXPECT_EQ(t->check_invariants(), "");

  // Remove every other flow; the rest must be untouched.
  for (uint32_t i = 0; i < kCap; i += 2) t->remove(flows[i]);
  EXPECT_EQ(t->size(), kCap / 2);
  for (uint32_t i = 0; i < kCap; ++i) {
    bool reply = false;
    Flow* f = t->lookup(fwd[i], &reply);
    if (i % 2 == 0) {
      ASSERT_EQ(f, nullptr) << i;
      ASSERT_EQ(t->lookup(rev[i], &reply), nullptr) << i;
    } else {
      ASSERT_NE(f, nullptr) << i;
      ASSERT_EQ(id_of(f), i);
      if (has_rev[i]) {
        ASSERT_EQ(t->lookup(rev[i], &reply), f);
      }
    }
  }
  // Refill the freed half with new keys.
  std::vector<FlowKey> more;
  for (uint32_t i = 0; i < kCap / 2; ++i) {
    more.push_back(fresh());
    Flow* f = t->create(more.back(), FlowState::syn_sent, 5000);
    ASSERT_NE(f, nullptr) << "refill " << i;
    f->backend_id = 0xffff;
  }
  EXPECT_EQ(t->size(), kCap);
  EXPECT_TRUE(t.log().events.empty());
  EXPECT_EQ(t->check_invariants(), "");
  for (const auto& k : more) {
    bool reply = true;
    Flow* f = t->lookup(k, &reply);
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(f->backend_id, 0xffff);
  }
  for (uint32_t i = 1; i < kCap; i += 2) {
    bool reply = true;
    ASSERT_EQ(id_of(t->lookup(fwd[i], &reply)), i);
  }
}

TEST(FlowTable, FlowStateNames) {
  EXPECT_STREQ(flow_state_name(FlowState::syn_sent), "syn");
  EXPECT_STREQ(flow_state_name(FlowState::established), "established");
  EXPECT_STREQ(flow_state_name(FlowState::closing), "closing");
}

}  // namespace
}  // namespace lb
