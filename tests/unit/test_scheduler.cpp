// Unit tests for scheduler.hpp: rr, wrr, lc, wlc, maglev, sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "maglev.hpp"
#include "scheduler.hpp"

namespace lb {
namespace {

// Backends get global ids unrelated to their index, to catch id/index mix-ups.
constexpr uint16_t kIdBase = 300;

struct Vip {
  std::vector<SchedBackend> backends;
  std::vector<uint16_t> table;
  SchedState state;
  std::vector<uint32_t> open;  // indexed by global backend id

  explicit Vip(std::vector<std::pair<uint32_t, bool>> spec) {
    for (size_t i = 0; i < spec.size(); ++i)
      backends.push_back({spec[i].first, static_cast<uint16_t>(kIdBase + 7 * i), spec[i].second});
    state.weight_current.assign(backends.size(), 0);
    open.assign(kIdBase + 7 * spec.size() + 1, 0);
  }
  // All eligible, these weights.
  static Vip weights(std::vector<uint32_t> w) {
    std::vector<std::pair<uint32_t, bool>> spec;
    for (uint32_t x : w) spec.push_back({x, true});
    return Vip(spec);
  }
  SchedVip view() const {
    return {backends.data(), static_cast<uint16_t>(backends.size()), table.empty() ? nullptr : table.data(),
            static_cast<uint32_t>(table.size())};
  }
  uint32_t& open_of(size_t index) { return open[backends[index].id]; }
  static uint32_t read_open(const void* ctx, uint16_t id) {
    const auto* v = static_cast<const std::vector<uint32_t>*>(ctx);
    return v->at(id);
  }
  int pick(SchedKind kind, uint64_t flow_hash = 0, uint64_t client_hash = 0) {
    SchedInput in{flow_hash, client_hash, &Vip::read_open, &open};
    return sched_pick(kind, view(), state, in);
  }
};

TEST(Sched, ParseAndNameRoundTrip) {
  const std::pair<const char*, SchedKind> all[] = {{"rr", SchedKind::rr},   {"wrr", SchedKind::wrr},
                                                   {"lc", SchedKind::lc},   {"wlc", SchedKind::wlc},
                                                   {"maglev", SchedKind::maglev}, {"sh", SchedKind::sh}};
  for (const auto& [name, kind] : all) {
    auto k = parse_sched(name);
    ASSERT_TRUE(k.has_value()) << name;
    EXPECT_EQ(*k, kind) << name;
    EXPECT_STREQ(sched_name(kind), name);
    EXPECT_EQ(parse_sched(sched_name(kind)), kind);
  }
  for (const char* bad : {"", "RR", "round-robin", "wrr ", "lcx", "mag", "source-hash"})
    EXPECT_FALSE(parse_sched(bad).has_value()) << '"' << bad << '"';
  EXPECT_TRUE(sched_is_consistent(SchedKind::maglev));
  EXPECT_TRUE(sched_is_consistent(SchedKind::sh));
  for (auto k : {SchedKind::rr, SchedKind::wrr, SchedKind::lc, SchedKind::wlc}) EXPECT_FALSE(sched_is_consistent(k));
}

TEST(Sched, NoEligibleBackend) {
  for (auto kind : {SchedKind::rr, SchedKind::wrr, SchedKind::lc, SchedKind::wlc, SchedKind::maglev, SchedKind::sh}) {
    SCOPED_TRACE(sched_name(kind));
    Vip empty(std::vector<std::pair<uint32_t, bool>>{});
    EXPECT_EQ(empty.pick(kind, 1, 2), kNoBackend);
    if (kind == SchedKind::maglev || kind == SchedKind::sh) {
      // No table (built from no eligible backend) means no backend.
      Vip v({{1, false}, {1, false}});
      EXPECT_EQ(v.pick(kind, 12345, 678), kNoBackend);
      continue;
    }
    Vip v({{1, false}, {0, true}, {5, false}, {0, false}});
    for (int i = 0; i < 10; ++i) EXPECT_EQ(v.pick(kind), kNoBackend);
  }
}

TEST(Sched, RoundRobinCyclesEvenly) {
  Vip v = Vip::weights({1, 1, 1, 1});
  std::vector<int> seen;
  for (int i = 0; i < 400; ++i) seen.push_back(v.pick(SchedKind::rr));
  // Every window of 4 consecutive picks is a permutation of the 4 backends.
  for (size_t i = 0; i + 4 <= seen.size(); ++i) {
    std::vector<int> w(seen.begin() + static_cast<long>(i), seen.begin() + static_cast<long>(i) + 4);
    std::sort(w.begin(), w.end());
    ASSERT_EQ(w, (std::vector<int>{0, 1, 2, 3})) << "at " << i;
  }
}

TEST(Sched, RoundRobinSkipsIneligibleAndWeightZero) {
  // Weights other than zero do not matter to rr.
  Vip v({{1, true}, {1, false}, {9, true}, {0, true}, {2, true}, {3, false}});
  std::map<int, int> count;
  int prev = -2;
  for (int i = 0; i < 300; ++i) {
    int p = v.pick(SchedKind::rr);
    ASSERT_TRUE(p == 0 || p == 2 || p == 4) << p;
    EXPECT_NE(p, prev) << "repeated a backend while others were eligible";
    prev = p;
    ++count[p];
  }
  EXPECT_EQ(count[0], 100);
  EXPECT_EQ(count[2], 100);
  EXPECT_EQ(count[4], 100);
  // A backend coming back is picked again; one going away is not.
  v.backends[1].eligible = true;
  v.backends[0].eligible = false;
  count.clear();
  for (int i = 0; i < 300; ++i) ++count[v.pick(SchedKind::rr)];
  EXPECT_EQ(count[0], 0);
  EXPECT_EQ(count[1], 100);
  EXPECT_EQ(count[2], 100);
  EXPECT_EQ(count[4], 100);
}

// The per-lcore cursor outlives a snapshot: after the backend list shrinks, a cursor past
// its end starts again at the first backend (rr and the lc tie-break alike).
TEST(Sched, CursorPastAShrunkListStartsAgain) {
  for (auto kind : {SchedKind::rr, SchedKind::lc}) {
    Vip v = Vip::weights({1, 1, 1});
    v.state.cursor = 7;
    EXPECT_EQ(v.pick(kind), 0) << sched_name(kind);
    EXPECT_EQ(v.pick(kind), 1) << sched_name(kind);
    EXPECT_EQ(v.pick(kind), 2) << sched_name(kind);
    EXPECT_EQ(v.pick(kind), 0) << sched_name(kind);
  }
}

TEST(Sched, SmoothWeightedRoundRobinSequence) {
  Vip v = Vip::weights({5, 1, 1});
  std::string seq;
  for (int i = 0; i < 7; ++i) seq += static_cast<char>('a' + v.pick(SchedKind::wrr));
  EXPECT_EQ(seq, "aabacaa");
  // The pattern repeats with period 7, so every window of 7 has counts 5, 1, 1, and
  // b and c are never picked back to back.
  for (int i = 0; i < 700; ++i) seq += static_cast<char>('a' + v.pick(SchedKind::wrr));
  for (size_t i = 0; i + 7 <= seq.size(); ++i) {
    std::string w = seq.substr(i, 7);
    ASSERT_EQ(std::count(w.begin(), w.end(), 'a'), 5) << w;
    ASSERT_EQ(std::count(w.begin(), w.end(), 'b'), 1) << w;
    ASSERT_EQ(std::count(w.begin(), w.end(), 'c'), 1) << w;
  }
  EXPECT_EQ(seq.find("bb"), std::string::npos);
  EXPECT_EQ(seq.find("cc"), std::string::npos);
  EXPECT_EQ(seq.find("aaaaa"), std::string::npos) << "not an even interleaving";
}

TEST(Sched, SmoothWeightedNeverRepeatsWithEqualWeights) {
  Vip v = Vip::weights({3, 3, 3});
  int prev = -1;
  for (int i = 0; i < 99; ++i) {
    int p = v.pick(SchedKind::wrr);
    EXPECT_NE(p, prev);
    prev = p;
  }
}

TEST(Sched, WeightedProportionsOverManyPicks) {
  struct Case {
    std::vector<std::pair<uint32_t, bool>> spec;
  } cases[] = {
      {{{5, true}, {1, true}, {1, true}}},
      {{{7, true}, {3, true}, {1, true}, {9, true}}},
      {{{100, true}, {1, true}}},
      {{{3, true}, {0, true}, {2, true}, {4, false}}},  // weight 0 and ineligible get nothing
      {{{1000, true}, {999, true}, {1, true}, {50, true}, {13, true}}},
  };
  for (const auto& c : cases) {
    Vip v(c.spec);
    uint64_t total = 0;
    for (const auto& b : v.backends) total += (b.eligible ? b.weight : 0);
    const int picks = 10000;
    std::vector<int> count(v.backends.size(), 0);
    for (int i = 0; i < picks; ++i) {
      int p = v.pick(SchedKind::wrr);
      ASSERT_GE(p, 0);
      ++count[static_cast<size_t>(p)];
    }
    for (size_t i = 0; i < v.backends.size(); ++i) {
      const auto& b = v.backends[i];
      double want = b.eligible ? static_cast<double>(b.weight) / total : 0.0;
      EXPECT_NEAR(static_cast<double>(count[i]) / picks, want, 0.01) << "backend " << i << " weight " << b.weight;
      if (want == 0.0) {
        EXPECT_EQ(count[i], 0);
      }
    }
  }
}

TEST(Sched, SmoothWeightedIsSmoothForRandomWeights) {
  // Over any prefix of the sequence, no backend is ahead of or behind its ideal share
  // by as much as the number of backends (the smooth algorithm's interleaving).
  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    size_t n = 2 + rng() % 6;
    std::vector<uint32_t> w;
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) w.push_back(1 + rng() % 20), total += w.back();
    Vip v = Vip::weights(w);
    std::vector<int> count(n, 0);
    for (uint64_t k = 1; k <= 3 * total; ++k) {
      ++count[static_cast<size_t>(v.pick(SchedKind::wrr))];
      for (size_t i = 0; i < n; ++i) {
        double ideal = static_cast<double>(k) * w[i] / total;
        ASSERT_LT(std::abs(count[i] - ideal), static_cast<double>(n)) << "trial " << trial << " k " << k;
      }
    }
    // Whole periods are exact.
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(count[i], static_cast<int>(3 * w[i]));
  }
}

TEST(Sched, LeastConnectionsPicksFewestOpen) {
  Vip v({{1, true}, {1, true}, {1, true}, {1, false}, {0, true}});
  v.open_of(0) = 5;
  v.open_of(1) = 2;
  v.open_of(2) = 7;
  v.open_of(3) = 0;  // ineligible
  v.open_of(4) = 0;  // weight 0
  for (int i = 0; i < 10; ++i) EXPECT_EQ(v.pick(SchedKind::lc), 1);
  v.open_of(1) = 9;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(v.pick(SchedKind::lc), 0);
  // lc ignores weights other than zero.
  v.backends[2].weight = 1000;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(v.pick(SchedKind::lc), 0);
}

// A backend back from the dead in slow start (lbcp's percent) must not take every new
// flow just because it has none open: lc counts its open flows as open/percent.
TEST(Sched, LeastConnectionsSlowStartGatesAReturningBackend) {
  Vip v({{100, true}, {100, true}});
  v.backends[1].percent = 10;
  v.open_of(0) = 50;
  v.open_of(1) = 4;  // 4 / 10 % = 40 "full" flows < 50
  EXPECT_EQ(v.pick(SchedKind::lc), 1);
  v.open_of(1) = 6;  // 60 > 50: the full-weight backend takes it, though 6 < 50
  EXPECT_EQ(v.pick(SchedKind::lc), 0);
  v.backends[1].percent = 100;  // ramp done: plain fewest-open again
  EXPECT_EQ(v.pick(SchedKind::lc), 1);
}

TEST(Sched, LeastConnectionsTiesSpreadRoundRobin) {
  // Fixed counts (e.g. other lcores' flows not yet visible): the tied backends must
  // share picks evenly, whatever sits between them in the list.
  {
    Vip v({{1, true}, {1, true}, {1, false}, {1, true}, {1, true}});
    v.open_of(0) = 4;  // busier than the rest
    v.open_of(1) = 1;
    v.open_of(3) = 1;
    v.open_of(4) = 1;
    std::map<int, int> count;
    for (int i = 0; i < 300; ++i) ++count[v.pick(SchedKind::lc)];
    EXPECT_EQ(count.size(), 3u);
    EXPECT_EQ(count[1], 100);
    EXPECT_EQ(count[3], 100);
    EXPECT_EQ(count[4], 100);
  }
  {
    // All tied: strict rotation.
    Vip v = Vip::weights({1, 1, 1});
    for (int i = 0; i < 30; ++i) EXPECT_EQ(v.pick(SchedKind::lc), i % 3);
  }
  {
    // wlc ties (equal open/weight) rotate as well.
    Vip v({{2, true}, {1, false}, {1, true}, {4, true}});
    v.open_of(0) = 2;
    v.open_of(2) = 1;
    v.open_of(3) = 4;
    std::map<int, int> count;
    for (int i = 0; i < 300; ++i) ++count[v.pick(SchedKind::wlc)];
    EXPECT_EQ(count[0], 100);
    EXPECT_EQ(count[2], 100);
    EXPECT_EQ(count[3], 100);
  }
}

TEST(Sched, LeastConnectionsBalancesAsFlowsOpen) {
  Vip v = Vip::weights({1, 1, 1, 1, 1});
  for (int i = 0; i < 500; ++i) {
    int p = v.pick(SchedKind::lc);
    ASSERT_GE(p, 0);
    ++v.open_of(static_cast<size_t>(p));
    uint32_t lo = ~0u, hi = 0;
    for (size_t b = 0; b < 5; ++b) lo = std::min(lo, v.open_of(b)), hi = std::max(hi, v.open_of(b));
    ASSERT_LE(hi - lo, 1u) << "pick " << i;
  }
}

TEST(Sched, WeightedLeastConnections) {
  Vip v = Vip::weights({1, 2, 4});
  v.open_of(0) = 10;
  v.open_of(1) = 10;
  v.open_of(2) = 10;  // 10/1, 10/2, 10/4
  EXPECT_EQ(v.pick(SchedKind::wlc), 2);
  v.open_of(0) = 1;
  v.open_of(1) = 3;
  v.open_of(2) = 5;  // 1, 1.5, 1.25
  EXPECT_EQ(v.pick(SchedKind::wlc), 0);
  v.open_of(0) = 3;
  v.open_of(1) = 5;
  v.open_of(2) = 11;  // 3, 2.5, 2.75
  EXPECT_EQ(v.pick(SchedKind::wlc), 1);
  // lc on the same counts ignores the weights.
  EXPECT_EQ(v.pick(SchedKind::lc), 0);

  // Opening flows as picked converges to shares proportional to weight.
  Vip w({{1, true}, {2, true}, {4, true}, {8, false}, {0, true}});
  for (int i = 0; i < 7000; ++i) {
    int p = w.pick(SchedKind::wlc);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 3);
    ++w.open_of(static_cast<size_t>(p));
  }
  EXPECT_NEAR(w.open_of(0), 1000, 2);
  EXPECT_NEAR(w.open_of(1), 2000, 2);
  EXPECT_NEAR(w.open_of(2), 4000, 2);
}

TEST(Sched, WeightedLeastConnectionsHugeCountsDoNotOverflow) {
  Vip v = Vip::weights({65535, 1});
  v.open_of(0) = 4'000'000'000u;  // 4e9 / 65535 ~ 61036 per unit of weight
  v.open_of(1) = 61'000;          // 61000 per unit of weight: fewer
  EXPECT_EQ(v.pick(SchedKind::wlc), 1);
  v.open_of(1) = 62'000;
  EXPECT_EQ(v.pick(SchedKind::wlc), 0);
}

TEST(Sched, MaglevAndShUseTheTableEntryOfTheHash) {
  Vip v = Vip::weights({1, 1, 1});
  // A hand-made table (indices into backends), prime size.
  v.table = {2, 0, 1, 1, 0, 2, 2, 1, 0, 0, 2};
  std::mt19937_64 rng(9);
  for (int i = 0; i < 2000; ++i) {
    uint64_t fh = rng(), ch = rng();
    EXPECT_EQ(v.pick(SchedKind::maglev, fh, ch), v.table[fh % v.table.size()]);
    EXPECT_EQ(v.pick(SchedKind::sh, fh, ch), v.table[ch % v.table.size()]);
  }
}

// sched_pick() inlines rr, maglev and sh; the engine table (sched_pick_out_of_line)
// serves every kind too, and both must choose alike, state included.
TEST(Sched, InlinePicksAgreeWithTheEngineTable) {
  for (auto kind : {SchedKind::rr, SchedKind::wrr, SchedKind::lc, SchedKind::wlc, SchedKind::maglev, SchedKind::sh}) {
    SCOPED_TRACE(sched_name(kind));
    Vip a({{3, true}, {1, false}, {2, true}, {0, true}, {5, true}});
    a.table = {2, 0, 4, 4, 0, 2, 2, 4, 0, 0, 2};
    Vip b = a;
    std::mt19937_64 rng(5);
    for (int i = 0; i < 200; ++i) {
      const uint64_t fh = rng(), ch = rng();
      a.open_of(i % 5) += 1;
      b.open_of(i % 5) += 1;
      const int inline_pick = a.pick(kind, fh, ch);
      SchedInput in{fh, ch, &Vip::read_open, &b.open};
      ASSERT_EQ(inline_pick, sched_pick_out_of_line(kind, b.view(), b.state, in)) << "pick " << i;
      ASSERT_NE(inline_pick, kNoBackend);
      EXPECT_TRUE(a.backends[inline_pick].eligible && a.backends[inline_pick].weight > 0);
    }
    EXPECT_EQ(a.state.cursor, b.state.cursor);
  }
}

TEST(Sched, ShDependsOnlyOnTheClient) {
  Vip v = Vip::weights({1, 1, 1, 1});
  std::vector<MaglevBackend> mb;
  for (size_t i = 0; i < v.backends.size(); ++i) mb.push_back({0x1000 + i * 0x9e37, 1});
  v.table = build_maglev_table(mb, kMaglevDefaultSize);
  std::mt19937_64 rng(21);
  for (int c = 0; c < 200; ++c) {
    uint64_t client = rng();
    int first = v.pick(SchedKind::sh, rng(), client);
    ASSERT_GE(first, 0);
    ASSERT_LT(first, 4);
    std::set<int> maglev_picks;
    for (int f = 0; f < 30; ++f) {
      uint64_t flow = rng();
      ASSERT_EQ(v.pick(SchedKind::sh, flow, client), first) << "sh changed with the flow hash";
      maglev_picks.insert(v.pick(SchedKind::maglev, flow, client));
    }
    // maglev follows the flow hash: 30 flows of one client spread over backends.
    EXPECT_GT(maglev_picks.size(), 1u);
  }
  // Picks do not depend on per-lcore state either: a fresh state agrees.
  Vip other = v;
  other.state = SchedState{};
  other.state.weight_current.assign(4, 0);
  for (int i = 0; i < 100; ++i) {
    uint64_t fh = rng(), ch = rng();
    EXPECT_EQ(other.pick(SchedKind::maglev, fh, ch), v.pick(SchedKind::maglev, fh, ch));
    EXPECT_EQ(other.pick(SchedKind::sh, fh, ch), v.pick(SchedKind::sh, fh, ch));
  }
}

}  // namespace
}  // namespace lb
