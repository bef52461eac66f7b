// Unit tests for packet.hpp: the frame parser and its drop reasons.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "counters.hpp"
#include "packet.hpp"

namespace lb {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}

// Independent RFC 1071 checksum over big-endian words (host-order result).
uint16_t ref_checksum(const uint8_t* p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Everything a test frame can vary. Defaults describe a valid TCP SYN.
struct Spec {
  int vlan_tags = 0;
  uint16_t ethertype = 0x0800;
  uint8_t version_ihl = 0x45;
  size_t ip_options = 0;       // bytes of options actually present after the base header
  int total_len = -1;          // -1: correct value
  uint16_t frag = 0;           // flags + fragment offset (host order)
  uint8_t proto = 6;
  bool corrupt_ip_csum = false;
  uint8_t tcp_doff = 5;        // in 32-bit words
  size_t l4_bytes = 20;        // bytes of L4 header + payload present
  size_t pad_to = 0;           // Ethernet padding: frame length at least this
  int cut_to = -1;             // truncate the finished frame to this length
};

Bytes build_eth(const Spec& s, uint16_t type) {
  Bytes b(12);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(0x02 + i), b[6 + i] = static_cast<uint8_t>(0x12 + i);
  for (int t = 0; t < s.vlan_tags; ++t) {
    b.push_back(0x81);
    b.push_back(0x00);
    b.push_back(0x00);  // PCP/DEI/VID 100
    b.push_back(100);
  }
  b.push_back(static_cast<uint8_t>(type >> 8));
  b.push_back(static_cast<uint8_t>(type));
  return b;
}

Bytes build_ipv4(const Spec& s) {
  Bytes f = build_eth(s, s.ethertype);
  size_t l3 = f.size();
  size_t ihl_bytes = 20 + s.ip_options;
  f.resize(l3 + ihl_bytes + s.l4_bytes, 0);
  uint8_t* ip = &f[l3];
  ip[0] = s.version_ihl;
  ip[1] = 0;
  uint16_t total = s.total_len >= 0 ? static_cast<uint16_t>(s.total_len) : static_cast<uint16_t>(ihl_bytes + s.l4_bytes);
  ip[2] = static_cast<uint8_t>(total >> 8);
  ip[3] = static_cast<uint8_t>(total);
  ip[4] = 0x12, ip[5] = 0x34;  // id
  ip[6] = static_cast<uint8_t>(s.frag >> 8);
  ip[7] = static_cast<uint8_t>(s.frag);
  ip[8] = 64;
  ip[9] = s.proto;
  ip[12] = 198, ip[13] = 51, ip[14] = 100, ip[15] = 7;  // client
  ip[16] = 203, ip[17] = 0, ip[18] = 113, ip[19] = 10;  // VIP
  for (size_t i = 0; i < s.ip_options; ++i) ip[20 + i] = 1;  // NOP options
  uint16_t c = ref_checksum(ip, ihl_bytes);
  if (s.corrupt_ip_csum) c ^= 0x0100;
  ip[10] = static_cast<uint8_t>(c >> 8);
  ip[11] = static_cast<uint8_t>(c);
  uint8_t* l4 = ip + ihl_bytes;
  if (s.proto == 6 && s.l4_bytes >= 14) {
    l4[0] = 0xc3, l4[1] = 0x50;  // sport 50000
    l4[2] = 0x00, l4[3] = 0x50;  // dport 80
    l4[12] = static_cast<uint8_t>(s.tcp_doff << 4);
    l4[13] = kTcpSyn;
  } else if (s.proto == 1 && s.l4_bytes >= 1) {
    l4[0] = 8;  // echo request
  }
  if (f.size() < s.pad_to) f.resize(s.pad_to, 0);
  if (s.cut_to >= 0) f.resize(static_cast<size_t>(s.cut_to));
  return f;
}

struct ArpSpec {
  uint16_t htype = 1, ptype = 0x0800;
  uint8_t hlen = 6, plen = 4;
  int cut_body_to = -1;
  int vlan_tags = 0;
};

Bytes build_arp(const ArpSpec& a) {
  Spec s;
  s.vlan_tags = a.vlan_tags;
  Bytes f = build_eth(s, 0x0806);
  size_t l3 = f.size();
  f.resize(l3 + 28, 0);
  put16(f, l3, a.htype);
  put16(f, l3 + 2, a.ptype);
  f[l3 + 4] = a.hlen;
  f[l3 + 5] = a.plen;
  put16(f, l3 + 6, 1);  // request
  for (int i = 0; i < 6; ++i) f[l3 + 8 + i] = static_cast<uint8_t>(0x12 + i);
  f[l3 + 14] = 10, f[l3 + 17] = 1;
  f[l3 + 24] = 10, f[l3 + 27] = 2;
  if (a.cut_body_to >= 0) f.resize(l3 + static_cast<size_t>(a.cut_body_to));
  return f;
}

// Places a frame so that its last byte is the last byte before an inaccessible page:
// any read beyond `len` faults instead of silently reading garbage.
class GuardedBuffer {
 public:
  GuardedBuffer() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    mem_ = static_cast<uint8_t*>(mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (mem_ == MAP_FAILED) mem_ = nullptr;
    if (mem_) mprotect(mem_ + page_, page_, PROT_NONE);
  }
  ~GuardedBuffer() {
    if (mem_) munmap(mem_, 2 * page_);
  }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  bool ok() const { return mem_ != nullptr; }
  const uint8_t* place(const Bytes& frame) {
    uint8_t* p = mem_ + page_ - frame.size();
    if (!frame.empty()) std::memcpy(p, frame.data(), frame.size());
    return p;
  }

 private:
  size_t page_ = 0;
  uint8_t* mem_ = nullptr;
};

struct Case {
  const char* description;
  std::function<Bytes()> build;
  bool ok;
  Drop why;                 // when !ok
  IpChecksum csum = IpChecksum::verify;
  L3 l3 = L3::ipv4;         // when ok
  uint16_t l3_offset = 0;   // when ok
  uint16_t l4_offset = 0;   // when ok and ipv4
  uint8_t proto = 6;        // when ok and ipv4
};

std::vector<Case> cases() {
  auto ip = [](auto mutate) {
    return [mutate] {
      Spec s;
      mutate(s);
      return build_ipv4(s);
    };
  };
  auto arp = [](auto mutate) {
    return [mutate] {
      ArpSpec a;
      mutate(a);
      return build_arp(a);
    };
  };
  const Drop none = Drop::count_;
  return {
      {"valid TCP", ip([](Spec&) {}), true, none, IpChecksum::verify, L3::ipv4, 14, 34, 6},
      {"valid TCP with payload", ip([](Spec& s) { s.l4_bytes = 20 + 1000; }), true, none, IpChecksum::verify,
       L3::ipv4, 14, 34, 6},
      {"valid TCP with Ethernet padding after the IP datagram", ip([](Spec& s) { s.l4_bytes = 20; s.pad_to = 80; }),
       true, none, IpChecksum::verify, L3::ipv4, 14, 34, 6},
      {"valid TCP with options (doff 8)", ip([](Spec& s) { s.tcp_doff = 8; s.l4_bytes = 32; }), true, none,
       IpChecksum::verify, L3::ipv4, 14, 34, 6},
      {"valid TCP with one VLAN tag", ip([](Spec& s) { s.vlan_tags = 1; }), true, none, IpChecksum::verify, L3::ipv4,
       18, 38, 6},
      {"valid ICMP", ip([](Spec& s) { s.proto = 1; s.l4_bytes = 8 + 56; }), true, none, IpChecksum::verify, L3::ipv4,
       14, 34, 1},
      {"valid UDP", ip([](Spec& s) { s.proto = 17; s.l4_bytes = 8; }), true, none, IpChecksum::verify, L3::ipv4, 14,
       34, 17},
      {"DF alone is not a fragment", ip([](Spec& s) { s.frag = 0x4000; }), true, none, IpChecksum::verify, L3::ipv4,
       14, 34, 6},
      {"ARP request", arp([](ArpSpec&) {}), true, none, IpChecksum::verify, L3::arp, 14, 0, 0},
      {"ARP request with a VLAN tag", arp([](ArpSpec& a) { a.vlan_tags = 1; }), true, none, IpChecksum::verify,
       L3::arp, 18, 0, 0},

      {"ARP with hlen 8", arp([](ArpSpec& a) { a.hlen = 8; }), false, Drop::bad_arp},
      {"ARP with plen 16", arp([](ArpSpec& a) { a.plen = 16; }), false, Drop::bad_arp},
      {"ARP for IPv6 ptype", arp([](ArpSpec& a) { a.ptype = 0x86dd; }), false, Drop::bad_arp},
      {"ARP with htype 6", arp([](ArpSpec& a) { a.htype = 6; }), false, Drop::bad_arp},
      {"ARP body truncated", arp([](ArpSpec& a) { a.cut_body_to = 27; }), false, Drop::bad_arp},

      {"IPv6 ethertype", ip([](Spec& s) { s.ethertype = 0x86dd; }), false, Drop::unsupported_l2},
      {"LLDP ethertype", ip([](Spec& s) { s.ethertype = 0x88cc; }), false, Drop::unsupported_l2},
      {"two VLAN tags", ip([](Spec& s) { s.vlan_tags = 2; }), false, Drop::unsupported_l2},
      {"runt frame (10 bytes)", ip([](Spec& s) { s.cut_to = 10; }), false, Drop::truncated_l2},
      {"empty frame", ip([](Spec& s) { s.cut_to = 0; }), false, Drop::truncated_l2},
      {"13-byte frame", ip([](Spec& s) { s.cut_to = 13; }), false, Drop::truncated_l2},
      {"VLAN tag cut short", ip([](Spec& s) { s.vlan_tags = 1; s.cut_to = 16; }), false, Drop::truncated_l2},

      {"IPv4 header cut short", ip([](Spec& s) { s.cut_to = 14 + 19; }), false, Drop::truncated_l3},
      {"IPv4 options (ihl 6)", ip([](Spec& s) { s.version_ihl = 0x46; s.ip_options = 4; }), false, Drop::ip_options},
      {"IPv4 options (ihl 15)", ip([](Spec& s) { s.version_ihl = 0x4f; s.ip_options = 40; }), false,
       Drop::ip_options},
      {"IP version 6 in an IPv4 ethertype", ip([](Spec& s) { s.version_ihl = 0x65; }), false, Drop::bad_ip_header},
      {"IP version 0", ip([](Spec& s) { s.version_ihl = 0x05; }), false, Drop::bad_ip_header},
      {"IHL 4 (below minimum)", ip([](Spec& s) { s.version_ihl = 0x44; }), false, Drop::bad_ip_header},
      {"total length below the header", ip([](Spec& s) { s.total_len = 19; }), false, Drop::bad_ip_header},
      {"total length beyond the frame", ip([](Spec& s) { s.total_len = 41; }), false, Drop::truncated_l3},
      {"total length 65535 in a small frame", ip([](Spec& s) { s.total_len = 65535; }), false, Drop::truncated_l3},
      {"frame cut inside the TCP header", ip([](Spec& s) { s.cut_to = 14 + 20 + 10; }), false, Drop::truncated_l3},
      {"bad IP checksum, verified", ip([](Spec& s) { s.corrupt_ip_csum = true; }), false, Drop::bad_ip_checksum},
      {"bad IP checksum, NIC says good", ip([](Spec& s) { s.corrupt_ip_csum = true; }), true, none,
       IpChecksum::trusted_good, L3::ipv4, 14, 34, 6},
      {"more fragments set", ip([](Spec& s) { s.frag = 0x2000; }), false, Drop::ip_fragment},
      {"more fragments with DF", ip([](Spec& s) { s.frag = 0x6000; }), false, Drop::ip_fragment},
      {"fragment offset non-zero (last fragment)", ip([](Spec& s) { s.frag = 0x00b9; }), false, Drop::ip_fragment},
      {"fragment offset 1", ip([](Spec& s) { s.frag = 0x0001; }), false, Drop::ip_fragment},
      {"fragment offset max", ip([](Spec& s) { s.frag = 0x1fff; }), false, Drop::ip_fragment},

      {"TCP data offset 4", ip([](Spec& s) { s.tcp_doff = 4; }), false, Drop::bad_tcp_header},
      {"TCP data offset 0", ip([](Spec& s) { s.tcp_doff = 0; }), false, Drop::bad_tcp_header},
      {"TCP header beyond the IP length", ip([](Spec& s) { s.total_len = 20 + 10; }), false, Drop::truncated_l4},
      {"TCP with no bytes at all", ip([](Spec& s) { s.l4_bytes = 0; }), false, Drop::truncated_l4},
      {"TCP header of 19 bytes", ip([](Spec& s) { s.l4_bytes = 19; }), false, Drop::truncated_l4},
      {"ICMP header beyond the IP length", ip([](Spec& s) { s.proto = 1; s.l4_bytes = 7; }), false,
       Drop::truncated_l4},
      {"UDP header beyond the IP length", ip([](Spec& s) { s.proto = 17; s.l4_bytes = 7; }), false,
       Drop::truncated_l4},
  };
}

std::string drop_name(Drop d) {
  return d == Drop::count_ ? "(none)" : kDropNames[static_cast<unsigned>(d)];
}

// parse_tcp_fast must never accept what parse_frame refuses, and must describe what it
// accepts exactly as parse_frame does.
::testing::AssertionResult fast_path_agrees(const uint8_t* p, uint32_t len, IpChecksum csum) {
  Parsed fast{}, full{};
  Drop why = Drop::count_;
  bool fast_ok = parse_tcp_fast(p, len, csum, &fast);
  bool full_ok = parse_frame(p, len, csum, &full, &why);
  if (!fast_ok) return ::testing::AssertionSuccess();
  if (!full_ok) return ::testing::AssertionFailure() << "fast path accepted a frame parse_frame drops as " << drop_name(why);
  if (fast.l3 != full.l3 || fast.proto != full.proto || fast.l3_offset != full.l3_offset ||
      fast.l4_offset != full.l4_offset || fast.ip_len != full.ip_len)
    return ::testing::AssertionFailure() << "fast path and parse_frame disagree on the offsets";
  return ::testing::AssertionSuccess();
}

TEST(Parser, TableDriven) {
  GuardedBuffer guard;
  ASSERT_TRUE(guard.ok());
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.description);
    Bytes frame = c.build();
    const uint8_t* p = guard.place(frame);
    Parsed out{};
    Drop why = Drop::count_;
    bool ok = parse_frame(p, static_cast<uint32_t>(frame.size()), c.csum, &out, &why);
    ASSERT_EQ(ok, c.ok) << "drop reason " << drop_name(why);
    EXPECT_TRUE(fast_path_agrees(p, static_cast<uint32_t>(frame.size()), c.csum));
    if (!ok) {
      EXPECT_EQ(drop_name(why), drop_name(c.why));
      continue;
    }
    EXPECT_EQ(out.l3, c.l3);
    EXPECT_EQ(out.l3_offset, c.l3_offset);
    if (c.l3 == L3::ipv4) {
      EXPECT_EQ(out.l4_offset, c.l4_offset);
      EXPECT_EQ(out.proto, c.proto);
      // ip_len is the IPv4 total length field as built.
      uint16_t total = static_cast<uint16_t>(frame[c.l3_offset + 2] << 8 | frame[c.l3_offset + 3]);
      EXPECT_EQ(out.ip_len, total);
      EXPECT_LE(out.l3_offset + out.ip_len, frame.size());
    }
  }
}

TEST(Parser, ValidFrameFieldsReadableThroughHeaders) {
  Spec s;
  s.vlan_tags = 1;
  s.l4_bytes = 20 + 5;
  Bytes f = build_ipv4(s);
  Parsed out{};
  Drop why{};
  ASSERT_TRUE(parse_frame(f.data(), static_cast<uint32_t>(f.size()), IpChecksum::verify, &out, &why));
  EXPECT_EQ(out.ip_len, 45);
  const auto* ip = reinterpret_cast<const Ipv4Hdr*>(f.data() + out.l3_offset);
  EXPECT_EQ(ip->proto, kProtoTcp);
  EXPECT_EQ(ip->daddr_be, (203u | 0u << 8 | 113u << 16 | 10u << 24));  // 203.0.113.10 in wire order
  const auto* tcp = reinterpret_cast<const TcpHdr*>(f.data() + out.l4_offset);
  EXPECT_EQ(tcp->flags, kTcpSyn);
  EXPECT_EQ(tcp->dport_be, static_cast<uint16_t>(0x5000));  // 80 in wire order
}

// Every prefix of a valid frame: the parser must fail with the reason that matches
// where the cut falls, and never read past the given length.
TEST(Parser, EveryTruncationOfAValidFrame) {
  GuardedBuffer guard;
  ASSERT_TRUE(guard.ok());
  for (int vlan = 0; vlan <= 1; ++vlan) {
    Spec s;
    s.vlan_tags = vlan;
    s.l4_bytes = 20 + 30;
    Bytes full = build_ipv4(s);
    const size_t l3 = 14 + 4 * vlan;
    for (size_t len = 0; len <= full.size(); ++len) {
      Bytes f(full.begin(), full.begin() + static_cast<long>(len));
      const uint8_t* p = guard.place(f);
      Parsed out{};
      Drop why = Drop::count_;
      bool ok = parse_frame(p, static_cast<uint32_t>(len), IpChecksum::verify, &out, &why);
      EXPECT_TRUE(fast_path_agrees(p, static_cast<uint32_t>(len), IpChecksum::verify)) << "len " << len;
      if (len == full.size()) {
        EXPECT_TRUE(ok) << "vlan " << vlan;
        Parsed fast{};
        EXPECT_EQ(parse_tcp_fast(p, static_cast<uint32_t>(len), IpChecksum::verify, &fast), vlan == 0)
            << "the fast path takes untagged TCP and leaves tagged frames to parse_frame";
        continue;
      }
      ASSERT_FALSE(ok) << "len " << len;
      Drop expect = len < l3 ? Drop::truncated_l2 : Drop::truncated_l3;
      EXPECT_EQ(drop_name(why), drop_name(expect)) << "vlan " << vlan << " len " << len;
    }
  }
}

// Every single-bit corruption of the headers of a valid TCP frame: the fast path either
// declines or agrees with parse_frame (a flipped checksum bit must not slip through).
TEST(Parser, FastPathNeverAcceptsACorruptedHeaderParseFrameRefuses) {
  Spec s;
  s.l4_bytes = 20 + 10;
  Bytes full = build_ipv4(s);
  Parsed fast{};
  ASSERT_TRUE(parse_tcp_fast(full.data(), static_cast<uint32_t>(full.size()), IpChecksum::verify, &fast));
  int declined = 0;
  for (size_t byte = 12; byte < 14 + 20 + 20; ++byte)
    for (int bit = 0; bit < 8; ++bit) {
      Bytes f = full;
      f[byte] ^= static_cast<uint8_t>(1u << bit);
      EXPECT_TRUE(fast_path_agrees(f.data(), static_cast<uint32_t>(f.size()), IpChecksum::verify))
          << "byte " << byte << " bit " << bit;
      declined += !parse_tcp_fast(f.data(), static_cast<uint32_t>(f.size()), IpChecksum::verify, &fast);
    }
  EXPECT_GE(declined, 20 * 8) << "every IPv4 header bit flip breaks the checksum or a field check";
}

// The ICMP/UDP minimum header sizes at the exact boundary are accepted.
TEST(Parser, L4BoundariesAccepted) {
  for (uint8_t proto : {uint8_t{1}, uint8_t{17}}) {
    Spec s;
    s.proto = proto;
    s.l4_bytes = 8;
    Bytes f = build_ipv4(s);
    Parsed out{};
    Drop why{};
    EXPECT_TRUE(parse_frame(f.data(), static_cast<uint32_t>(f.size()), IpChecksum::verify, &out, &why))
        << "proto " << int(proto) << " " << drop_name(why);
  }
  // Another protocol (GRE) with no L4 payload at all is not the parser's business.
  Spec s;
  s.proto = 47;
  s.l4_bytes = 0;
  Bytes f = build_ipv4(s);
  Parsed out{};
  Drop why{};
  EXPECT_TRUE(parse_frame(f.data(), static_cast<uint32_t>(f.size()), IpChecksum::verify, &out, &why));
  EXPECT_EQ(out.proto, 47);
}

}  // namespace
}  // namespace lb
