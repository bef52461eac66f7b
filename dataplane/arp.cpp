#include "arp.hpp"

#include "neighbour.hpp"
#include "packet.hpp"
#include "snapshot.hpp"

namespace lb {

rte_mbuf* arp_input(rte_mbuf* m, const Snapshot& snap, NeighbourTable& neighbours, uint64_t now_ms) {
  auto* frame = rte_pktmbuf_mtod(m, uint8_t*);
  Parsed p;
  Drop why;
  const uint16_t port_index = snap.port_index(m->port);
  if (port_index == Snapshot::kNoPort ||
      !parse_frame(frame, rte_pktmbuf_data_len(m), IpChecksum::verify, &p, &why) || p.l3 != L3::arp) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  auto* eth = reinterpret_cast<EtherHdr*>(frame);
  auto* arp = reinterpret_cast<ArpHdr*>(frame + p.l3_offset);
  Mac sender;
  __builtin_memcpy(sender.bytes.data(), arp->sha, 6);
  if (arp->spa_be != 0) neighbours.learn(Ipv4::from_be(arp->spa_be), port_index, sender, now_ms);
  if (arp->op_be != hton16(1) || (snap.address_kind(arp->tpa_be) & kAddrLocal) == 0) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  // Turn the request into the reply in place.
  uint64_t our_mac = snap.ports[port_index].mac;
  uint32_t asked = arp->tpa_be;
  arp->op_be = hton16(2);
  __builtin_memcpy(arp->tha, arp->sha, 6);
  arp->tpa_be = arp->spa_be;
  __builtin_memcpy(arp->sha, &our_mac, 6);
  arp->spa_be = asked;
  __builtin_memcpy(eth->dst, eth->src, 6);
  __builtin_memcpy(eth->src, &our_mac, 6);
  return m;
}

rte_mbuf* arp_request(rte_mempool* pool, const Snapshot& snap, uint16_t port_index, Ipv4 target) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (!m) return nullptr;
  constexpr uint16_t kLen = sizeof(EtherHdr) + sizeof(ArpHdr) + 18;  // padded to 60 bytes
  auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kLen));
  if (!frame) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  __builtin_memset(frame, 0, kLen);
  auto* eth = reinterpret_cast<EtherHdr*>(frame);
  auto* arp = reinterpret_cast<ArpHdr*>(frame + sizeof(EtherHdr));
  uint64_t our_mac = snap.ports[port_index].mac;
  __builtin_memset(eth->dst, 0xff, 6);
  __builtin_memcpy(eth->src, &our_mac, 6);
  eth->type_be = hton16(kEtherTypeArp);
  arp->htype_be = hton16(1);
  arp->ptype_be = hton16(kEtherTypeIpv4);
  arp->hlen = 6;
  arp->plen = 4;
  arp->op_be = hton16(1);
  __builtin_memcpy(arp->sha, &our_mac, 6);
  arp->spa_be = snap.ports[port_index].addr_be;
  arp->tpa_be = target.be();
  m->port = snap.ports[port_index].dpdk_port;
  return m;
}

}  // namespace lb
