// Header rewrites of the forwarding modes, with incremental checksum updates
// (RFC 1624): an address change patches both the IPv4 header checksum and the TCP
// checksum (whose pseudo-header covers the addresses); a port change patches the TCP
// checksum. Pure functions on header structs; thread-safe.
#pragma once

#include "checksum.hpp"
#include "packet.hpp"

namespace lb {

// Accumulates the one's-complement difference of several field changes so a header's
// checksum is patched with one fold instead of one per field (RFC 1624, eqn. 3).
class CsumDelta {
 public:
  void change16(uint16_t old_value, uint16_t new_value) {
    sum_ += static_cast<uint16_t>(~old_value);
    sum_ += new_value;
  }
  // Whole 32-bit words: their one's-complement sum folds to the same 16 bits as the sum
  // of their halves (2^16 = 1 modulo 2^16 - 1), so no splitting is needed.
  void change32(uint32_t old_value, uint32_t new_value) {
    sum_ += static_cast<uint32_t>(~old_value);
    sum_ += new_value;
  }
  void apply(uint16_t* check) const {
    uint64_t sum = sum_ + static_cast<uint16_t>(~*check);
    sum = (sum & 0xffffffff) + (sum >> 32);  // < 2^33
    sum = (sum & 0xffffffff) + (sum >> 32);  // < 2^32
    *check = static_cast<uint16_t>(~csum_fold(static_cast<uint32_t>((sum & 0xffff) + (sum >> 16))));
  }

 private:
  uint64_t sum_ = 0;
};

// The nat/fullnat rewrites in one pass: TTL decremented, and the source and/or the
// destination (address and port, network order) replaced; each checksum is patched
// once. Which sides change is a compile-time choice (nat forward: destination; nat
// reply: source; fullnat: both). The caller checked ttl > 1.
template <bool NewSource, bool NewDestination>
inline void rewrite_l3l4(Ipv4Hdr* ip, TcpHdr* tcp, uint32_t saddr_be, uint16_t sport_be, uint32_t daddr_be,
                         uint16_t dport_be) {
  CsumDelta ip_delta, tcp_delta;
  uint16_t old_word, new_word;
  __builtin_memcpy(&old_word, &ip->ttl, 2);  // ttl and protocol share a 16-bit word
  --ip->ttl;
  __builtin_memcpy(&new_word, &ip->ttl, 2);
  ip_delta.change16(old_word, new_word);
  if constexpr (NewSource) {
    ip_delta.change32(ip->saddr_be, saddr_be);
    tcp_delta.change32(ip->saddr_be, saddr_be);
    tcp_delta.change16(tcp->sport_be, sport_be);
    ip->saddr_be = saddr_be;
    tcp->sport_be = sport_be;
  }
  if constexpr (NewDestination) {
    ip_delta.change32(ip->daddr_be, daddr_be);
    tcp_delta.change32(ip->daddr_be, daddr_be);
    tcp_delta.change16(tcp->dport_be, dport_be);
    ip->daddr_be = daddr_be;
    tcp->dport_be = dport_be;
  }
  ip_delta.apply(&ip->check);
  tcp_delta.apply(&tcp->check);
}

inline void set_macs(EtherHdr* eth, uint64_t dst_packed, uint64_t src_packed) {
  __builtin_memcpy(eth->dst, &dst_packed, 6);
  __builtin_memcpy(eth->src, &src_packed, 6);
}

}  // namespace lb
