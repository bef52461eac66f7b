// Header rewrites of the forwarding modes, with incremental checksum updates
// (RFC 1624): an address change patches both the IPv4 header checksum and the TCP
// checksum (whose pseudo-header covers the addresses); a port change patches the TCP
// checksum. Pure functions on header structs; thread-safe.
#pragma once

#include <cstddef>

#include "checksum.hpp"
#include "flow_table.hpp"
#include "packet.hpp"

namespace lb {

// The one's-complement sum of a TTL decrement: the TTL and protocol word (as loaded)
// goes from w to w - 1, so ~w + (w - 1) = 0xfffe.
constexpr uint16_t kTtlDecrementAddend = 0xfffe;

// The checksum addends of one direction of a flow's rewrite: a packet whose addresses
// and ports are `from` (as received) leaves with `to`. Computed once when the flow is
// created, so a packet's checksums are patched with one addition each, whatever changes.
// The IPv4 addend includes the TTL decrement.
struct RewriteAddends {
  uint16_t ip;
  uint16_t l4;
};
// RFC 1624 eqn. 3 (HC' = ~(~HC + ~m + m')) summed over every changed word; addresses
// are summed as whole 32-bit words, which fold to the same 16 bits as their halves
// (2^16 = 1 modulo 2^16 - 1).
inline RewriteAddends rewrite_addends(const FlowKey& from, const FlowKey& to) {
  const uint64_t addrs = static_cast<uint64_t>(~from.saddr_be) + to.saddr_be + static_cast<uint32_t>(~from.daddr_be) +
                         to.daddr_be;
  const uint32_t ports = static_cast<uint32_t>(static_cast<uint16_t>(~from.sport_be)) + to.sport_be +
                         static_cast<uint16_t>(~from.dport_be) + to.dport_be;
  auto fold = [](uint64_t sum) {
    sum = (sum & 0xffffffff) + (sum >> 32);  // < 2^33
    sum = (sum & 0xffffffff) + (sum >> 32);  // < 2^32
    return csum_fold(static_cast<uint32_t>(sum));
  };
  return RewriteAddends{fold(addrs + kTtlDecrementAddend), fold(addrs + ports)};
}

// The addends of the inverse rewrite, from those of a rewrite: for a flow's replies,
// which arrive with `to` swapped end for end and leave with `from` swapped likewise.
// Each changed word w -> w' becomes w' -> w, so the address and port sum is negated;
// the IPv4 addend's TTL decrement (kTtlDecrementAddend) is not, so it is taken out and
// put back: rev.ip = 2 * ttl - fwd.ip, rev.l4 = -fwd.l4 (one's complement). Every sum
// folded here is nonzero, so, as from rewrite_addends(), a zero sum comes out as 0xffff:
// the result equals rewrite_addends() of the reverse direction bit for bit (tested in
// test_checksum.cpp), for a few folds instead of a second sum of eight words.
inline RewriteAddends reverse_addends(RewriteAddends fwd) {
  const uint32_t neg_ip = static_cast<uint16_t>(~fwd.ip), neg_l4 = static_cast<uint16_t>(~fwd.l4);
  return RewriteAddends{csum_fold(neg_ip + 2u * kTtlDecrementAddend), csum_fold(neg_l4 + 0xffffu)};
}

// Adds a precomputed addend to a header checksum (as stored): ~(~check + addend) in
// one's complement, which is check - addend with the borrow wrapped around (for
// addend > check the result is check - addend - 1 modulo 2^16), bit for bit (tested
// in test_checksum.cpp over every value on one side against edge and random values on
// the other): a 16-bit subtract and a subtract of the borrow instead of two complements
// and a fold.
inline void csum_add(uint16_t* check, uint16_t addend) {
  const uint16_t c = *check;
  *check = static_cast<uint16_t>(c - addend - (addend > c));
}

// The nat/fullnat rewrites: TTL decremented, the source and/or the destination
// (address and port, network order) set from `to`, and each checksum patched with the
// addends rewrite_addends() gave for this change. Which sides change is a compile-time
// choice (nat forward: destination; nat reply: source; fullnat: both). The caller
// checked ttl > 1.
template <bool NewSource, bool NewDestination>
inline void rewrite_l3l4(Ipv4Hdr* ip, TcpHdr* tcp, const FlowKey& to, RewriteAddends addends) {
  --ip->ttl;
  if constexpr (NewSource) {
    ip->saddr_be = to.saddr_be;
    tcp->sport_be = to.sport_be;
  }
  if constexpr (NewDestination) {
    ip->daddr_be = to.daddr_be;
    tcp->dport_be = to.dport_be;
  }
  csum_add(&ip->check, addends.ip);
  csum_add(&tcp->check, addends.l4);
}

// Both MAC addresses (each packed in the low 48 bits, in wire order from the lowest
// byte) as one 8-byte and one 4-byte store.
inline void set_macs(EtherHdr* eth, uint64_t dst_packed, uint64_t src_packed) {
  static_assert(offsetof(EtherHdr, dst) == 0 && offsetof(EtherHdr, src) == 6);
  const uint64_t head = (dst_packed & 0xffffffffffffull) | (src_packed << 48);
  const uint32_t tail = static_cast<uint32_t>(src_packed >> 16);
  __builtin_memcpy(reinterpret_cast<uint8_t*>(eth), &head, 8);
  __builtin_memcpy(reinterpret_cast<uint8_t*>(eth) + 8, &tail, 4);
}

}  // namespace lb
