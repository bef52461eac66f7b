// Unit tests for maglev.hpp: weighted Maglev lookup tables.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "maglev.hpp"

namespace lb {
namespace {

constexpr uint32_t kSize = kMaglevDefaultSize;

std::vector<MaglevBackend> random_backends(size_t n, uint64_t seed, uint32_t weight = 1) {
  std::mt19937_64 rng(seed);
  std::vector<MaglevBackend> v;
  for (size_t i = 0; i < n; ++i) v.push_back({rng(), weight});
  return v;
}

std::vector<size_t> counts(const std::vector<uint16_t>& table, size_t n) {
  std::vector<size_t> c(n, 0);
  for (uint16_t e : table) {
    EXPECT_LT(e, n);
    if (e < n) ++c[e];
  }
  return c;
}

// Per-slot backend identity (the key), so tables built from different lists compare.
std::vector<uint64_t> owners(const std::vector<uint16_t>& table, const std::vector<MaglevBackend>& b) {
  std::vector<uint64_t> o(table.size());
  for (size_t i = 0; i < table.size(); ++i) o[i] = b.at(table[i]).key;
  return o;
}

TEST(Maglev, IsPrime) {
  // Independent reference: a sieve.
  const uint32_t limit = 70000;
  std::vector<bool> composite(limit + 1, false);
  composite[0] = composite[1] = true;
  for (uint32_t i = 2; i * i <= limit; ++i)
    if (!composite[i])
      for (uint32_t j = i * i; j <= limit; j += i) composite[j] = true;
  for (uint32_t n = 0; n <= limit; ++n) ASSERT_EQ(is_prime(n), !composite[n]) << n;
  EXPECT_TRUE(is_prime(65537));
  EXPECT_TRUE(is_prime(16777213));     // 2^24 - 3
  EXPECT_FALSE(is_prime(16777215));    // 2^24 - 1 = 3 * 5 * 17 * 257
  EXPECT_TRUE(is_prime(4294967291u));  // largest 32-bit prime
  EXPECT_FALSE(is_prime(4294967295u));
  EXPECT_FALSE(is_prime(65537u * 3));
  EXPECT_FALSE(is_prime(65521u * 65519u));  // product of two primes
}

TEST(Maglev, TableIsFullAndValid) {
  for (size_t n : {1u, 2u, 3u, 10u, 100u}) {
    auto b = random_backends(n, 1000 + n);
    auto t = build_maglev_table(b, kSize);
    ASSERT_EQ(t.size(), kSize);
    auto c = counts(t, n);
    for (size_t i = 0; i < n; ++i) EXPECT_GT(c[i], 0u) << "backend " << i << " of " << n;
  }
}

TEST(Maglev, EmptyBackendListGivesEmptyTable) { EXPECT_TRUE(build_maglev_table({}, kSize).empty()); }

TEST(Maglev, NonPrimeSizeThrows) {
  auto b = random_backends(3, 1);
  EXPECT_THROW(build_maglev_table(b, 65536), std::invalid_argument);
  EXPECT_THROW(build_maglev_table(b, 65535), std::invalid_argument);
  EXPECT_THROW(build_maglev_table(b, 1), std::invalid_argument);
  EXPECT_THROW(build_maglev_table(b, 0), std::invalid_argument);
  EXPECT_NO_THROW(build_maglev_table(b, 65539));
  EXPECT_EQ(build_maglev_table(b, 251).size(), 251u);
}

TEST(Maglev, EqualWeightsShareEvenly) {
  for (size_t n : {2u, 3u, 5u, 7u, 16u, 50u}) {
    auto b = random_backends(n, 77 + n);
    auto c = counts(build_maglev_table(b, kSize), n);
    const double ideal = static_cast<double>(kSize) / n;
    for (size_t i = 0; i < n; ++i)
      EXPECT_NEAR(c[i], ideal, ideal * 0.03) << "backend " << i << " of " << n;
  }
}

TEST(Maglev, WeightsGiveProportionalShares) {
  struct Case {
    std::vector<uint32_t> weights;
  } cases[] = {{{1, 2, 3}}, {{10, 20, 30}}, {{1, 1, 4}}, {{3, 5, 7, 11}}, {{100, 1}}};
  uint64_t seed = 5;
  for (const auto& c : cases) {
    std::mt19937_64 rng(seed++);
    std::vector<MaglevBackend> b;
    uint64_t total = 0;
    for (uint32_t w : c.weights) b.push_back({rng(), w}), total += w;
    auto cnt = counts(build_maglev_table(b, kSize), b.size());
    for (size_t i = 0; i < b.size(); ++i) {
      double ideal = static_cast<double>(kSize) * c.weights[i] / total;
      EXPECT_NEAR(cnt[i], ideal, std::max(ideal * 0.03, 20.0)) << "weight " << c.weights[i] << " case " << seed;
    }
  }
}

TEST(Maglev, SameInputSameTable) {
  auto b = random_backends(13, 99);
  b[3].weight = 4;
  auto t1 = build_maglev_table(b, kSize);
  auto t2 = build_maglev_table(b, kSize);
  EXPECT_EQ(t1, t2);
  // A copy of the input (another process, another appliance) gives the same table too.
  std::vector<MaglevBackend> copy(b.begin(), b.end());
  EXPECT_EQ(build_maglev_table(copy, kSize), t1);
  // And different keys give a different table.
  copy[0].key ^= 1;
  EXPECT_NE(build_maglev_table(copy, kSize), t1);
}

TEST(Maglev, RemovingABackendMovesAboutOneNth) {
  for (size_t n : {5u, 10u, 20u}) {
    for (uint64_t trial = 0; trial < 3; ++trial) {
      auto all = random_backends(n, 1000 * n + trial);
      const size_t gone = static_cast<size_t>(trial * 7 % n);
      auto fewer = all;
      fewer.erase(fewer.begin() + static_cast<long>(gone));
      auto before = owners(build_maglev_table(all, kSize), all);
      auto after = owners(build_maglev_table(fewer, kSize), fewer);
      size_t moved = 0, on_removed = 0, survivors_slots = 0, survivors_moved = 0;
      for (size_t s = 0; s < kSize; ++s) {
        bool was_removed = before[s] == all[gone].key;
        on_removed += was_removed;
        ASSERT_NE(after[s], all[gone].key);
        if (before[s] != after[s]) ++moved;
        if (!was_removed) {
          ++survivors_slots;
          survivors_moved += before[s] != after[s];
        }
      }
      const double moved_frac = static_cast<double>(moved) / kSize;
      SCOPED_TRACE("n=" + std::to_string(n) + " trial=" + std::to_string(trial) +
                   " moved=" + std::to_string(moved_frac));
      EXPECT_GE(moved, on_removed);  // all of the removed backend's slots move
      EXPECT_LE(moved_frac, 1.3 / n);
      // Most slots of surviving backends keep their backend.
      EXPECT_LE(static_cast<double>(survivors_moved) / survivors_slots, 0.3 / n);
    }
  }
}

TEST(Maglev, AddingABackendMovesAboutOneNthPlusOne) {
  for (size_t n : {4u, 9u, 19u}) {
    auto all = random_backends(n + 1, 777 * n);
    std::vector<MaglevBackend> fewer(all.begin(), all.end() - 1);
    auto before = owners(build_maglev_table(fewer, kSize), fewer);
    auto after = owners(build_maglev_table(all, kSize), all);
    size_t moved = 0, to_new = 0;
    for (size_t s = 0; s < kSize; ++s) {
      moved += before[s] != after[s];
      to_new += after[s] == all.back().key;
    }
    const double frac = static_cast<double>(moved) / kSize;
    const double ideal = 1.0 / static_cast<double>(n + 1);
    SCOPED_TRACE("n=" + std::to_string(n) + " moved=" + std::to_string(frac));
    EXPECT_GE(moved, to_new);
    EXPECT_NEAR(static_cast<double>(to_new) / kSize, ideal, ideal * 0.03);
    EXPECT_LE(frac, ideal * 1.3);
  }
}

TEST(Maglev, ChangingAWeightMovesOnlyAFewSlots) {
  auto b = random_backends(10, 4242);
  auto before = owners(build_maglev_table(b, kSize), b);
  b[4].weight = 2;  // 1/10 -> 2/11 of the table
  auto after = owners(build_maglev_table(b, kSize), b);
  size_t moved = 0;
  for (size_t s = 0; s < kSize; ++s) moved += before[s] != after[s];
  double gained = 2.0 / 11 - 1.0 / 10;
  EXPECT_LE(static_cast<double>(moved) / kSize, gained * 1.5 + 0.02);
}

}  // namespace
}  // namespace lb
