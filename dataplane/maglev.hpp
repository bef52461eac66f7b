// Maglev consistent hashing (Eisenbud et al., NSDI 2016, section 3.4), with weights.
//
// Each backend has a preference permutation of the table's slots derived from its key
// alone (offset and skip from two hashes); backends take turns claiming their next
// preferred free slot until the table is full. A backend of weight w takes w turns per
// round, so its share of slots is proportional to its weight. Because permutations
// depend only on keys, every appliance (and a restarted one) builds the same table from
// the same backends, and removing one of N backends moves only about 1/N of the slots.
//
// Pure and thread-safe. Building costs O(size) per call (done off the hot path).
#pragma once

#include <cstdint>
#include <vector>

namespace lb {

constexpr uint32_t kMaglevDefaultSize = 65537;  // prime; ~ 100 x the largest backend count

struct MaglevBackend {
  uint64_t key;     // stable identity, e.g. hash of address and port
  uint32_t weight;  // > 0
};

// Returns `size` entries, each an index into `backends`; empty if `backends` is empty.
// `size` must be prime (so every skip generates a full permutation).
std::vector<uint16_t> build_maglev_table(const std::vector<MaglevBackend>& backends, uint32_t size);

bool is_prime(uint32_t n);

}  // namespace lb
