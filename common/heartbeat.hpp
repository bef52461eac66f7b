// The heartbeat message: defined once for the three programs that touch it.
//
//   lbbroker  encodes and signs one per probe that finds its node healthy (encode)
//   lbdp      steers UDP datagrams to its own address and heartbeat port into the
//             shared-memory heartbeat ring after a cheap plausibility check
//             (header_plausible); it holds no key and verifies nothing else
//   lbcp      verifies the MAC, the version and freshness, rejects replays, and feeds
//             the health state machine (decode + ReplayGuard)
//
// Wire format (all integers big-endian), kWireSize bytes in one UDP datagram:
//   off  size
//     0     4  magic "LBHB"
//     4     1  version (kVersion)
//     5     1  flags (kFlag*)
//     6     2  reserved, zero
//     8     4  node address (the backend's IPv4 address)
//    12     2  service port (the backend's port in the VIP's backend list)
//    14     2  reserved, zero
//    16     8  boot id: the broker's start time in ns since the epoch; a restarted
//              broker has a larger one
//    24     8  sequence, starting at 1 for each boot id, +1 per heartbeat
//    32     8  sent time, ms since the epoch
//    40     4  probe response time, us
//    44     4  CPU load, 1/1000 of one CPU per CPU (1-minute load average / CPUs)
//    48     4  open connections to the service port
//    52     4  the broker's next probe interval, ms
//    56    32  HMAC-SHA256 over bytes 0..55 with the shared key
//
// Thread-safety: every function is a pure function of its arguments, except
// ReplayGuard, which one thread owns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lb::hb {

constexpr uint32_t kMagic = 0x4c424842;  // "LBHB"
constexpr uint8_t kVersion = 1;
constexpr uint16_t kDefaultPort = 7946;
constexpr size_t kSignedSize = 56;
constexpr size_t kMacSize = 32;
constexpr size_t kWireSize = kSignedSize + kMacSize;
constexpr size_t kMinKeySize = 16;

constexpr uint8_t kFlagDraining = 1;  // the broker is shutting down: treat as a missed beat

struct Load {
  uint32_t response_us = 0;
  uint32_t cpu_permille = 0;
  uint32_t connections = 0;
  uint32_t interval_ms = 0;
};

// A heartbeat with host-order fields.
struct Message {
  uint32_t node_addr = 0;   // host order
  uint16_t service_port = 0;
  uint8_t flags = 0;
  uint64_t boot_id = 0;
  uint64_t sequence = 0;
  uint64_t sent_ms = 0;
  Load load;
};

// The cheap check lbdp makes before it copies a datagram into the heartbeat ring:
// length, magic and version. No key is involved.
inline bool header_plausible(const uint8_t* data, size_t length) {
  if (length != kWireSize) return false;
  uint32_t magic = (uint32_t{data[0]} << 24) | (uint32_t{data[1]} << 16) | (uint32_t{data[2]} << 8) | data[3];
  return magic == kMagic && data[4] == kVersion;
}

using Key = std::vector<uint8_t>;

// Reads a key file: the key is the file's bytes with surrounding whitespace removed, at
// least kMinKeySize of them. On failure returns an empty key and sets *error.
Key load_key(const std::string& path, std::string* error);

// Writes the signed message into out[0..kWireSize).
void encode(const Message& message, const Key& key, uint8_t* out);

// Why a datagram was refused. Each has a counter in lbcp.
enum class Reject : uint8_t { none, truncated, bad_magic, bad_version, bad_mac, stale, replay, count_ };
const char* reject_name(Reject why);

// Checks length, magic, version and MAC (constant-time compare), then fills *out.
// Freshness and replays are ReplayGuard's business.
Reject decode(const uint8_t* data, size_t length, const Key& key, Message* out);

// Rejects replayed and stale heartbeats, per (node address, service port):
//  - sent_ms must be within max_skew_ms of the receiver's clock;
//  - within one boot id the sequence must grow;
//  - a different boot id is accepted only if it is larger than the last one seen
//    (a restarted broker), so an old boot's messages cannot be replayed either; or if
//    the node has been silent for more than 2 x max_skew_ms (every message recorded
//    before is stale by then), so a broker whose clock stepped back is not locked out.
class ReplayGuard {
 public:
  explicit ReplayGuard(uint64_t max_skew_ms = 30000) : max_skew_ms_(max_skew_ms) {}
  // Returns Reject::none and records the message when it is acceptable.
  Reject accept(const Message& message, uint64_t now_ms);

 private:
  struct Last {
    uint64_t boot_id;
    uint64_t sequence;
    uint64_t accepted_ms;  // receiver's clock when it was accepted
  };
  uint64_t max_skew_ms_;
  std::map<std::pair<uint32_t, uint16_t>, Last> last_;
};

}  // namespace lb::hb
