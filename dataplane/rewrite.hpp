// Header rewrites of the forwarding modes, with incremental checksum updates
// (RFC 1624): an address change patches both the IPv4 header checksum and the TCP
// checksum (whose pseudo-header covers the addresses); a port change patches the TCP
// checksum. Pure functions on header structs; thread-safe.
#pragma once

#include "checksum.hpp"
#include "packet.hpp"

namespace lb {

inline void set_ip_dst(Ipv4Hdr* ip, TcpHdr* tcp, uint32_t addr_be) {
  if (ip->daddr_be == addr_be) return;
  csum_replace4(&ip->check, ip->daddr_be, addr_be);
  csum_replace4(&tcp->check, ip->daddr_be, addr_be);
  ip->daddr_be = addr_be;
}

inline void set_ip_src(Ipv4Hdr* ip, TcpHdr* tcp, uint32_t addr_be) {
  if (ip->saddr_be == addr_be) return;
  csum_replace4(&ip->check, ip->saddr_be, addr_be);
  csum_replace4(&tcp->check, ip->saddr_be, addr_be);
  ip->saddr_be = addr_be;
}

inline void set_tcp_dport(TcpHdr* tcp, uint16_t port_be) {
  if (tcp->dport_be == port_be) return;
  csum_replace2(&tcp->check, tcp->dport_be, port_be);
  tcp->dport_be = port_be;
}

inline void set_tcp_sport(TcpHdr* tcp, uint16_t port_be) {
  if (tcp->sport_be == port_be) return;
  csum_replace2(&tcp->check, tcp->sport_be, port_be);
  tcp->sport_be = port_be;
}

// Routers decrement TTL; false (packet untouched) when it would reach zero.
inline bool decrement_ttl(Ipv4Hdr* ip) {
  if (ip->ttl <= 1) return false;
  uint16_t old_word, new_word;
  __builtin_memcpy(&old_word, &ip->ttl, 2);  // ttl and protocol share a 16-bit word
  --ip->ttl;
  __builtin_memcpy(&new_word, &ip->ttl, 2);
  csum_replace2(&ip->check, old_word, new_word);
  return true;
}

inline void set_macs(EtherHdr* eth, uint64_t dst_packed, uint64_t src_packed) {
  __builtin_memcpy(eth->dst, &dst_packed, 6);
  __builtin_memcpy(eth->src, &src_packed, 6);
}

}  // namespace lb
