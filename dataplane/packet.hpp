// Header layouts and the parser for what the dataplane accepts: Ethernet, at most one
// 802.1Q tag, then ARP or IPv4 (no options, no fragments) carrying TCP, UDP or ICMP.
// The parser is a pure function over a byte buffer (no mbuf), so it is unit-tested
// directly; it never reads past `len` and reports the first thing that is wrong as a
// drop reason. Thread-safe.
#pragma once

#include <cstdint>

#include "checksum.hpp"
#include "counters.hpp"
#include "net.hpp"

namespace lb {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpRst = 0x04;
constexpr uint8_t kTcpAck = 0x10;

#pragma pack(push, 1)
struct EtherHdr {
  uint8_t dst[6];
  uint8_t src[6];
  uint16_t type_be;
};
struct Ipv4Hdr {
  uint8_t version_ihl;
  uint8_t tos;
  uint16_t total_len_be;
  uint16_t id_be;
  uint16_t frag_be;
  uint8_t ttl;
  uint8_t proto;
  uint16_t check;
  uint32_t saddr_be;
  uint32_t daddr_be;
};
struct TcpHdr {
  uint16_t sport_be;
  uint16_t dport_be;
  uint32_t seq_be;
  uint32_t ack_be;
  uint8_t data_off;
  uint8_t flags;
  uint16_t window_be;
  uint16_t check;
  uint16_t urg_be;
};
struct UdpHdr {
  uint16_t sport_be;
  uint16_t dport_be;
  uint16_t len_be;
  uint16_t check;
};

struct IcmpHdr {
  uint8_t type;
  uint8_t code;
  uint16_t check;
  uint16_t id_be;
  uint16_t seq_be;
};
struct ArpHdr {
  uint16_t htype_be;
  uint16_t ptype_be;
  uint8_t hlen;
  uint8_t plen;
  uint16_t op_be;
  uint8_t sha[6];
  uint32_t spa_be;
  uint8_t tha[6];
  uint32_t tpa_be;
};
#pragma pack(pop)
static_assert(sizeof(EtherHdr) == 14 && sizeof(Ipv4Hdr) == 20 && sizeof(TcpHdr) == 20);
static_assert(sizeof(IcmpHdr) == 8 && sizeof(ArpHdr) == 28);

enum class L3 : uint8_t { ipv4, arp };

struct Parsed {
  L3 l3;
  uint8_t proto;        // IPv4 protocol (ipv4 only)
  uint16_t l3_offset;   // start of IPv4/ARP header
  uint16_t l4_offset;   // start of TCP/UDP/ICMP header (ipv4 only)
  uint16_t ip_len;      // IPv4 total length (ipv4 only)
};

// Options for what the NIC already verified.
enum class IpChecksum : uint8_t { verify, trusted_good };

// Returns true and fills `out` when the frame is acceptable; otherwise returns false and
// sets `why`. `len` is the number of bytes present in `frame` (the first segment).
bool parse_frame(const uint8_t* frame, uint32_t len, IpChecksum ip_csum, Parsed* out, Drop* why);

// The hot path's common case, inline: an untagged IPv4 frame without options or
// fragmentation carrying a valid TCP header. True (and `out` filled exactly as
// parse_frame would) when the frame is that and acceptable; false for anything else,
// valid or not, which the caller then hands to parse_frame for the verdict.
inline bool parse_tcp_fast(const uint8_t* frame, uint32_t len, IpChecksum ip_csum, Parsed* out) {
  constexpr uint32_t l3 = sizeof(EtherHdr), l4 = sizeof(EtherHdr) + sizeof(Ipv4Hdr);
  if (len < l4 + sizeof(TcpHdr)) return false;
  // Two masked words: EtherType 0x0800 and version/IHL 0x45 (bytes 12-14); no fragment
  // offset or MF flag, and protocol TCP (bytes 20-21 and 23). Loaded little-endian.
  uint32_t type_version, frag_proto;
  __builtin_memcpy(&type_version, frame + 12, 4);
  __builtin_memcpy(&frag_proto, frame + l3 + 6, 4);
  static_assert(kEtherTypeIpv4 == 0x0800 && kProtoTcp == 6);
  if (((type_version & 0x00ffffffu) ^ 0x00450008u) | ((frag_proto & 0xff00ff3fu) ^ 0x06000000u)) return false;
  const auto* ip = reinterpret_cast<const Ipv4Hdr*>(frame + l3);
  const uint32_t ip_len = ntoh16(ip->total_len_be);
  const uint32_t doff = (frame[l4 + 12] >> 4) * 4u;
  // doff >= 20 and doff <= ip_len - 20 also give ip_len >= 40.
  if (ip_len > len - l3 || doff < sizeof(TcpHdr) || doff + sizeof(Ipv4Hdr) > ip_len) return false;
  if (ip_csum == IpChecksum::verify && !ipv4_header_checksum_ok(ip)) return false;
  *out = Parsed{L3::ipv4, kProtoTcp, static_cast<uint16_t>(l3), static_cast<uint16_t>(l4),
                static_cast<uint16_t>(ip_len)};
  return true;
}

}  // namespace lb
