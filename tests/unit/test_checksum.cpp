// Unit tests for checksum.hpp: full and incremental Internet checksums.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "checksum.hpp"
#include "net.hpp"
#include "rewrite.hpp"

namespace lb {
namespace {

// Reference RFC 1071 checksum written independently: big-endian 16-bit words, odd byte
// padded with a zero on the right, end-around carry, complement. Returns the value in
// host order (as it would be read with ntohs from the header).
uint16_t ref_checksum(const std::vector<uint8_t>& data) {
  uint64_t sum = 0;
  for (size_t i = 0; i < data.size(); i += 2) {
    uint16_t hi = data[i];
    uint16_t lo = i + 1 < data.size() ? data[i + 1] : 0;
    sum += static_cast<uint64_t>(hi << 8 | lo);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
// Raw (wire-order) loads/stores, as the dataplane does on real headers.
uint16_t raw16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
uint32_t raw32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void set_raw16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
void set_raw32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

TEST(Checksum, KnownIpv4HeaderExample) {
  // The classic example: 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7
  uint8_t hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  uint16_t c = csum_compute(hdr, sizeof hdr);
  set_raw16(hdr + 10, c);
  EXPECT_EQ(hdr[10], 0xb8);
  EXPECT_EQ(hdr[11], 0x61);
  EXPECT_EQ(ntoh16(c), 0xb861);
  // A header with its checksum in place sums to all ones.
  EXPECT_EQ(csum_fold(csum_partial(hdr, sizeof hdr)), 0xffff);
  // And recomputing over it yields zero.
  EXPECT_EQ(csum_compute(hdr, sizeof hdr), 0);
}

TEST(Checksum, ComputeMatchesReferenceOnRandomBuffers) {
  std::mt19937 rng(2024);
  for (int iter = 0; iter < 2000; ++iter) {
    size_t len = rng() % 1600;  // odd and even lengths, including 0 and 1
    std::vector<uint8_t> buf(len);
    int flavour = iter % 4;
    for (auto& b : buf)
      b = flavour == 0 ? 0xff : flavour == 1 ? static_cast<uint8_t>(rng() & 1 ? 0xff : 0x00)
                                             : static_cast<uint8_t>(rng());
    uint16_t got = csum_compute(buf.data(), buf.size());
    ASSERT_EQ(ntoh16(got), ref_checksum(buf)) << "len " << len << " flavour " << flavour;

    // csum_partial may be chained over even-sized chunks.
    if (len >= 2) {
      size_t split = (rng() % len) & ~size_t{1};
      uint32_t s = csum_partial(buf.data(), split);
      s = csum_partial(buf.data() + split, len - split, s);
      ASSERT_EQ(static_cast<uint16_t>(~csum_fold(s)), got);
    }
  }
}

TEST(Checksum, FoldHandlesDoubleCarry) {
  EXPECT_EQ(csum_fold(0x0000ffffu), 0xffff);
  EXPECT_EQ(csum_fold(0x00010000u), 0x0001);
  EXPECT_EQ(csum_fold(0x0001ffffu), 0x0001);  // 0xffff + 1 -> 0x10000 -> 1
  EXPECT_EQ(csum_fold(0xffffffffu), 0xffff);
  EXPECT_EQ(csum_fold(0x1234u), 0x1234);
}

std::vector<uint8_t> random_ipv4_header(std::mt19937& rng) {
  std::vector<uint8_t> h(20);
  for (auto& b : h) b = static_cast<uint8_t>(rng());
  h[0] = 0x45;
  h[10] = h[11] = 0;
  store_be16(&h[10], ref_checksum(h));
  return h;
}

// The 64-bit header sum equals the 16-bit reference on random headers and on the
// carry-heavy all-0xff and near-0xff ones.
TEST(Checksum, Ipv4HeaderSumMatchesReference) {
  std::mt19937 rng(11);
  std::vector<std::vector<uint8_t>> headers;
  for (int i = 0; i < 20000; ++i) headers.push_back(random_ipv4_header(rng));
  headers.push_back(std::vector<uint8_t>(20, 0xff));
  headers.push_back(std::vector<uint8_t>(20, 0x00));
  std::vector<uint8_t> near(20, 0xff);
  near[19] = 0xfe;
  headers.push_back(near);
  // A carry out of one of the two 64-bit additions alone: the first (words 0-7 and 8-15
  // overflow, the last word is zero), or only the second (words 0-7 all ones, 8-15 zero,
  // so the first addition cannot carry; the last word then overflows it).
  std::vector<uint8_t> first_only(20, 0xff), second_only(20, 0xff);
  for (int i = 16; i < 20; ++i) first_only[i] = 0;
  for (int i = 8; i < 16; ++i) second_only[i] = 0;
  headers.push_back(first_only);
  headers.push_back(second_only);
  for (const auto& h : headers)
    ASSERT_EQ(csum_ipv4_header_folded(h.data()), csum_fold(csum_partial(h.data(), 20)));
}

// ipv4_header_checksum_ok (a divisibility test on the unfolded sum) says yes exactly
// when the folded sum is 0xffff: for random headers with every one of the 65536 values
// in the checksum field (each has one right value, or two when that is 0x0000, the
// same one's-complement value as 0xffff), and for headers of all ones, with a single
// word set, and those whose sums carry out of the 64-bit additions: 52 headers.
TEST(Checksum, Ipv4HeaderCheckAgreesWithTheFold) {
  auto check_all_sums = [](std::vector<uint8_t> h) {
    unsigned right = 0;
    for (uint32_t v = 0; v <= 0xffff; ++v) {
      h[10] = static_cast<uint8_t>(v >> 8), h[11] = static_cast<uint8_t>(v);
      const bool want = csum_fold(csum_partial(h.data(), 20)) == 0xffff;
      ASSERT_EQ(ipv4_header_checksum_ok(h.data()), want) << "checksum field " << v;
      right += want;
    }
    EXPECT_GE(right, 1u);
    EXPECT_LE(right, 2u);
  };
  std::mt19937 rng(12);
  for (int i = 0; i < 40; ++i) check_all_sums(random_ipv4_header(rng));
  check_all_sums(std::vector<uint8_t>(20, 0xff));
  for (int word = 0; word < 10; ++word) {
    if (word == 5) continue;  // the checksum field itself
    std::vector<uint8_t> h(20, 0);
    h[2 * word] = 0x45, h[2 * word + 1] = 0x01;
    check_all_sums(h);
  }
  std::vector<uint8_t> first_only(20, 0xff), second_only(20, 0xff);
  for (int i = 16; i < 20; ++i) first_only[i] = 0;
  for (int i = 8; i < 16; ++i) second_only[i] = 0;
  check_all_sums(first_only);
  check_all_sums(second_only);
}

TEST(Checksum, IncrementalIpv4AddressRewriteMatchesRecompute) {
  std::mt19937 rng(1);
  for (int iter = 0; iter < 20000; ++iter) {
    auto h = random_ipv4_header(rng);
    // Rewrite source, destination, or both, sometimes to special values.
    int which = iter % 3;
    uint32_t new_values[2] = {static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng())};
    if (iter % 17 == 0) new_values[0] = 0;
    if (iter % 19 == 0) new_values[1] = 0xffffffffu;
    uint16_t check = raw16(&h[10]);
    for (int f = 0; f < 2; ++f) {
      if (!(which == 2 || which == f)) continue;
      uint8_t* field = &h[12 + 4 * f];
      uint32_t old_be = raw32(field);
      uint32_t new_be = hton32(new_values[f]);
      csum_replace4(&check, old_be, new_be);
      set_raw32(field, new_be);
    }
    set_raw16(&h[10], check);
    auto copy = h;
    copy[10] = copy[11] = 0;
    ASSERT_EQ(load_be16(&h[10]), ref_checksum(copy)) << "iteration " << iter;
  }
}

TEST(Checksum, IncrementalTtlDecrementMatchesRecompute) {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 5000; ++iter) {
    auto h = random_ipv4_header(rng);
    if (h[8] == 0) h[8] = 1, h[10] = h[11] = 0, store_be16(&h[10], ref_checksum(h));
    uint16_t check = raw16(&h[10]);
    uint16_t old_word = raw16(&h[8]);  // ttl, proto
    --h[8];
    csum_replace2(&check, old_word, raw16(&h[8]));
    set_raw16(&h[10], check);
    auto copy = h;
    copy[10] = copy[11] = 0;
    ASSERT_EQ(load_be16(&h[10]), ref_checksum(copy)) << "iteration " << iter;
  }
}

// A TCP segment's checksum covers a pseudo header (saddr, daddr, 0, proto, tcp length)
// and the segment. This models a buffer of pseudo header + segment, rewrites addresses
// with csum_replace4 and ports with csum_replace2, and compares with a recomputation.
struct TcpBuf {
  std::vector<uint8_t> bytes;  // 12 bytes pseudo header, then the segment
  static constexpr size_t kSaddr = 0, kDaddr = 4, kSport = 12, kDport = 14, kCheck = 12 + 16;
};

TcpBuf random_tcp(std::mt19937& rng) {
  size_t seg_len = 20 + rng() % 200;  // odd lengths included
  TcpBuf t;
  t.bytes.resize(12 + seg_len);
  for (auto& b : t.bytes) b = static_cast<uint8_t>(rng());
  t.bytes[8] = 0;
  t.bytes[9] = 6;
  store_be16(&t.bytes[10], static_cast<uint16_t>(seg_len));
  t.bytes[TcpBuf::kCheck] = t.bytes[TcpBuf::kCheck + 1] = 0;
  store_be16(&t.bytes[TcpBuf::kCheck], ref_checksum(t.bytes));
  return t;
}

uint16_t tcp_recompute(const TcpBuf& t) {
  auto copy = t.bytes;
  copy[TcpBuf::kCheck] = copy[TcpBuf::kCheck + 1] = 0;
  return ref_checksum(copy);
}

TEST(Checksum, IncrementalTcpRewriteMatchesRecompute) {
  std::mt19937 rng(5);
  for (int iter = 0; iter < 20000; ++iter) {
    TcpBuf t = random_tcp(rng);
    ASSERT_EQ(load_be16(&t.bytes[TcpBuf::kCheck]), tcp_recompute(t));
    uint16_t check = raw16(&t.bytes[TcpBuf::kCheck]);
    // nat-style: destination address and port; fullnat: source too.
    int changes = 1 + static_cast<int>(rng() % 4);
    for (int c = 0; c < changes; ++c) {
      switch (rng() % 4) {
        case 0:
        case 1: {
          size_t off = (c % 2) ? TcpBuf::kSaddr : TcpBuf::kDaddr;
          uint32_t old_be = raw32(&t.bytes[off]);
          uint32_t new_be = static_cast<uint32_t>(rng());
          csum_replace4(&check, old_be, new_be);
          set_raw32(&t.bytes[off], new_be);
          break;
        }
        default: {
          size_t off = (c % 2) ? TcpBuf::kSport : TcpBuf::kDport;
          uint16_t old_be = raw16(&t.bytes[off]);
          uint16_t new_be = static_cast<uint16_t>(rng());
          if (iter % 23 == 0) new_be = 0;
          if (iter % 29 == 0) new_be = 0xffff;
          csum_replace2(&check, old_be, new_be);
          set_raw16(&t.bytes[off], new_be);
          break;
        }
      }
    }
    set_raw16(&t.bytes[TcpBuf::kCheck], check);
    ASSERT_EQ(load_be16(&t.bytes[TcpBuf::kCheck]), tcp_recompute(t)) << "iteration " << iter;
    // The receiver's check: everything including the checksum sums to all ones.
    ASSERT_EQ(csum_fold(csum_partial(t.bytes.data(), t.bytes.size())), 0xffff);
  }
}

TEST(Checksum, IncrementalToAndFromZeroChecksum) {
  // Choose a new port so that the correct checksum becomes exactly 0x0000, then move
  // away from it again; incremental updates must agree with recomputation both ways.
  std::mt19937 rng(11);
  for (int iter = 0; iter < 2000; ++iter) {
    TcpBuf t = random_tcp(rng);
    auto without_port = t.bytes;
    without_port[TcpBuf::kDport] = without_port[TcpBuf::kDport + 1] = 0;
    without_port[TcpBuf::kCheck] = without_port[TcpBuf::kCheck + 1] = 0;
    // ref_checksum = ~S, so the port that makes S + port == 0xffff is port = ~S = ref.
    uint16_t port = ref_checksum(without_port);
    uint16_t check = raw16(&t.bytes[TcpBuf::kCheck]);
    uint16_t old_be = raw16(&t.bytes[TcpBuf::kDport]);
    uint16_t new_be = hton16(port);
    csum_replace2(&check, old_be, new_be);
    set_raw16(&t.bytes[TcpBuf::kDport], new_be);
    set_raw16(&t.bytes[TcpBuf::kCheck], check);
    ASSERT_EQ(tcp_recompute(t), 0) << "construction";
    ASSERT_EQ(check, 0) << "iteration " << iter;
    // Now from checksum 0 to something else.
    uint16_t next_be = static_cast<uint16_t>(rng());
    csum_replace2(&check, new_be, next_be);
    set_raw16(&t.bytes[TcpBuf::kDport], next_be);
    set_raw16(&t.bytes[TcpBuf::kCheck], check);
    ASSERT_EQ(load_be16(&t.bytes[TcpBuf::kCheck]), tcp_recompute(t)) << "iteration " << iter;
  }
}

TEST(Checksum, ReplaceWithSameValueKeepsChecksum) {
  std::mt19937 rng(17);
  for (int i = 0; i < 1000; ++i) {
    auto h = random_ipv4_header(rng);
    uint16_t check = raw16(&h[10]);
    uint16_t before = check;
    csum_replace4(&check, raw32(&h[12]), raw32(&h[12]));
    csum_replace2(&check, raw16(&h[2]), raw16(&h[2]));
    ASSERT_EQ(check, before);
  }
}

// The forwarding modes' one-pass rewrite (rewrite.hpp): after it, both checksums are
// what a full recompute gives, for random headers and every combination of sides.
struct Packet {
  uint8_t bytes[20 + 20 + 16];
  Ipv4Hdr* ip() { return reinterpret_cast<Ipv4Hdr*>(bytes); }
  TcpHdr* tcp() { return reinterpret_cast<TcpHdr*>(bytes + 20); }
  uint16_t ip_sum() {
    uint16_t saved = ip()->check;
    ip()->check = 0;
    uint16_t v = csum_compute(bytes, 20);
    ip()->check = saved;
    return v;
  }
  uint16_t tcp_sum() {
    uint16_t saved = tcp()->check;
    tcp()->check = 0;
    uint32_t sum = csum_partial(&ip()->saddr_be, 8);
    sum += hton16(kProtoTcp);
    sum += hton16(sizeof(bytes) - 20);
    uint16_t v = static_cast<uint16_t>(~csum_fold(csum_partial(tcp(), sizeof(bytes) - 20, sum)));
    tcp()->check = saved;
    return v;
  }
};

template <bool S, bool D>
void rewrite_matches_recompute(uint32_t seed) {
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 20000; ++iter) {
    Packet p;
    for (auto& b : p.bytes) b = static_cast<uint8_t>(rng());
    p.ip()->version_ihl = 0x45;
    p.ip()->proto = kProtoTcp;
    p.ip()->ttl = static_cast<uint8_t>(2 + rng() % 254);
    p.ip()->check = p.ip_sum();
    p.tcp()->check = p.tcp_sum();
    uint32_t sa = static_cast<uint32_t>(rng()), da = static_cast<uint32_t>(rng());
    uint16_t sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
    if (iter % 31 == 0) sa = da = 0xffffffff, sp = dp = 0xffff;
    if (iter % 37 == 0) sa = da = 0, sp = dp = 0;
    uint8_t ttl = p.ip()->ttl;
    const FlowKey from{p.ip()->saddr_be, p.ip()->daddr_be, p.tcp()->sport_be, p.tcp()->dport_be};
    const FlowKey to{S ? sa : from.saddr_be, D ? da : from.daddr_be, S ? sp : from.sport_be, D ? dp : from.dport_be};
    rewrite_l3l4<S, D>(p.ip(), p.tcp(), to, rewrite_addends(from, to));
    ASSERT_EQ(p.ip()->ttl, ttl - 1);
    if (S) {
      ASSERT_EQ(p.ip()->saddr_be, sa);
    }
    if (D) {
      ASSERT_EQ(p.tcp()->dport_be, dp);
    }
    ASSERT_EQ(p.ip()->check, p.ip_sum()) << "iteration " << iter;
    ASSERT_EQ(p.tcp()->check, p.tcp_sum()) << "iteration " << iter;
  }
}

TEST(Checksum, RewriteMatchesRecomputeForEveryMode) {
  rewrite_matches_recompute<false, true>(21);  // nat forward
  rewrite_matches_recompute<true, false>(22);  // nat reply
  rewrite_matches_recompute<true, true>(23);   // fullnat
}

// reverse_addends() of a rewrite's addends equals rewrite_addends() of the inverse
// rewrite (to swapped end for end -> from swapped likewise), bit for bit: for random
// tuples, for both nat (destination changes) and fullnat (both change), and for the
// edge cases of a sum that is zero in one's complement, which rewrite_addends() gives
// as 0xffff: no change at all (the port addend), an address that goes up by one (with
// the TTL decrement, the forward IPv4 addend) and one that goes down by one (the
// reverse IPv4 addend: its address sum is +1 against the same decrement).
TEST(Rewrite, ReverseAddendsEqualTheInverseRewritesAddends) {
  auto swapped = [](const FlowKey& k) { return FlowKey{k.daddr_be, k.saddr_be, k.dport_be, k.sport_be}; };
  std::mt19937 rng(41);
  uint64_t mismatches = 0, l4_zero = 0, ip_zero = 0, rev_ip_zero = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    FlowKey from{static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()),
                 static_cast<uint16_t>(rng())};
    FlowKey to = from;
    switch (iter % 5) {
      case 0: to.daddr_be = static_cast<uint32_t>(rng()), to.dport_be = static_cast<uint16_t>(rng()); break;
      case 1:
        to = FlowKey{static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng()),
                     static_cast<uint16_t>(rng())};
        break;
      case 2: break;  // nothing changes: the address and port sum is zero
      case 3: to.daddr_be = from.daddr_be + 1; break;  // address sum 1: with the TTL's 0xfffe, zero
      case 4: to.daddr_be = from.daddr_be - 1; break;  // the reverse's address sum is 1
    }
    const RewriteAddends fwd = rewrite_addends(from, to);
    const RewriteAddends want = rewrite_addends(swapped(to), swapped(from));
    const RewriteAddends got = reverse_addends(fwd);
    l4_zero += fwd.l4 == 0xffff;
    ip_zero += fwd.ip == 0xffff;
    rev_ip_zero += want.ip == 0xffff;
    if ((got.ip != want.ip || got.l4 != want.l4) && mismatches++ == 0)
      ADD_FAILURE() << "first mismatch, iteration " << iter << ": got " << got.ip << "/" << got.l4 << ", want "
                    << want.ip << "/" << want.l4;
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(l4_zero, 0u);  // every zero case was exercised
  EXPECT_GT(ip_zero, 0u);
  EXPECT_GT(rev_ip_zero, 0u);
}

// csum_add computes ~(~check + addend) with end-around carry (RFC 1624 eqn. 3) as a
// wrapped subtraction: checked against that formula for every 16-bit value on one side
// and the edge values plus a few hundred random ones on the other, both ways round.
TEST(Checksum, AddAddendMatchesOnesComplementSum) {
  std::vector<uint16_t> some = {0, 1, 2, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff};
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) some.push_back(static_cast<uint16_t>(rng()));
  auto reference = [](uint16_t check, uint16_t addend) {
    uint32_t sum = static_cast<uint16_t>(~check) + static_cast<uint32_t>(addend);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
  };
  uint64_t mismatches = 0;
  for (uint32_t every = 0; every <= 0xffff; ++every) {
    for (uint16_t other : some) {
      uint16_t a = static_cast<uint16_t>(every), b = other;
      csum_add(&a, other);
      csum_add(&b, static_cast<uint16_t>(every));
      mismatches += a != reference(static_cast<uint16_t>(every), other);
      mismatches += b != reference(other, static_cast<uint16_t>(every));
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

// set_macs writes the destination then the source MAC, in wire order, and no other byte
// (the EtherType after them stays).
TEST(Rewrite, SetMacsWritesBothAddressesOnly) {
  const Mac dst = *parse_mac("02:11:22:33:44:55"), src = *parse_mac("0a:bb:cc:dd:ee:ff");
  uint8_t frame[16];
  std::memset(frame, 0x5a, sizeof(frame));
  // Stale high bits in the packed values must not leak into the frame.
  set_macs(reinterpret_cast<EtherHdr*>(frame), dst.pack() | 0xabcd000000000000ull, src.pack());
  EXPECT_EQ(std::memcmp(frame, dst.bytes.data(), 6), 0);
  EXPECT_EQ(std::memcmp(frame + 6, src.bytes.data(), 6), 0);
  EXPECT_EQ(frame[12], 0x5a);
  EXPECT_EQ(frame[13], 0x5a);
}

}  // namespace
}  // namespace lb
