// Synthetic TCP workloads for replay benchmarks, generated deterministically from a seed.
//
// A workload is `flows` client connections to `vips` VIPs. Flow i has a fixed 4-tuple
// derived from i alone (client 198.19.0.0 + i/4096, port 1024 + i%4096; VIP
// 198.18.0.100 + i%vips, port 80), so a generator can build any packet of any flow from
// a template without storing the flows: 10 million flows cost no memory.
//
// Mixes:
//   syn          every packet is a SYN of a new flow (a connection storm)
//   established  one SYN per flow first (so the balancer knows the flow), then data
//                packets; which flow each data packet belongs to follows `popularity`.
//                An endless cursor repeats only the data: its SYNs come once.
//   full         per flow: SYN, ACK, (packets_per_flow - 3) data packets, FIN
//   data         flows * packets_per_flow data packets, no handshake, flows picked by
//                `popularity`: mid-connection traffic, for a balancer that recovers flows
//                from a consistent scheduler (maglev, sh); a replay of it holds no SYNs,
//                so once every flow is known each packet takes the established path
// With `replies`, every client packet is followed by a reply from the flow's backend
// (`reply_backend`, as nat without a second backend would see it: backend -> client).
// With `local` as well, the replies are fullnat's: backend -> that local address, to the
// port lbdp gave the flow. lbdp does not say which; the generator assumes what one worker
// with one local address does when flows are created in flow order: flow i gets that
// worker's i-th port (fullnat_local_port(i, 1, 0), dataplane/fullnat_ports.hpp: 1024 + i).
// Hence `local` needs mix=established (its SYNs come once, in flow order) and at most
// fullnat_port_count(1, 0) flows.
// Where the prediction is wrong, lbdp drops a reply (no_flow) or, when it names another
// flow's port, sends it to that flow's client; the pipeline tests check for both.
//
// Thread-safety: a Workload is immutable after construction; PacketCursor is per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lb::bench {

enum class Mix : uint8_t { syn, established, full, data };
enum class SizeDist : uint8_t { b64, b1500, imix };
enum class Popularity : uint8_t { uniform, zipf };

struct WorkloadSpec {
  uint64_t flows = 1000;
  uint32_t packets_per_flow = 10;   // established/full: packets per flow on average
  Mix mix = Mix::established;
  SizeDist size = SizeDist::b64;
  Popularity popularity = Popularity::uniform;
  double zipf_s = 1.1;
  uint32_t vips = 1;
  bool replies = false;
  uint32_t reply_backend_be = 0;    // address replies come from (network order)
  uint32_t reply_local_be = 0;      // fullnat: local address replies go to (0: nat replies)
  uint16_t reply_port = 80;
  uint64_t seed = 1;
  uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
  uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
};

// Parses "key=value,key=value" (keys: flows ppf mix size pop zipf vips replies local seed);
// nullopt with *error set on a bad key or value.
std::optional<WorkloadSpec> parse_workload(std::string_view text, std::string* error);
std::string describe(const WorkloadSpec& spec);

struct FlowTuple {
  uint32_t client_be, vip_be;
  uint16_t client_port_be, vip_port_be;
};
FlowTuple flow_tuple(const WorkloadSpec& spec, uint64_t flow);

// Frame sizes on the wire, without FCS.
constexpr uint16_t kImixSizes[] = {60, 60, 60, 60, 60, 60, 60, 590, 590, 590, 590, 1514};  // 7:4:1 by IP size 40:576:1500

// Writes one frame into `out` (at least 1514 bytes) and returns its length.
// kind: 0 SYN, 1 ACK (no data), 2 data, 3 FIN; reply=true builds the backend's answer.
uint16_t build_frame(const WorkloadSpec& spec, uint64_t flow, int kind, bool reply, uint16_t frame_len,
                     uint8_t* out);

// Yields the workload's packets in order, endlessly: after a pass it starts over,
// except that mix=established's later passes leave out its SYNs (a repeated SYN for a
// flow the balancer already has would take its slow path, not the established one).
// Builds frames fast from per-(kind, direction, length) templates made for flow 0:
// a copy and an incremental checksum patch of the fields that depend on the flow.
// Produces exactly the bytes build_frame() does.
class FrameFactory {
 public:
  explicit FrameFactory(const WorkloadSpec& spec) : spec_(spec) {}
  uint16_t build(uint64_t flow, int kind, bool reply, uint16_t frame_len, uint8_t* out);

 private:
  struct Template {
    uint16_t len = 0;
    uint8_t bytes[1514];
  };
  Template& lookup(int kind, bool reply, uint16_t frame_len);
  WorkloadSpec spec_;
  // kind (4) x reply (2) x length class (60, 590, 1514)
  Template templates_[4][2][3];
};

class PacketCursor {
 public:
  explicit PacketCursor(const WorkloadSpec& spec);
  // Fills `out`; returns the frame length.
  uint16_t next(uint8_t* out);
  uint64_t packets_per_pass() const { return per_pass_; }  // the first pass's

 private:
  uint16_t frame_len();
  uint64_t pick_flow();
  uint64_t random();  // splitmix64: fast enough for a generator lcore, deterministic
  WorkloadSpec spec_;
  FrameFactory factory_;
  uint64_t rng_state_;
  uint64_t position_ = 0;   // within the pass
  uint64_t restart_ = 0;    // where a later pass starts (after mix=established's SYNs)
  uint64_t per_pass_ = 0;
  bool pending_reply_ = false;
  uint64_t reply_flow_ = 0;
  int reply_kind_ = 0;
  uint16_t reply_len_ = 0;
  uint32_t imix_index_ = 0;
  double zipf_h_ = 0;       // precomputed for the inverse CDF
};

}  // namespace lb::bench
