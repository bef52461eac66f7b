// lbgen: writes a synthetic workload (workload.hpp) as a pcap file.
//   lbgen -w 'flows=100000,mix=established,ppf=4,size=64' -o out.pcap [-n PACKETS]
// Without -n it writes one pass of the workload (every flow, every packet once).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <getopt.h>
#include <string>
#include <vector>

#include "workload.hpp"

namespace {

struct PcapFileHeader {
  uint32_t magic = 0xa1b2c3d4;
  uint16_t major = 2, minor = 4;
  int32_t zone = 0;
  uint32_t sigfigs = 0, snaplen = 65535, linktype = 1;  // Ethernet
};
struct PcapRecordHeader {
  uint32_t sec, usec, caplen, len;
};

[[noreturn]] void usage(const char* error) {
  if (error) std::fprintf(stderr, "lbgen: %s\n", error);
  std::fprintf(stderr,
               "usage: lbgen -w SPEC -o FILE [-n PACKETS]\n"
               "  SPEC: key=value,... with flows, ppf, mix=syn|established|full|data, size=64|1500|imix,\n"
               "        pop=uniform|zipf, zipf=S, vips, replies=BACKEND_ADDR, local=FULLNAT_LOCAL_ADDR, seed\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec_text, out_path;
  uint64_t packets = 0;
  int c;
  while ((c = getopt(argc, argv, "w:o:n:h")) != -1) {
    if (c == 'w') spec_text = optarg;
    else if (c == 'o') out_path = optarg;
    else if (c == 'n') packets = std::strtoull(optarg, nullptr, 10);
    else usage(nullptr);
  }
  if (spec_text.empty() || out_path.empty()) usage("-w and -o are required");
  std::string error;
  auto spec = lb::bench::parse_workload(spec_text, &error);
  if (!spec) usage(error.c_str());
  lb::bench::PacketCursor cursor(*spec);
  if (packets == 0) packets = cursor.packets_per_pass() * (spec->replies ? 2 : 1);
  std::FILE* out = std::fopen(out_path.c_str(), "wb");
  if (!out) {
    std::perror(out_path.c_str());
    return 1;
  }
  std::vector<char> buffer(1 << 22);
  std::setvbuf(out, buffer.data(), _IOFBF, buffer.size());
  PcapFileHeader header;
  std::fwrite(&header, sizeof header, 1, out);
  uint8_t frame[2048];
  for (uint64_t i = 0; i < packets; ++i) {
    uint16_t len = cursor.next(frame);
    PcapRecordHeader rec{static_cast<uint32_t>(i / 1000000), static_cast<uint32_t>(i % 1000000), len, len};
    std::fwrite(&rec, sizeof rec, 1, out);
    std::fwrite(frame, len, 1, out);
  }
  if (std::fclose(out) != 0) {
    std::perror(out_path.c_str());
    return 1;
  }
  std::printf("lbgen: %lu packets (%s) -> %s\n", packets, lb::bench::describe(*spec).c_str(), out_path.c_str());
  return 0;
}
