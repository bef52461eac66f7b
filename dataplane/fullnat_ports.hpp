// fullnat's local ports: which source ports a worker gives its fullnat flows.
//
// Worker `index` of `workers` takes only ports of its residue class (port % workers ==
// index), so that a backend's reply, which comes back to that port, names the worker
// that owns the flow; and no port below kFullnatLowestPort. The class holds
// fullnat_port_count(workers, index) such ports; fullnat_local_port(n, ...) is its n-th,
// for n below that count. A worker takes them in turn from a cursor, and goes on to the
// next while a port's reverse tuple is taken (worker.cpp, new_flow). The benchmark's
// generator predicts a single worker's ports from the same functions
// (tests/bench/workload.hpp, local=).
#pragma once

#include <cstdint>

namespace lb {

constexpr uint32_t kFullnatLowestPort = 1024;

// The smallest k with k * workers >= kFullnatLowestPort: the class's first port is
// k * workers + index.
constexpr uint32_t fullnat_first_multiple(uint32_t workers) { return (kFullnatLowestPort + workers - 1) / workers; }

// Ports in worker `index`'s class (workers >= 1, index < workers).
constexpr uint32_t fullnat_port_count(uint32_t workers, uint32_t index) {
  return (65536 - 1 - index) / workers - fullnat_first_multiple(workers) + 1;
}

// The n-th port of worker `index`'s class, n < fullnat_port_count(workers, index).
constexpr uint16_t fullnat_local_port(uint32_t n, uint32_t workers, uint32_t index) {
  return static_cast<uint16_t>((fullnat_first_multiple(workers) + n) * workers + index);
}

static_assert(fullnat_local_port(0, 1, 0) == 1024 && fullnat_port_count(1, 0) == 64512);
// A class runs up to its last port below 65536 (3 workers, worker 2: 1028 .. 65534).
static_assert(fullnat_local_port(0, 3, 2) == 1028 && fullnat_local_port(fullnat_port_count(3, 2) - 1, 3, 2) == 65534);
static_assert((fullnat_first_multiple(3) + fullnat_port_count(3, 2)) * 3 + 2 > 65535);

}  // namespace lb
