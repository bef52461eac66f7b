#include "packet.hpp"

#include "checksum.hpp"
#include "net.hpp"

namespace lb {

bool parse_frame(const uint8_t* frame, uint32_t len, IpChecksum ip_csum, Parsed* out, Drop* why) {
  if (len < sizeof(EtherHdr)) return *why = Drop::truncated_l2, false;
  uint16_t type;
  __builtin_memcpy(&type, frame + 12, 2);
  uint32_t off = sizeof(EtherHdr);
  if (type == hton16(kEtherTypeVlan)) {
    if (len < off + 4) return *why = Drop::truncated_l2, false;
    __builtin_memcpy(&type, frame + off + 2, 2);
    off += 4;
  }
  if (type == hton16(kEtherTypeArp)) {
    if (len < off + sizeof(ArpHdr)) return *why = Drop::bad_arp, false;
    const auto* arp = reinterpret_cast<const ArpHdr*>(frame + off);
    if (arp->htype_be != hton16(1) || arp->ptype_be != hton16(kEtherTypeIpv4) || arp->hlen != 6 ||
        arp->plen != 4)
      return *why = Drop::bad_arp, false;
    *out = Parsed{L3::arp, 0, static_cast<uint16_t>(off), 0, 0};
    return true;
  }
  if (type != hton16(kEtherTypeIpv4)) return *why = Drop::unsupported_l2, false;
  if (len < off + sizeof(Ipv4Hdr)) return *why = Drop::truncated_l3, false;
  const auto* ip = reinterpret_cast<const Ipv4Hdr*>(frame + off);
  if ((ip->version_ihl >> 4) != 4 || (ip->version_ihl & 15) < 5) return *why = Drop::bad_ip_header, false;
  if ((ip->version_ihl & 15) != 5) return *why = Drop::ip_options, false;
  uint16_t ip_len = ntoh16(ip->total_len_be);
  if (ip_len < sizeof(Ipv4Hdr)) return *why = Drop::bad_ip_header, false;
  if (off + ip_len > len) return *why = Drop::truncated_l3, false;
  if (ip_csum == IpChecksum::verify && !ipv4_header_checksum_ok(ip))
    return *why = Drop::bad_ip_checksum, false;
  // MF set or a non-zero offset: a fragment. DF (0x4000) is fine.
  if (ip->frag_be & hton16(0x3fff)) return *why = Drop::ip_fragment, false;
  uint32_t l4 = off + sizeof(Ipv4Hdr);
  uint32_t l4_room = ip_len - sizeof(Ipv4Hdr);
  if (ip->proto == kProtoTcp) {
    if (l4_room < sizeof(TcpHdr)) return *why = Drop::truncated_l4, false;
    uint32_t doff = (frame[l4 + 12] >> 4) * 4u;
    if (doff < sizeof(TcpHdr) || doff > l4_room) return *why = Drop::bad_tcp_header, false;
  } else if (ip->proto == kProtoIcmp) {
    if (l4_room < sizeof(IcmpHdr)) return *why = Drop::truncated_l4, false;
  } else if (ip->proto == kProtoUdp) {
    if (l4_room < sizeof(UdpHdr)) return *why = Drop::truncated_l4, false;
  }
  *out = Parsed{L3::ipv4, ip->proto, static_cast<uint16_t>(off), static_cast<uint16_t>(l4), ip_len};
  return true;
}

}  // namespace lb
