// Unit tests for backend_ids.hpp: global backend ids stay with their (VIP, backend)
// across snapshot builds, removed ids are retired, and a retired id is handed out again
// only when fresh ids are exhausted and no open flow uses it.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend_ids.hpp"

namespace lb {
namespace {

Ipv4 A(const char* s) {
  auto a = parse_ipv4(s);
  EXPECT_TRUE(a) << s;
  return a.value_or(Ipv4{});
}

VipConfig vip(const char* addr, uint16_t port) {
  VipConfig v;
  v.address = A(addr);
  v.port = port;
  return v;
}

BackendConfig backend(const char* addr, uint16_t port, uint32_t weight = 1,
                      BackendState state = BackendState::up) {
  BackendConfig b;
  b.address = A(addr);
  b.port = port;
  b.weight = weight;
  b.state = state;
  return b;
}

// Backend i of a large pool: distinct addresses and ports.
BackendConfig nth_backend(uint32_t i) {
  BackendConfig b;
  b.address = Ipv4{0x0a000000u + (i >> 8)};  // 10.0.x.0
  b.port = static_cast<uint16_t>(1000 + (i & 0xff));
  return b;
}

// One build the way App does it: begin_build, id_for for every backend in config
// order, end_build. Returns the ids keyed by "vip:port/backend:port".
std::map<std::string, uint16_t> build(BackendIds& ids, const std::vector<VipConfig>& vips) {
  std::map<std::string, uint16_t> out;
  ids.begin_build();
  for (const VipConfig& v : vips)
    for (const BackendConfig& b : v.backends)
      out[to_string(v.address) + ":" + std::to_string(v.port) + "/" + to_string(b.address) + ":" +
          std::to_string(b.port)] = ids.id_for(v, b);
  ids.end_build();
  return out;
}

std::set<uint16_t> values(const std::map<std::string, uint16_t>& m) {
  std::set<uint16_t> s;
  for (const auto& [k, v] : m) s.insert(v);
  return s;
}

// Open flows per id, as the workers' counters would report them; counts the queries.
struct FakeFlows {
  std::map<uint16_t, uint64_t> open;
  std::vector<uint16_t> asked;
  BackendIds::OpenFlowsFn fn() {
    return [this](uint16_t id) {
      asked.push_back(id);
      auto it = open.find(id);
      return it == open.end() ? uint64_t{0} : it->second;
    };
  }
};

TEST(BackendIds, IdsAreDistinctAndStayAcrossBuilds) {
  FakeFlows flows;
  BackendIds ids(flows.fn());
  VipConfig web = vip("198.18.0.100", 80), tls = vip("198.18.0.100", 443);
  web.backends = {backend("198.18.1.11", 8080), backend("198.18.1.12", 8080), backend("198.18.1.13", 8080)};
  // The same server behind another VIP is another backend (own counters, own id).
  tls.backends = {backend("198.18.1.11", 8080), backend("198.18.1.11", 8443)};
  auto first = build(ids, {web, tls});
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(values(first).size(), 5u) << "every backend has its own id";
  for (uint16_t id : values(first)) EXPECT_LT(id, kMaxBackends);
  EXPECT_EQ(ids.live(), 5u);

  // Reordered VIPs and backends, changed weights and states: same ids.
  std::swap(web.backends[0], web.backends[2]);
  web.backends[1].weight = 7;
  web.backends[0].state = BackendState::drain;
  tls.backends[1].state = BackendState::maintenance;
  tls.backends[0].weight = 0;
  tls.scheduler = SchedKind::maglev;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(build(ids, {tls, web}), first) << "build " << i;
  EXPECT_EQ(ids.live(), 5u);
  EXPECT_TRUE(flows.asked.empty()) << "no retired id was needed";
}

TEST(BackendIds, NewBackendGetsAFreshIdNeverALiveOne) {
  FakeFlows flows;
  BackendIds ids(flows.fn());
  VipConfig web = vip("198.18.0.100", 80);
  web.backends = {backend("198.18.1.11", 80), backend("198.18.1.12", 80)};
  auto before = build(ids, {web});
  std::set<uint16_t> seen = values(before);
  for (int i = 0; i < 50; ++i) {
    web.backends.push_back(nth_backend(i));
    auto now = build(ids, {web});
    for (const auto& [k, id] : before) EXPECT_EQ(now.at(k), id) << k;
    EXPECT_EQ(values(now).size(), now.size()) << "no two live backends share an id";
    ASSERT_EQ(now.size(), before.size() + 1);
    std::vector<uint16_t> fresh;
    for (const auto& [k, id] : now)
      if (!before.count(k)) fresh.push_back(id);
    ASSERT_EQ(fresh.size(), 1u);
    EXPECT_FALSE(seen.count(fresh[0])) << "fresh id " << fresh[0] << " was handed out before";
    seen.insert(fresh[0]);
    before = now;
  }
  EXPECT_EQ(ids.live(), 52u);
}

TEST(BackendIds, RemovedIdIsRetiredAndNotReusedWhileFreshIdsRemain) {
  FakeFlows flows;  // no open flows at all: reuse would be "safe", but fresh ids come first
  BackendIds ids(flows.fn());
  VipConfig web = vip("198.18.0.100", 80);
  web.backends = {backend("198.18.1.11", 80), backend("198.18.1.12", 80), backend("198.18.1.13", 80)};
  auto first = build(ids, {web});
  const uint16_t removed = first.at("198.18.0.100:80/198.18.1.12:80");

  web.backends.erase(web.backends.begin() + 1);
  auto second = build(ids, {web});
  EXPECT_EQ(second.size(), 2u);
  EXPECT_EQ(ids.live(), 2u) << "the removed backend is no longer live";
  EXPECT_EQ(second.at("198.18.0.100:80/198.18.1.11:80"), first.at("198.18.0.100:80/198.18.1.11:80"));
  EXPECT_EQ(second.at("198.18.0.100:80/198.18.1.13:80"), first.at("198.18.0.100:80/198.18.1.13:80"));

  // New backends, and the removed one back again: all fresh ids, none the retired one.
  for (int i = 0; i < 20; ++i) {
    web.backends.push_back(nth_backend(i));
    if (i == 5) web.backends.push_back(backend("198.18.1.12", 80));
    auto now = build(ids, {web});
    for (const auto& [k, id] : now) EXPECT_NE(id, removed) << k << " got the retired id " << removed;
    second = now;
  }
  EXPECT_NE(second.at("198.18.0.100:80/198.18.1.12:80"), removed) << "a re-added backend gets a new id";
  EXPECT_TRUE(flows.asked.empty()) << "open flows of retired ids are not consulted while fresh ids remain";
}

// A change is built on a copy and committed only if the snapshot builds (App::publish).
TEST(BackendIds, FailedBuildOnACopyLeavesTheOriginalUntouched) {
  FakeFlows flows;
  BackendIds ids(flows.fn());
  VipConfig pool = vip("198.18.0.100", 80);
  for (uint32_t i = 0; i < kMaxBackends; ++i) pool.backends.push_back(nth_backend(i));
  auto full = build(ids, {pool});
  VipConfig extra = vip("198.18.0.101", 80);
  extra.backends = {backend("198.18.1.99", 80)};

  BackendIds trial = ids;
  trial.begin_build();
  EXPECT_THROW(
      {
        for (const BackendConfig& b : pool.backends) trial.id_for(pool, b);
        trial.id_for(extra, extra.backends[0]);
      },
      std::runtime_error);
  EXPECT_EQ(ids.live(), kMaxBackends);
  EXPECT_EQ(build(ids, {pool}), full);
}

TEST(BackendIds, RetiredIdsAreReusedOnlyWhenFreshOnesAreExhaustedAndTheirFlowsEnded) {
  FakeFlows flows;
  BackendIds ids(flows.fn());
  VipConfig pool = vip("198.18.0.100", 80);
  for (uint32_t i = 0; i < kMaxBackends; ++i) pool.backends.push_back(nth_backend(i));
  auto full = build(ids, {pool});
  ASSERT_EQ(values(full).size(), kMaxBackends);
  EXPECT_EQ(*values(full).begin(), 0);
  EXPECT_EQ(*values(full).rbegin(), kMaxBackends - 1) << "ids are 0..4095";
  EXPECT_TRUE(flows.asked.empty());

  // Every id is live: one more backend has none.
  VipConfig extra = vip("198.18.0.101", 80);
  extra.backends = {backend("198.18.1.1", 80)};
  {
    BackendIds trial = ids;
    EXPECT_THROW(build(trial, {pool, extra}), std::runtime_error);
  }

  // A backend removed in this very build is still live until end_build (the published
  // snapshot still uses it), so replacing one in a single change cannot take its id.
  {
    BackendIds trial = ids;
    VipConfig smaller = pool;
    smaller.backends.erase(smaller.backends.begin() + 10);
    EXPECT_THROW(build(trial, {smaller, extra}), std::runtime_error);
  }

  // Remove two backends; their ids are retired (10 first, then 20 in retirement order).
  const uint16_t id10 = full.at("198.18.0.100:80/" + to_string(nth_backend(10).address) + ":" +
                                std::to_string(nth_backend(10).port));
  const uint16_t id20 = full.at("198.18.0.100:80/" + to_string(nth_backend(20).address) + ":" +
                                std::to_string(nth_backend(20).port));
  VipConfig smaller = pool;
  smaller.backends.erase(smaller.backends.begin() + 20);
  smaller.backends.erase(smaller.backends.begin() + 10);
  build(ids, {smaller});
  EXPECT_EQ(ids.live(), kMaxBackends - 2u);

  // id10 still has open flows, id20 has none: the new backend gets id20.
  flows.open[id10] = 3;
  flows.open[id20] = 0;
  auto with_extra = build(ids, {smaller, extra});
  EXPECT_EQ(with_extra.at("198.18.0.101:80/198.18.1.1:80"), id20);
  EXPECT_FALSE(flows.asked.empty()) << "open flows were consulted";
  for (uint16_t asked : flows.asked) EXPECT_TRUE(asked == id10 || asked == id20) << "asked about live id " << asked;
  EXPECT_EQ(ids.live(), kMaxBackends - 1u);

  // The next one would need id10, whose flows are still open: refused.
  VipConfig extra2 = vip("198.18.0.102", 80);
  extra2.backends = {backend("198.18.1.2", 80)};
  {
    BackendIds trial = ids;
    EXPECT_THROW(build(trial, {smaller, extra, extra2}), std::runtime_error);
  }
  // Its last flow ends: now id10 is handed out, and existing ids stay.
  flows.open[id10] = 0;
  auto with_both = build(ids, {smaller, extra, extra2});
  EXPECT_EQ(with_both.at("198.18.0.102:80/198.18.1.2:80"), id10);
  EXPECT_EQ(with_both.at("198.18.0.101:80/198.18.1.1:80"), id20);
  EXPECT_EQ(values(with_both).size(), kMaxBackends);
  for (const auto& [k, id] : with_both) {
    if (full.count(k)) {
      EXPECT_EQ(id, full.at(k)) << k;
    }
  }

  // Nothing retired is left: one more backend has no id.
  VipConfig extra3 = vip("198.18.0.103", 80);
  extra3.backends = {backend("198.18.1.3", 80)};
  BackendIds trial = ids;
  EXPECT_THROW(build(trial, {smaller, extra, extra2, extra3}), std::runtime_error);
}

// The oldest retired id whose flows have ended goes first.
TEST(BackendIds, OldestReusableRetiredIdFirst) {
  FakeFlows flows;
  BackendIds ids(flows.fn());
  VipConfig pool = vip("198.18.0.100", 80);
  for (uint32_t i = 0; i < kMaxBackends; ++i) pool.backends.push_back(nth_backend(i));
  auto full = build(ids, {pool});
  auto id_of = [&](uint32_t i) {
    return full.at("198.18.0.100:80/" + to_string(nth_backend(i).address) + ":" + std::to_string(nth_backend(i).port));
  };
  // Retire 300 first, then 7 (separate builds).
  VipConfig v = pool;
  v.backends.erase(v.backends.begin() + 300);
  build(ids, {v});
  v.backends.erase(v.backends.begin() + 7);
  build(ids, {v});
  VipConfig extra = vip("198.18.0.101", 80);
  extra.backends = {backend("198.18.1.1", 80)};
  auto r = build(ids, {v, extra});
  EXPECT_EQ(r.at("198.18.0.101:80/198.18.1.1:80"), id_of(300));
}

}  // namespace
}  // namespace lb
