// Unit tests for net.hpp: IPv4 / prefix / MAC parsing and printing.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "net.hpp"

namespace lb {
namespace {

constexpr uint32_t ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return a << 24 | b << 16 | c << 8 | d; }

TEST(ParseIpv4, AcceptsDottedQuads) {
  struct Case {
    const char* text;
    uint32_t host;
  } cases[] = {
      {"0.0.0.0", 0},
      {"255.255.255.255", 0xffffffffu},
      {"10.0.0.1", ip(10, 0, 0, 1)},
      {"192.168.1.200", ip(192, 168, 1, 200)},
      {"1.2.3.4", ip(1, 2, 3, 4)},
      {"100.99.9.0", ip(100, 99, 9, 0)},
      {"172.16.254.10", ip(172, 16, 254, 10)},
  };
  for (const auto& c : cases) {
    auto a = parse_ipv4(c.text);
    ASSERT_TRUE(a.has_value()) << c.text;
    EXPECT_EQ(a->host, c.host) << c.text;
  }
}

TEST(ParseIpv4, RejectsMalformed) {
  const char* bad[] = {
      "",              // empty
      "1.2.3",         // too few octets
      "1.2.3.4.5",     // too many octets
      "256.1.1.1",     // > 255
      "1.2.3.256",     // > 255 in the last octet
      "1.300.3.4",     // > 255
      "1.2.3.1000",    // four digits
      "01.2.3.4",      // leading zero
      "1.2.3.04",      // leading zero in the last octet
      "1.00.3.4",      // "00"
      "1.2.3.4x",      // trailing junk
      "1.2.3.4 ",      // trailing space
      " 1.2.3.4",      // leading space
      "1.2.3.4.",      // trailing dot
      ".1.2.3.4",      // leading dot
      "1..3.4",        // empty octet
      "1.2.3.-4",      // sign
      "1.2.+3.4",      // sign
      "a.b.c.d",       // letters
      "1.2.3.4/24",    // a prefix is not an address
      "99999999999.1.1.1",  // overflows the integer parse
      "0x1.2.3.4",     // hex
  };
  for (const char* text : bad) EXPECT_FALSE(parse_ipv4(text).has_value()) << '"' << text << '"';
}

TEST(ParseIpv4, DoesNotReadBeyondTheView) {
  // The view stops before the junk; parsing must look only at the view.
  std::string s = "10.1.2.3999";
  auto a = parse_ipv4(std::string_view(s).substr(0, 8));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->host, ip(10, 1, 2, 3));
}

TEST(Ipv4, ToStringRoundTripsRandomAddresses) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    uint32_t v = rng();
    if (i == 0) v = 0;
    if (i == 1) v = 0xffffffffu;
    Ipv4 a{v};
    std::string s = to_string(a);
    // Independent expectation of the text.
    std::string expect = std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." +
                         std::to_string((v >> 8) & 255) + "." + std::to_string(v & 255);
    ASSERT_EQ(s, expect);
    auto back = parse_ipv4(s);
    ASSERT_TRUE(back.has_value()) << s;
    ASSERT_EQ(*back, a) << s;
  }
}

TEST(Ipv4, ByteOrderHelpers) {
  Ipv4 a{ip(192, 168, 0, 1)};
  uint32_t be = a.be();
  const auto* bytes = reinterpret_cast<const uint8_t*>(&be);
  EXPECT_EQ(bytes[0], 192);
  EXPECT_EQ(bytes[1], 168);
  EXPECT_EQ(bytes[2], 0);
  EXPECT_EQ(bytes[3], 1);
  EXPECT_EQ(Ipv4::from_be(be), a);
  uint16_t p = hton16(0x1234);
  const auto* pb = reinterpret_cast<const uint8_t*>(&p);
  EXPECT_EQ(pb[0], 0x12);
  EXPECT_EQ(pb[1], 0x34);
  EXPECT_EQ(ntoh16(p), 0x1234);
  EXPECT_EQ(ntoh32(hton32(0xdeadbeefu)), 0xdeadbeefu);
  EXPECT_LT(Ipv4{1}, Ipv4{2});
}

TEST(ParsePrefix, Good) {
  auto p = parse_prefix("10.1.0.0/16");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->addr.host, ip(10, 1, 0, 0));
  EXPECT_EQ(p->len, 16);

  p = parse_prefix("192.168.7.9");  // bare address is /32
  ASSERT_TRUE(p);
  EXPECT_EQ(p->addr.host, ip(192, 168, 7, 9));
  EXPECT_EQ(p->len, 32);

  p = parse_prefix("0.0.0.0/0");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->len, 0);

  p = parse_prefix("1.2.3.4/32");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->len, 32);
}

TEST(ParsePrefix, Bad) {
  const char* bad[] = {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8x", "10.0.0/8", "/8",
                       "10.0.0.0/-1", "10.0.0.0/8/8", "300.0.0.0/8", "10.0.0.0/ 8", "10.0.0.0/100", ""};
  for (const char* text : bad) EXPECT_FALSE(parse_prefix(text).has_value()) << '"' << text << '"';
}

// Reference: a contains b iff the first len bits agree, computed bit by bit.
bool ref_contains(uint32_t net, int len, uint32_t a) {
  for (int bit = 31; bit > 31 - len; --bit)
    if (((net >> bit) & 1) != ((a >> bit) & 1)) return false;
  return true;
}

TEST(Prefix, Contains) {
  auto p = *parse_prefix("10.1.0.0/16");
  EXPECT_TRUE(p.contains(Ipv4{ip(10, 1, 0, 0)}));
  EXPECT_TRUE(p.contains(Ipv4{ip(10, 1, 255, 255)}));
  EXPECT_TRUE(p.contains(Ipv4{ip(10, 1, 2, 3)}));
  EXPECT_FALSE(p.contains(Ipv4{ip(10, 2, 0, 0)}));
  EXPECT_FALSE(p.contains(Ipv4{ip(10, 0, 255, 255)}));
  EXPECT_FALSE(p.contains(Ipv4{ip(11, 1, 0, 0)}));

  auto all = *parse_prefix("0.0.0.0/0");
  EXPECT_TRUE(all.contains(Ipv4{0}));
  EXPECT_TRUE(all.contains(Ipv4{0xffffffffu}));

  auto host = *parse_prefix("192.168.1.1");
  EXPECT_TRUE(host.contains(Ipv4{ip(192, 168, 1, 1)}));
  EXPECT_FALSE(host.contains(Ipv4{ip(192, 168, 1, 0)}));
  EXPECT_FALSE(host.contains(Ipv4{ip(192, 168, 1, 2)}));

  // Host bits set in the prefix address do not matter.
  auto sloppy = *parse_prefix("192.168.1.77/24");
  EXPECT_TRUE(sloppy.contains(Ipv4{ip(192, 168, 1, 1)}));
  EXPECT_FALSE(sloppy.contains(Ipv4{ip(192, 168, 2, 77)}));

  // /31 and /1 edges.
  auto p31 = *parse_prefix("10.0.0.4/31");
  EXPECT_TRUE(p31.contains(Ipv4{ip(10, 0, 0, 5)}));
  EXPECT_FALSE(p31.contains(Ipv4{ip(10, 0, 0, 6)}));
  auto p1 = *parse_prefix("128.0.0.0/1");
  EXPECT_TRUE(p1.contains(Ipv4{ip(200, 0, 0, 0)}));
  EXPECT_FALSE(p1.contains(Ipv4{ip(127, 255, 255, 255)}));

  // Random against the bitwise reference, every length.
  std::mt19937 rng(7);
  for (int len = 0; len <= 32; ++len) {
    for (int i = 0; i < 200; ++i) {
      uint32_t net = rng();
      uint32_t a = rng();
      if (i % 2) {  // make half of them share a random-length prefix with net
        int share = static_cast<int>(rng() % 33);
        uint32_t mask = share == 0 ? 0 : (share == 32 ? 0xffffffffu : ~((1u << (32 - share)) - 1));
        a = (net & mask) | (a & ~mask);
      }
      Prefix p{Ipv4{net}, static_cast<uint8_t>(len)};
      ASSERT_EQ(p.contains(Ipv4{a}), ref_contains(net, len, a)) << "len " << len;
    }
  }
}

TEST(ParseMac, GoodAndRoundTrip) {
  auto m = parse_mac("00:1b:21:3c:4d:5e");
  ASSERT_TRUE(m);
  std::array<uint8_t, 6> expect{0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e};
  EXPECT_EQ(m->bytes, expect);
  EXPECT_EQ(to_string(*m), "00:1b:21:3c:4d:5e");
  EXPECT_FALSE(m->is_zero());

  auto upper = parse_mac("AA:BB:CC:DD:EE:FF");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->bytes, (std::array<uint8_t, 6>{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}));
  EXPECT_EQ(to_string(*upper), "aa:bb:cc:dd:ee:ff");

  auto zero = parse_mac("00:00:00:00:00:00");
  ASSERT_TRUE(zero);
  EXPECT_TRUE(zero->is_zero());

  std::mt19937 rng(99);
  for (int i = 0; i < 500; ++i) {
    Mac mac;
    for (auto& b : mac.bytes) b = static_cast<uint8_t>(rng());
    std::string s = to_string(mac);
    ASSERT_EQ(s.size(), 17u);
    auto back = parse_mac(s);
    ASSERT_TRUE(back) << s;
    ASSERT_EQ(*back, mac) << s;
    ASSERT_EQ(Mac::unpack(mac.pack()), mac);
    ASSERT_EQ(mac.pack() >> 48, 0u);
  }
}

TEST(ParseMac, Bad) {
  const char* bad[] = {
      "",
      "00:11:22:33:44",        // too short
      "00:11:22:33:44:55:66",  // too long
      "00:11:22:33:44:5",      // short last byte
      "00-11-22-33-44-55",     // wrong separator
      "00:11:22:33:44;55",     // wrong separator at the end
      "0g:11:22:33:44:55",     // not hex
      "00:11:22:33:44:5z",     // not hex
      "001:1:22:33:44:55",     // misplaced separator
      "+0:11:22:33:44:55",     // sign
      " 0:11:22:33:44:55",     // space
      "00:11:22:33:44:55 ",    // trailing junk
  };
  for (const char* text : bad) EXPECT_FALSE(parse_mac(text).has_value()) << '"' << text << '"';
}

}  // namespace
}  // namespace lb
