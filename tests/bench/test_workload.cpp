// The workload generator's output: flow counts, mixes, sizes, checksums, determinism.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "checksum.hpp"
#include "net.hpp"
#include "packet.hpp"
#include "workload.hpp"

using namespace lb;
using namespace lb::bench;

namespace {

struct Seen {
  uint16_t len;
  Parsed parsed;
  Ipv4Hdr ip;
  TcpHdr tcp;
  bool tcp_checksum_ok;
};

Seen inspect(const uint8_t* frame, uint16_t len) {
  Seen s{};
  s.len = len;
  Drop why;
  EXPECT_TRUE(parse_frame(frame, len, IpChecksum::verify, &s.parsed, &why)) << "drop reason " << static_cast<int>(why);
  std::memcpy(&s.ip, frame + s.parsed.l3_offset, sizeof s.ip);
  std::memcpy(&s.tcp, frame + s.parsed.l4_offset, sizeof s.tcp);
  uint16_t tcp_len = static_cast<uint16_t>(s.parsed.ip_len - sizeof(Ipv4Hdr));
  uint32_t sum = csum_partial(frame + s.parsed.l3_offset + 12, 8);
  sum += hton16(kProtoTcp);
  sum += hton16(tcp_len);
  sum = csum_partial(frame + s.parsed.l4_offset, tcp_len, sum);
  s.tcp_checksum_ok = csum_fold(sum) == 0xffff;
  return s;
}

WorkloadSpec spec_of(const char* text) {
  std::string error;
  auto spec = parse_workload(text, &error);
  EXPECT_TRUE(spec.has_value()) << error;
  return *spec;
}

}  // namespace

TEST(Workload, SynStormHasOneSynPerDistinctFlow) {
  WorkloadSpec spec = spec_of("flows=20000,mix=syn,vips=3");
  PacketCursor cursor(spec);
  ASSERT_EQ(cursor.packets_per_pass(), 20000u);
  std::set<std::tuple<uint32_t, uint16_t, uint32_t>> tuples;
  std::set<uint32_t> vips;
  uint8_t frame[2048];
  for (uint64_t i = 0; i < cursor.packets_per_pass(); ++i) {
    Seen s = inspect(frame, cursor.next(frame));
    EXPECT_EQ(s.tcp.flags, kTcpSyn);
    EXPECT_EQ(s.len, 60);
    EXPECT_TRUE(s.tcp_checksum_ok);
    tuples.insert({s.ip.saddr_be, s.tcp.sport_be, s.ip.daddr_be});
    vips.insert(s.ip.daddr_be);
  }
  EXPECT_EQ(tuples.size(), 20000u);
  EXPECT_EQ(vips.size(), 3u);
}

TEST(Workload, FullConnectionsHaveSynAckDataFinPerFlow) {
  WorkloadSpec spec = spec_of("flows=500,mix=full,ppf=6,size=1500");
  PacketCursor cursor(spec);
  ASSERT_EQ(cursor.packets_per_pass(), 3000u);
  std::map<std::pair<uint32_t, uint16_t>, std::vector<uint8_t>> flags_by_flow;
  uint8_t frame[2048];
  for (uint64_t i = 0; i < cursor.packets_per_pass(); ++i) {
    Seen s = inspect(frame, cursor.next(frame));
    EXPECT_TRUE(s.tcp_checksum_ok);
    bool data = (s.tcp.flags & 0x08) != 0;
    EXPECT_EQ(s.len, data ? 1514 : 60);
    flags_by_flow[{s.ip.saddr_be, s.tcp.sport_be}].push_back(s.tcp.flags);
  }
  ASSERT_EQ(flags_by_flow.size(), 500u);
  for (auto& [flow, flags] : flags_by_flow) {
    ASSERT_EQ(flags.size(), 6u);
    EXPECT_EQ(flags[0], kTcpSyn);
    EXPECT_EQ(flags[1], kTcpAck);
    for (int k = 2; k < 5; ++k) EXPECT_EQ(flags[k], kTcpAck | 0x08);
    EXPECT_EQ(flags[5], kTcpFin | kTcpAck);
  }
}

TEST(Workload, EstablishedStartsWithSynsThenImixData) {
  WorkloadSpec spec = spec_of("flows=1000,mix=established,ppf=12,size=imix");
  PacketCursor cursor(spec);
  ASSERT_EQ(cursor.packets_per_pass(), 1000u + 12000u);
  uint8_t frame[2048];
  std::map<uint16_t, int> sizes;
  for (uint64_t i = 0; i < cursor.packets_per_pass(); ++i) {
    Seen s = inspect(frame, cursor.next(frame));
    if (i < 1000) {
      EXPECT_EQ(s.tcp.flags, kTcpSyn);
    } else {
      EXPECT_EQ(s.tcp.flags, kTcpAck | 0x08);
      ++sizes[s.len];
    }
  }
  // IMIX 7:4:1 by count.
  EXPECT_EQ(sizes[60], 7000);
  EXPECT_EQ(sizes[590], 4000);
  EXPECT_EQ(sizes[1514], 1000);
}

TEST(Workload, EstablishedRepeatsItsDataButNotItsSyns) {
  WorkloadSpec spec = spec_of("flows=300,mix=established,ppf=3");
  PacketCursor cursor(spec);
  ASSERT_EQ(cursor.packets_per_pass(), 300u + 900u);
  uint8_t frame[2048];
  for (uint64_t i = 0; i < cursor.packets_per_pass(); ++i) cursor.next(frame);
  // Two passes more: data only, of every flow's tuple and a valid checksum.
  std::set<std::pair<uint32_t, uint16_t>> flows;
  for (int i = 0; i < 2 * 900; ++i) {
    Seen s = inspect(frame, cursor.next(frame));
    ASSERT_EQ(s.tcp.flags, kTcpAck | 0x08) << "packet " << i << " after the first pass";
    EXPECT_TRUE(s.tcp_checksum_ok);
    flows.insert({s.ip.saddr_be, s.tcp.sport_be});
  }
  EXPECT_GE(flows.size(), 290u);  // uniform picks, six per flow: nearly every flow
  EXPECT_LE(flows.size(), 300u);
}

TEST(Workload, FullConnectionsRepeatTheirHandshakes) {
  WorkloadSpec spec = spec_of("flows=10,mix=full,ppf=4");
  PacketCursor cursor(spec);
  uint8_t frame[2048];
  for (uint64_t i = 0; i < cursor.packets_per_pass(); ++i) cursor.next(frame);
  Seen s = inspect(frame, cursor.next(frame));
  EXPECT_EQ(s.tcp.flags, kTcpSyn);  // a second pass opens the connections again
}

TEST(Workload, DataMixHasNoHandshakeAndReachesAlmostEveryFlow) {
  WorkloadSpec spec = spec_of("flows=5000,mix=data,ppf=4");
  PacketCursor cursor(spec);
  ASSERT_EQ(cursor.packets_per_pass(), 20000u);
  std::set<std::pair<uint32_t, uint16_t>> flows;
  uint8_t frame[2048];
  for (uint64_t i = 0; i < cursor.packets_per_pass(); ++i) {
    Seen s = inspect(frame, cursor.next(frame));
    EXPECT_EQ(s.tcp.flags, kTcpAck | 0x08);
    EXPECT_EQ(s.len, 60);
    EXPECT_TRUE(s.tcp_checksum_ok);
    flows.insert({s.ip.saddr_be, s.tcp.sport_be});
  }
  // Uniform picks, four per flow: all but about e^-4 (1.8 %) of the flows are reached.
  EXPECT_LE(flows.size(), 5000u);
  EXPECT_GE(flows.size(), 4800u);
}

TEST(Workload, ZipfConcentratesOnPopularFlows) {
  WorkloadSpec spec = spec_of("flows=10000,mix=established,ppf=20,zipf=1.2");
  PacketCursor cursor(spec);
  uint8_t frame[2048];
  std::map<std::pair<uint32_t, uint16_t>, int> hits;
  for (uint64_t i = 0; i < cursor.packets_per_pass(); ++i) {
    Seen s = inspect(frame, cursor.next(frame));
    if (i >= spec.flows) ++hits[{s.ip.saddr_be, s.tcp.sport_be}];
  }
  std::vector<int> counts;
  for (auto& [f, n] : hits) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  // The most popular flow gets far more than an average flow's 20 packets,
  // and the top 1% of flows carry a large share.
  EXPECT_GT(counts[0], 2000);
  long top = 0, all = 0;
  for (size_t i = 0; i < counts.size(); ++i) (i < 100 ? top : all) += counts[i];
  all += top;
  EXPECT_GT(static_cast<double>(top) / all, 0.4);
}

TEST(Workload, RepliesComeFromTheBackendToTheClient) {
  WorkloadSpec spec = spec_of("flows=100,mix=syn,replies=198.18.1.11");
  PacketCursor cursor(spec);
  uint8_t frame[2048];
  for (int i = 0; i < 200; i += 2) {
    Seen fwd = inspect(frame, cursor.next(frame));
    Seen rep = inspect(frame, cursor.next(frame));
    EXPECT_EQ(rep.ip.saddr_be, parse_ipv4("198.18.1.11")->be());
    EXPECT_EQ(rep.ip.daddr_be, fwd.ip.saddr_be);
    EXPECT_EQ(rep.tcp.dport_be, fwd.tcp.sport_be);
    EXPECT_EQ(rep.tcp.flags, kTcpSyn | kTcpAck);
    EXPECT_TRUE(rep.tcp_checksum_ok);
  }
}

TEST(Workload, FullnatRepliesGoToTheLocalPortOfTheFlowsCreationOrder) {
  WorkloadSpec spec = spec_of("flows=300,mix=established,ppf=2,replies=198.18.1.11,local=198.18.1.2");
  PacketCursor cursor(spec);
  uint8_t frame[2048];
  std::set<uint16_t> ports;
  // The SYNs, flow 0 to 299 in order, then data; each followed by its reply.
  for (uint64_t i = 0; i < 2 * (300 + 600); i += 2) {
    Seen fwd = inspect(frame, cursor.next(frame));
    Seen rep = inspect(frame, cursor.next(frame));
    const uint64_t flow = ntoh16(fwd.tcp.sport_be) - 1024u + (ntoh32(fwd.ip.saddr_be) - 0xc6130000u) * 4096u;
    if (i < 600) {
      EXPECT_EQ(flow, i / 2);
    }
    EXPECT_EQ(rep.ip.saddr_be, parse_ipv4("198.18.1.11")->be());
    EXPECT_EQ(rep.ip.daddr_be, parse_ipv4("198.18.1.2")->be());
    EXPECT_EQ(rep.tcp.sport_be, hton16(80));
    EXPECT_EQ(ntoh16(rep.tcp.dport_be), 1024 + flow);
    EXPECT_TRUE(rep.tcp_checksum_ok);
    ports.insert(rep.tcp.dport_be);
  }
  EXPECT_EQ(ports.size(), 300u);
}

TEST(Workload, FullnatRepliesOnlyWhereTheirPortsCanBePredicted) {
  std::string error;
  EXPECT_FALSE(parse_workload("flows=10,local=198.18.1.2", &error));
  EXPECT_NE(error.find("replies"), std::string::npos) << error;
  EXPECT_FALSE(parse_workload("flows=10,mix=full,replies=198.18.1.11,local=198.18.1.2", &error));
  EXPECT_NE(error.find("mix=established"), std::string::npos) << error;
  EXPECT_FALSE(parse_workload("flows=64513,replies=198.18.1.11,local=198.18.1.2", &error));
  EXPECT_NE(error.find("64512"), std::string::npos) << error;
  EXPECT_TRUE(parse_workload("flows=64512,replies=198.18.1.11,local=198.18.1.2", &error)) << error;
  EXPECT_FALSE(parse_workload("replies=198.18.1.11,local=0.0.0.0", &error));
  auto spec = parse_workload("flows=5,replies=198.18.1.11,local=198.18.1.2", &error);
  ASSERT_TRUE(spec);
  EXPECT_NE(describe(*spec).find(",local=198.18.1.2"), std::string::npos) << describe(*spec);
}

TEST(Workload, SameSeedSameBytesOtherSeedOtherOrder) {
  WorkloadSpec a = spec_of("flows=1000,mix=established,ppf=5,seed=7");
  WorkloadSpec b = a;
  WorkloadSpec c = spec_of("flows=1000,mix=established,ppf=5,seed=8");
  PacketCursor ca(a), cb(b), cc(c);
  uint8_t fa[2048], fb[2048], fc[2048];
  int differ = 0;
  for (int i = 0; i < 6000; ++i) {
    uint16_t la = ca.next(fa), lb_ = cb.next(fb), lc = cc.next(fc);
    ASSERT_EQ(la, lb_);
    ASSERT_EQ(0, std::memcmp(fa, fb, la));
    differ += (la != lc || std::memcmp(fa, fc, la) != 0);
  }
  EXPECT_GT(differ, 1000);
}

TEST(Workload, BadSpecsAreRefused) {
  std::string error;
  EXPECT_FALSE(parse_workload("flows=0", &error));
  EXPECT_FALSE(parse_workload("mix=storm", &error));
  EXPECT_NE(error.find("mix"), std::string::npos);
  EXPECT_FALSE(parse_workload("size=100", &error));
  EXPECT_FALSE(parse_workload("colour=red", &error));
  EXPECT_NE(error.find("colour"), std::string::npos);
  EXPECT_FALSE(parse_workload("flows", &error));
  EXPECT_FALSE(parse_workload("replies=1.2.3", &error));
}

TEST(Workload, TemplatesProduceTheSameBytesAsBuildingFromScratch) {
  for (const char* text : {"flows=100000,mix=full,ppf=5,size=imix,vips=7", "flows=5000,mix=syn,replies=198.18.1.12",
                           "flows=5000,mix=established,replies=198.18.1.12,local=198.18.1.2"}) {
    WorkloadSpec spec = spec_of(text);
    FrameFactory factory(spec);
    uint8_t fast[2048], slow[2048];
    std::mt19937_64 rng(3);
    for (int i = 0; i < 20000; ++i) {
      uint64_t flow = rng() % spec.flows;
      int kind = static_cast<int>(rng() % 4);
      bool reply = spec.replies && (rng() & 1);
      uint16_t len = kImixSizes[rng() % 12];
      uint16_t a = factory.build(flow, kind, reply, len, fast);
      uint16_t b = build_frame(spec, flow, kind, reply, len, slow);
      ASSERT_EQ(a, b);
      ASSERT_EQ(0, std::memcmp(fast, slow, a)) << "flow " << flow << " kind " << kind << " reply " << reply;
    }
  }
}
