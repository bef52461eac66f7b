#include "maglev.hpp"

#include <numeric>
#include <stdexcept>

namespace lb {

namespace {
uint64_t mix64(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

std::vector<uint16_t> build_maglev_table(const std::vector<MaglevBackend>& backends, uint32_t size) {
  if (backends.empty()) return {};
  if (!is_prime(size)) throw std::invalid_argument("maglev table size must be prime");
  if (backends.size() > 0xffff) throw std::invalid_argument("too many backends for a maglev table");
  const size_t n = backends.size();
  // Reduce weights by their gcd so equal weights mean one turn per round.
  uint32_t g = 0;
  for (const auto& b : backends) g = std::gcd(g, b.weight);
  if (g == 0) return {};
  std::vector<uint32_t> offset(n), skip(n), next(n, 0), turns(n);
  for (size_t i = 0; i < n; ++i) {
    offset[i] = static_cast<uint32_t>(mix64(backends[i].key) % size);
    skip[i] = static_cast<uint32_t>(mix64(backends[i].key ^ 0x5bd1e9955bd1e995ull) % (size - 1)) + 1;
    turns[i] = backends[i].weight / g;
  }
  constexpr uint16_t kEmpty = 0xffff;
  std::vector<uint16_t> table(size, kEmpty);
  uint32_t filled = 0;
  while (filled < size) {
    for (size_t i = 0; i < n && filled < size; ++i) {
      for (uint32_t t = 0; t < turns[i] && filled < size; ++t) {
        uint32_t slot;
        do {
          slot = static_cast<uint32_t>((offset[i] + static_cast<uint64_t>(next[i]) * skip[i]) % size);
          ++next[i];
        } while (table[slot] != kEmpty);
        table[slot] = static_cast<uint16_t>(i);
        ++filled;
      }
    }
  }
  return table;
}

}  // namespace lb
