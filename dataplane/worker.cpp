#include "worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>

#include "fullnat_ports.hpp"
#include "prefetch.hpp"
#include "rewrite.hpp"

namespace lb {

namespace {

inline uint32_t tsc_now_ms(uint64_t tsc, uint64_t tsc_per_ms) { return static_cast<uint32_t>(tsc / tsc_per_ms); }

inline uint64_t hash_addr(uint32_t addr_be) { return (addr_be ^ 0x5bd1e995u) * 0xc6a4a7935bd1e995ull; }

uint32_t open_flows_all_workers(const void* ctx, uint16_t backend_id) {
  const auto* shared = static_cast<const DataplaneShared*>(ctx);
  uint32_t sum = 0;
  for (uint16_t w = 0; w < shared->workers; ++w)
    sum += shared->worker[w]->backends[backend_id].open.load(std::memory_order_relaxed);
  return sum;
}

}  // namespace

// Everything a packet's handling needs, so the per-mode functions stay small.
//
// A burst is processed in stages so that the cache misses of different packets
// overlap instead of following one another:
//   1. classify every packet (parse, VIP/address lookup, owner); hand off, answer or
//      drop those that need no flow; hash the flow key and prefetch its primary bucket;
//   2. find every key's signature match in its (now cached) bucket and prefetch that
//      entry (or, for the few keys whose primary bucket overflowed, the secondary
//      bucket, then its match); then, in a loop of its own, confirm each key against
//      its entry (a tight loop of independent loads keeps many misses in flight:
//      confirming each key just before forwarding its packet measured 30% slower at
//      1 M flows, though it ran fewer instructions);
//   3. forward each packet. An entry found in stage 2 is re-checked first, since an
//      earlier packet of the same burst may have evicted or replaced it, and a miss is
//      looked up again, since an earlier SYN of the burst may have created the flow.
// The common packet (a flow of the VIP's mode that is established or completes its
// handshake, no SYN, FIN or RST) takes an inline fast path; everything else goes
// through forward_slow().
class Pipeline {
 public:
  Pipeline(Worker& w, const Snapshot& s) : w_(w), s_(s), neighbour_macs_(*w.shared->neighbour_macs) {}

  void process_burst(rte_mbuf** pkts, uint16_t n, bool owned);

 private:
  // Where a packet goes after the lookup: forwarding in its VIP's mode (one switch
  // decides both), or a reply.
  enum class Path : uint8_t { nat, fullnat, dsr, reply, reply_snat };
  static Path forward_path(FwdMode mode) { return static_cast<Path>(mode); }
  static_assert(static_cast<uint8_t>(FwdMode::nat) == static_cast<uint8_t>(Path::nat) &&
                static_cast<uint8_t>(FwdMode::fullnat) == static_cast<uint8_t>(Path::fullnat) &&
                static_cast<uint8_t>(FwdMode::dsr) == static_cast<uint8_t>(Path::dsr));
  struct Pending {  // a packet that needs the flow table, between the stages
    rte_mbuf* m;
    EtherHdr* eth;
    Ipv4Hdr* ip;
    TcpHdr* tcp;
    const VipSnap* vip;
    FlowKey key;
    FlowTable::Hashed hashed;
    uint32_t candidate;  // FlowTable::candidate(hashed), then candidate_secondary()
    Flow* found;         // looked up when flows->mutations() was lookups_at_
    bool found_reply;
    bool unindexed;      // no index slot carried the key's signature (see current_flow)
    Path path;
    uint16_t in_port;
  };
  // Stage 1 for one packet: true (and `out` filled) when it needs the flow table.
  // `others_hand_off`: packets another worker owns go to it (a burst from a port, with
  // more than one worker); decided once a burst, not per packet.
  [[gnu::always_inline]] inline bool classify(rte_mbuf* m, bool others_hand_off, Pending* out);
  // classify() for a TCP segment, wherever its headers are.
  [[gnu::always_inline]] inline bool classify_tcp(rte_mbuf* m, bool others_hand_off, EtherHdr* eth, Ipv4Hdr* ip, TcpHdr* tcp,
                                                  uint16_t in_port, Pending* out);
  // Small and called once per packet: inlined (GCC kept them out of line, paying a
  // call and spills on every packet).
  [[gnu::always_inline]] inline void dispatch(Pending& p);
  [[gnu::always_inline]] inline Flow* current_flow(Pending& p, bool* reply);
  // Snapshot::find_vip with a one-entry cache: a burst's packets mostly share a VIP.
  [[gnu::always_inline]] inline const VipSnap* vip_for(uint32_t addr_be, uint16_t port_be) {
    const uint64_t key = (static_cast<uint64_t>(addr_be) << 16) | port_be;
    if (key == vip_cache_key_) return vip_cache_;  // key 0 (no VIP) starts cached as nullptr
    const VipSnap* vip = s_.find_vip(addr_be, port_be);
    if (vip) {
      vip_cache_key_ = key;
      vip_cache_ = vip;
    }
    return vip;
  }

  void drop(rte_mbuf* m, Drop why) {
    w_.counters.drop(why);
    rte_pktmbuf_free(m);
  }
  [[gnu::always_inline]] inline void send(rte_mbuf* m, uint16_t port_index);
  bool hand_off(rte_mbuf* m, uint32_t owner);
  void to_slowpath(rte_mbuf* m);
  void icmp_echo(rte_mbuf* m, EtherHdr* eth, Ipv4Hdr* ip, IcmpHdr* icmp, uint16_t in_port);
  template <FwdMode M>
  [[gnu::always_inline]] inline void forward(Pending& p);
  template <FwdMode M>
  [[gnu::noinline]] void forward_slow(Pending& p, Flow* f, bool is_reply);
  template <FwdMode M>
  [[gnu::always_inline]] inline void emit(Pending& p, Flow* f);
  // Called from forward_slow() alone, which is out of line already: inlined there, a
  // SYN pays one call and one set of spills instead of two.
  template <FwdMode M>
  [[gnu::always_inline]] inline Flow* new_flow(Pending& p, bool syn);
  void reply(Pending& p, Drop if_unknown);
  void refuse(Pending& p);
  void track_state(Flow* f, uint8_t tcp_flags, bool from_client);
  void flow_closing(Flow* f);

  Worker& w_;
  const Snapshot& s_;
  const NeighbourMacs& neighbour_macs_;
  uint64_t vip_cache_key_ = 0;
  const VipSnap* vip_cache_ = nullptr;
  // flows->mutations() when stage 2 looked up the burst's keys (it changes nothing).
  uint64_t lookups_at_ = 0;
};


void Pipeline::process_burst(rte_mbuf** pkts, uint16_t n, bool owned) {
  Pending pending[256];
  uint16_t count = 0;
  FlowTable& flows = *w_.flows;
  // Before classifying, for the whole burst: both lines of each mbuf header (a NIC's
  // RX writes them, so they are cached, but mbufs from a ring were last written by
  // another core; the second holds `next`, which the transmit's free reads), and the
  // data where it lies in an mbuf with no private area and the default headroom, as in
  // lbdp's pools and the generator's: its exact address needs the header's line, which
  // would hold back the first packets' data requests. A wrong guess only wastes a
  // prefetch; when the burst's first mbuf shows one (a pool of another layout, e.g. with
  // a private area), its own offset from mbuf to data becomes the guess for the whole
  // burst, whose mbufs mostly share a pool and headroom: all their data requests then
  // go out at once, one header line later (measured: prefetching the exact addresses
  // three packets ahead instead cost such a pool 16-19 cycles per packet more than
  // lbdp's own, docs/performance.md). The data is prefetched for writing, since its
  // headers are rewritten in place. Each of these measured faster on the generator
  // path (docs/performance.md, 2026-12-03).
  for (uint16_t i = 0; i < n; ++i) {
    rte_prefetch0(pkts[i]);
    rte_prefetch0(RTE_PTR_ADD(pkts[i], RTE_CACHE_LINE_SIZE));
    prefetch_for_write(guessed_data(pkts[i]));
  }
  if (n && rte_pktmbuf_mtod(pkts[0], void*) != guessed_data(pkts[0])) [[unlikely]] {
    const uintptr_t offset = rte_pktmbuf_mtod(pkts[0], uintptr_t) - reinterpret_cast<uintptr_t>(pkts[0]);
    for (uint16_t i = 0; i < n; ++i) prefetch_for_write(RTE_PTR_ADD(pkts[i], offset));
  }
  const bool others_hand_off = !owned && s_.workers > 1;
  uint64_t rx_bytes = 0;  // counted once per burst (a register, not a counter per packet)
  for (uint16_t i = 0; i < n; ++i) {
    rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);  // before classify(), which may free it
    Pending& p = pending[count];
    if (!classify(pkts[i], others_hand_off, &p)) continue;
    // nat flows are indexed by the client's address and port (flow_table.hpp): the
    // source of a client's packet, the destination of a backend's reply.
    if (p.path == Path::nat)
      p.hashed = flows.hash_client(p.key.saddr_be, p.key.sport_be);
    else if (p.path == Path::reply)
      p.hashed = flows.hash_client(p.key.daddr_be, p.key.dport_be);
    else
      p.hashed = flows.hash(p.key);
    flows.prefetch_bucket(p.hashed);
    ++count;
  }
  // Handed-off packets (owned) were counted by the worker that received them.
  if (!owned) w_.counters.count(Event::rx_bytes, rx_bytes);
  bool secondary = false;
  for (uint16_t i = 0; i < count; ++i) {
    pending[i].candidate = flows.candidate(pending[i].hashed);
    secondary |= pending[i].candidate == FlowTable::kProbeSecondary;
  }
  if (secondary)
    for (uint16_t i = 0; i < count; ++i)
      if (pending[i].candidate == FlowTable::kProbeSecondary)
        pending[i].candidate = flows.candidate_secondary(pending[i].hashed);
  for (uint16_t i = 0; i < count; ++i) {
    Pending& p = pending[i];
    p.found_reply = false;  // lookups leave it alone on a miss
    p.unindexed = p.candidate == FlowTable::kNone;
    p.found = flows.lookup_from(p.key, p.hashed, p.candidate, &p.found_reply);
  }
  lookups_at_ = flows.mutations();
  for (uint16_t i = 0; i < count; ++i) dispatch(pending[i]);
}

Flow* Pipeline::current_flow(Pending& p, bool* reply) {
  if (w_.flows->mutations() == lookups_at_) {  // nothing changed since the lookup
    *reply = p.found_reply;
    return p.found;
  }
  if (p.found && FlowTable::still_holds(p.found, p.key, p.found_reply)) {
    *reply = p.found_reply;
    return p.found;
  }
  return w_.flows->lookup(p.key, p.hashed, reply, &p.unindexed);
}

void Pipeline::dispatch(Pending& p) {
  switch (p.path) {
    case Path::nat: return forward<FwdMode::nat>(p);
    case Path::fullnat: return forward<FwdMode::fullnat>(p);
    case Path::dsr: return forward<FwdMode::dsr>(p);
    case Path::reply_snat: return reply(p, Drop::no_flow);
    case Path::reply: return reply(p, Drop::not_for_us);
  }
}

void Pipeline::send(rte_mbuf* m, uint16_t port_index) {
  w_.queue_tx(m, port_index, s_);
}

bool Pipeline::hand_off(rte_mbuf* m, uint32_t owner) {
  if (rte_ring_sp_enqueue(w_.handoff_out[owner], m) != 0) {
    drop(m, Drop::handoff_full);
  } else {
    w_.counters.count(Event::handoff_out);
  }
  return true;
}

void Pipeline::to_slowpath(rte_mbuf* m) {
  if (rte_ring_sp_enqueue(w_.slowpath_out, m) != 0) return drop(m, Drop::slowpath_full);
  w_.counters.count(Event::slowpath);
}

bool Pipeline::classify_tcp(rte_mbuf* m, bool others_hand_off, EtherHdr* eth, Ipv4Hdr* ip, TcpHdr* tcp, uint16_t in_port,
                            Pending* out) {
  // Only what stage 1 knows; hashed and found* are written by the later stages.
  out->m = m;
  out->eth = eth;
  out->ip = ip;
  out->tcp = tcp;
  out->vip = nullptr;
  out->key = FlowKey{ip->saddr_be, ip->daddr_be, tcp->sport_be, tcp->dport_be};
  out->in_port = in_port;
  if (const VipSnap* vip = vip_for(ip->daddr_be, tcp->dport_be)) {
    if (others_hand_off) {
      uint32_t owner = owner_of(ip->saddr_be, tcp->sport_be, s_.workers);
      if (owner != w_.index) return hand_off(m, owner), false;
    }
    out->vip = vip;
    out->path = forward_path(vip->mode);
    return true;
  }
  uint8_t kind = s_.address_kind(ip->daddr_be);
  if (kind & kAddrSnat) {  // fullnat reply: the local port names the owner
    if (others_hand_off) {
      uint32_t owner = ntoh16(tcp->dport_be) % s_.workers;
      if (owner != w_.index) return hand_off(m, owner), false;
    }
    out->path = Path::reply_snat;
    return true;
  }
  if (kind & kAddrVip) return drop(m, Drop::vip_port_closed), false;
  if (kind & kAddrLocal) return drop(m, Drop::not_for_us), false;
  // Possibly a nat reply (backend -> client), owned by the client's address and port.
  if (others_hand_off) {
    uint32_t owner = owner_of(ip->daddr_be, tcp->dport_be, s_.workers);
    if (owner != w_.index) return hand_off(m, owner), false;
  }
  out->path = Path::reply;
  return true;
}

bool Pipeline::classify(rte_mbuf* m, bool others_hand_off, Pending* out) {
  auto* frame = rte_pktmbuf_mtod(m, uint8_t*);
  uint64_t csum_flags = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (csum_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD) return drop(m, Drop::bad_ip_checksum), false;
  IpChecksum ip_csum = csum_flags == RTE_MBUF_F_RX_IP_CKSUM_GOOD ? IpChecksum::trusted_good : IpChecksum::verify;
  const uint32_t len = rte_pktmbuf_data_len(m);
  // The common frame (untagged IPv4/TCP, no options) with its offsets as constants.
  // parse_tcp_fast() also describes the frame in a Parsed (which its tests compare with
  // parse_frame()'s); nothing here reads it, and the compiler drops those stores.
  Parsed fast;
  if (parse_tcp_fast(frame, len, ip_csum, &fast)) [[likely]] {
    const uint16_t in_port = s_.port_index(m->port);
    if (in_port == Snapshot::kNoPort) return drop(m, Drop::not_for_us), false;
    return classify_tcp(m, others_hand_off, reinterpret_cast<EtherHdr*>(frame),
                        reinterpret_cast<Ipv4Hdr*>(frame + sizeof(EtherHdr)),
                        reinterpret_cast<TcpHdr*>(frame + sizeof(EtherHdr) + sizeof(Ipv4Hdr)), in_port, out);
  }
  Parsed p;
  Drop why;
  if (!parse_frame(frame, len, ip_csum, &p, &why)) return drop(m, why), false;
  const uint16_t in_port = s_.port_index(m->port);
  if (in_port == Snapshot::kNoPort) return drop(m, Drop::not_for_us), false;
  if (p.l3 == L3::arp) return to_slowpath(m), false;

  auto* eth = reinterpret_cast<EtherHdr*>(frame);
  auto* ip = reinterpret_cast<Ipv4Hdr*>(frame + p.l3_offset);
  if (p.proto == kProtoTcp)
    return classify_tcp(m, others_hand_off, eth, ip, reinterpret_cast<TcpHdr*>(frame + p.l4_offset), in_port, out);
  if (p.proto == kProtoIcmp && (s_.address_kind(ip->daddr_be) & kAddrLocal)) {
    auto* icmp = reinterpret_cast<IcmpHdr*>(frame + p.l4_offset);
    if (icmp->type == 8 && icmp->code == 0) return icmp_echo(m, eth, ip, icmp, in_port), false;
    return drop(m, Drop::icmp_ignored), false;
  }
  if (p.proto == kProtoUdp && s_.heartbeat_port_be) {
    // A broker's heartbeat: to an own address and the heartbeat port, from a configured
    // backend, on a server-side port. It goes to lbcp through the main lcore, on a ring
    // of its own so that a flood cannot crowd out ARP.
    auto* udp = reinterpret_cast<UdpHdr*>(frame + p.l4_offset);
    if (udp->dport_be == s_.heartbeat_port_be && (s_.address_kind(ip->daddr_be) & kAddrOwn) &&
        (s_.address_kind(ip->saddr_be) & kAddrBackend) && s_.ports[in_port].server_side) {
      if (rte_ring_sp_enqueue(w_.heartbeat_out, m) != 0) return drop(m, Drop::heartbeat_ring_full), false;
      w_.counters.count(Event::slowpath);
      return false;
    }
  }
  drop(m, Drop::not_for_us);
  return false;
}

void Pipeline::icmp_echo(rte_mbuf* m, EtherHdr* eth, Ipv4Hdr* ip, IcmpHdr* icmp, uint16_t in_port) {
  uint64_t client_mac = 0;
  __builtin_memcpy(&client_mac, eth->src, 6);
  set_macs(eth, client_mac, s_.ports[in_port].mac);
  std::swap(ip->saddr_be, ip->daddr_be);
  ip->ttl = 64;
  ip->check = 0;
  ip->check = csum_compute(ip, sizeof(Ipv4Hdr));
  uint16_t old_word, new_word;
  __builtin_memcpy(&old_word, &icmp->type, 2);
  icmp->type = 0;
  __builtin_memcpy(&new_word, &icmp->type, 2);
  csum_replace2(&icmp->check, old_word, new_word);
  w_.counters.count(Event::icmp_echo_replies);
  send(m, in_port);
}

void Pipeline::flow_closing(Flow* f) { w_.backends[f->backend_id].flow_closed(); }

// TCP state as far as idle timeouts need it: syn_sent until the client acknowledges
// (its first non-SYN ACK), established, then closing after a FIN or RST either way.
inline void Pipeline::track_state(Flow* f, uint8_t flags, bool from_client) {
  if (f->state != FlowState::closing && (flags & (kTcpFin | kTcpRst))) {
    flow_closing(f);
    w_.flows->set_state(f, FlowState::closing, w_.now_ms);
  } else if (f->state == FlowState::syn_sent && from_client && (flags & (kTcpAck | kTcpSyn)) == kTcpAck) {
    w_.flows->set_state(f, FlowState::established, w_.now_ms);
  } else {
    w_.flows->touch(f, w_.now_ms);
  }
}

template <FwdMode M>
Flow* Pipeline::new_flow(Pending& p, bool syn) {
  rte_mbuf* m = p.m;
  const VipSnap& vip = *p.vip;
  const FlowKey& key = p.key;
  uint64_t client_hash = hash_addr(key.saddr_be);
  // Only Maglev reads the 4-tuple's hash; the others are spared computing it.
  const uint64_t flow_hash = vip.scheduler == SchedKind::maglev ? hash_flow_key(key) : 0;
  SchedInput in{flow_hash, client_hash, open_flows_all_workers, w_.shared};
  int chosen = sched_pick(vip.scheduler, vip.sched, s_.sched_state[w_.index][vip.id], in);
  if (chosen == kNoBackend) return drop(m, Drop::no_backend), nullptr;
  const BackendSnap& b = vip.backends[chosen];
  const FlowState state = syn ? FlowState::syn_sent : FlowState::established;
  Flow* f;
  if constexpr (M == FwdMode::nat) {
    // One index slot, hashed from the client (p.hashed): the backend's replies find it
    // through their destination. Refused when the reply tuple is taken already (the
    // same client address and port sent to this backend and port through another VIP:
    // the backend could not tell the two apart), and for a client claiming one of the
    // appliance's own addresses (replies to it would never come back to this flow).
    const FlowKey rev{b.addr_be, key.saddr_be, b.port_be, key.sport_be};
    // Skipped when the key's own lookup saw no slot with its signature (p.unindexed):
    // the reply tuple's slot would carry the same hash.
    bool reply = false;
    if (!p.unindexed && w_.flows->lookup(rev, p.hashed, &reply)) return drop(m, Drop::reply_tuple_taken), nullptr;
    if (s_.address_kind(key.saddr_be) & kAddrLocal) return drop(m, Drop::own_source), nullptr;
    f = w_.flows->create_client_keyed(key, rev, p.hashed, state, w_.now_ms);
  } else {
    f = w_.flows->create(key, p.hashed, state, w_.now_ms);
  }
  if (!f) return drop(m, Drop::flow_table_full), nullptr;
  f->vip_id = vip.id;
  f->mode = static_cast<uint8_t>(M);
  f->backend_id = b.id;
  f->nexthop = b.nexthop;
  f->out_port = b.out_port;
  f->in_port = static_cast<uint8_t>(p.in_port);
  __builtin_memcpy(f->client_mac, p.eth->src, 6);
  if constexpr (M == FwdMode::fullnat) {
    // The next local port of this worker's residue class (fullnat_ports.hpp), so the
    // backend's reply names its owner; probe until the reverse tuple is free.
    const uint32_t workers = s_.workers;
    const uint32_t local = vip.local_addrs_be[((client_hash >> 32) * vip.local_addrs_be.size()) >> 32];
    const uint32_t ports = fullnat_port_count(workers, w_.index);
    bool placed = false;
    for (int attempt = 0; attempt < 64 && !placed; ++attempt) {
      const uint16_t port = fullnat_local_port(w_.fullnat_cursor++ % ports, workers, w_.index);
      placed = w_.flows->set_reverse(f, FlowKey{b.addr_be, local, b.port_be, hton16(port)});
    }
    if (!placed) {
      w_.flows->remove(f);
      return drop(m, Drop::no_local_port), nullptr;
    }
  }
  if constexpr (M == FwdMode::nat) {
    // The same for every client of this backend (BackendSnap), computed with the snapshot.
    f->csum_fwd_ip = b.nat_fwd_ip;
    f->csum_fwd_l4 = b.nat_fwd_l4;
    f->csum_rev_ip = b.nat_rev_ip;
    f->csum_rev_l4 = b.nat_rev_l4;
  } else if constexpr (M == FwdMode::fullnat) {
    // Both directions' checksum addends, once per flow (rewrite.hpp): a reply's rewrite
    // is the forward one undone (f->rev is to_backend swapped end for end, and a reply
    // leaves with key swapped likewise).
    const FlowKey to_backend{f->rev.daddr_be, f->rev.saddr_be, f->rev.dport_be, f->rev.sport_be};
    const RewriteAddends fwd = rewrite_addends(key, to_backend), rev = reverse_addends(fwd);
    f->csum_fwd_ip = fwd.ip;
    f->csum_fwd_l4 = fwd.l4;
    f->csum_rev_ip = rev.ip;
    f->csum_rev_l4 = rev.l4;
  }
  w_.backends[b.id].flow_opened();
  w_.counters.count(Event::flows_created);
  w_.flow_count.store(w_.flows->size(), std::memory_order_relaxed);
  return f;
}

// The fast path: a client's packet without SYN, FIN or RST for a flow of this mode that
// is established, or half-open and now acknowledged (the handshake's last packet, a
// third of a short connection's packets from the client), that may be forwarded (TTL).
// Anything else, including every first packet, takes forward_slow().
template <FwdMode M>
void Pipeline::forward(Pending& p) {
  bool is_reply = false;
  Flow* f = current_flow(p, &is_reply);
  const uint8_t flags = p.tcp->flags;
  if (f && !is_reply && f->mode == static_cast<uint8_t>(M) && !(flags & (kTcpSyn | kTcpFin | kTcpRst)) &&
      (f->state == FlowState::established || (f->state == FlowState::syn_sent && (flags & kTcpAck))) &&
      (M == FwdMode::dsr || p.ip->ttl > 1)) [[likely]] {
    if (f->state == FlowState::syn_sent)
      w_.flows->set_state(f, FlowState::established, w_.now_ms);
    else
      w_.flows->touch(f, w_.now_ms);
    return emit<M>(p, f);
  }
  forward_slow<M>(p, f, is_reply);
}

template <FwdMode M>
void Pipeline::forward_slow(Pending& p, Flow* f, bool is_reply) {
  rte_mbuf* m = p.m;
  const VipSnap& vip = *p.vip;
  const uint8_t flags = p.tcp->flags;
  const bool syn = (flags & (kTcpSyn | kTcpAck | kTcpRst)) == kTcpSyn;
  if (M != FwdMode::dsr && p.ip->ttl <= 1) return drop(m, Drop::ttl_exceeded);  // before any flow state
  if (f && is_reply) return drop(m, Drop::not_for_us);  // a reply tuple aimed at a VIP port: never forward it
  if (f && f->mode != static_cast<uint8_t>(M)) {
    // A flow of a VIP that was deleted and added again with another mode: its
    // rewrite data does not fit this mode; end it.
    if (!syn) return drop(m, Drop::no_flow);
    if (f->state != FlowState::closing) flow_closing(f);
    w_.flows->remove(f);
    f = nullptr;
  }
  if (f && syn && f->state == FlowState::closing) {
    // The client reuses the tuple for a new connection: schedule it afresh.
    w_.flows->remove(f);
    w_.counters.count(Event::flows_replaced);
    f = nullptr;
  }
  if (!f) {
    if (syn && !s_.accepting) return refuse(p);
    // Without a flow, only a consistent scheduler can re-create one on a non-SYN, and
    // not for fullnat (the lost source port cannot be recovered) nor from a RST.
    if (!syn && (!sched_is_consistent(vip.scheduler) || M == FwdMode::fullnat || (flags & kTcpRst)))
      return drop(m, Drop::no_flow);
    f = new_flow<M>(p, syn);
    if (!f) return;
    if (!syn) {
      w_.counters.count(Event::flows_recovered);
      track_state(f, flags, true);  // a recovered FIN goes straight to closing
    }
  } else {
    track_state(f, flags, true);
  }
  emit<M>(p, f);
}

// Rewrites a client's packet for its flow's backend and queues it.
template <FwdMode M>
void Pipeline::emit(Pending& p, Flow* f) {
  rte_mbuf* m = p.m;
  const uint64_t next_hop_mac = neighbour_macs_.get(f->nexthop);
  if (!next_hop_mac) return drop(m, Drop::neighbour_unresolved);
  if constexpr (M != FwdMode::dsr) {
    const FlowKey to{f->rev.daddr_be, f->rev.saddr_be, f->rev.dport_be, f->rev.sport_be};
    rewrite_l3l4<M == FwdMode::fullnat, true>(p.ip, p.tcp, to, RewriteAddends{f->csum_fwd_ip, f->csum_fwd_l4});
  }
  set_macs(p.eth, next_hop_mac, s_.ports[f->out_port].mac);
  auto& bc = w_.backends[f->backend_id];
  ++bc.packets;
  bc.bytes += rte_pktmbuf_pkt_len(m);
  send(m, f->out_port);
}

// backend -> client (nat) or backend -> local address (fullnat): restore the VIP as the
// source and, for fullnat, the client as the destination.
void Pipeline::reply(Pending& p, Drop if_unknown) {
  rte_mbuf* m = p.m;
  Ipv4Hdr* ip = p.ip;
  TcpHdr* tcp = p.tcp;
  EtherHdr* eth = p.eth;
  bool is_reply = false;
  Flow* f = current_flow(p, &is_reply);
  if (!f || !is_reply) return drop(m, if_unknown);
  // A flow whose VIP was deleted (or re-added with another mode) is not served any more,
  // in either direction.
  const VipSnap* vip = s_.find_vip(f->fwd.daddr_be, f->fwd.dport_be);
  if (!vip || static_cast<uint8_t>(vip->mode) != f->mode) return drop(m, Drop::no_flow);
  // The rewrite's shape follows the flow's mode (its addends cover exactly that). A
  // fullnat reply that no longer comes to a local address (one since removed from the
  // configuration) is not served. (A nat flow is found only on the plain reply path: its
  // slot is hashed from the client, and its client is never a local address.)
  const bool fullnat = f->mode == static_cast<uint8_t>(FwdMode::fullnat);
  if (fullnat && p.path != Path::reply_snat) return drop(m, Drop::no_flow);
  if (ip->ttl <= 1) return drop(m, Drop::ttl_exceeded);
  track_state(f, tcp->flags, false);
  // Source back to the VIP; for fullnat also the destination back to the client.
  const FlowKey to{f->fwd.daddr_be, f->fwd.saddr_be, f->fwd.dport_be, f->fwd.sport_be};
  const RewriteAddends addends{f->csum_rev_ip, f->csum_rev_l4};
  if (fullnat)
    rewrite_l3l4<true, true>(ip, tcp, to, addends);
  else
    rewrite_l3l4<true, false>(ip, tcp, to, addends);
  uint64_t client_mac = 0;
  __builtin_memcpy(&client_mac, f->client_mac, 6);
  set_macs(eth, client_mac, s_.ports[f->in_port].mac);
  send(m, f->in_port);
}

// While stopped, a SYN for a new connection is answered with RST+ACK in place (as a
// closed port would answer), so clients fail fast instead of retrying.
void Pipeline::refuse(Pending& p) {
  rte_mbuf* m = p.m;
  Ipv4Hdr* ip = p.ip;
  TcpHdr* tcp = p.tcp;
  auto* frame = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t l3 = static_cast<uint32_t>(reinterpret_cast<uint8_t*>(ip) - frame);
  const uint32_t tcp_header = (tcp->data_off >> 4) * 4u;
  const uint32_t payload = ntoh16(ip->total_len_be) - sizeof(Ipv4Hdr) - tcp_header;
  const uint32_t ack = ntoh32(tcp->seq_be) + payload + 1;  // the SYN takes one sequence number
  uint64_t client_mac = 0;
  __builtin_memcpy(&client_mac, p.eth->src, 6);
  set_macs(p.eth, client_mac, s_.ports[p.in_port].mac);
  std::swap(ip->saddr_be, ip->daddr_be);
  ip->total_len_be = hton16(sizeof(Ipv4Hdr) + sizeof(TcpHdr));
  ip->id_be = 0;
  ip->frag_be = hton16(0x4000);
  ip->ttl = 64;
  ip->check = 0;
  ip->check = csum_compute(ip, sizeof(Ipv4Hdr));
  std::swap(tcp->sport_be, tcp->dport_be);
  tcp->seq_be = 0;
  tcp->ack_be = hton32(ack);
  tcp->data_off = 5 << 4;
  tcp->flags = kTcpRst | kTcpAck;
  tcp->window_be = 0;
  tcp->urg_be = 0;
  tcp->check = 0;
  uint32_t sum = csum_partial(&ip->saddr_be, 8);
  sum += hton16(kProtoTcp);
  sum += hton16(sizeof(TcpHdr));
  tcp->check = static_cast<uint16_t>(~csum_fold(csum_partial(tcp, sizeof(TcpHdr), sum)));
  uint32_t len = l3 + sizeof(Ipv4Hdr) + sizeof(TcpHdr);
  if (len < 60) {
    __builtin_memset(frame + len, 0, 60 - len);
    len = 60;
  }
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = len;
  w_.counters.count(Event::syn_refused);
  send(m, p.in_port);
}

void Worker::flush_tx(const Snapshot& snap) {
  for (uint16_t p = 0; p < snap.ports.size(); ++p) {
    const uint16_t count = tx_count[p];
    if (count == 0) continue;
    rte_mbuf** pkts = tx_pkts[p];
    // Bytes are summed before the burst: a transmitted mbuf belongs to the PMD (net_ring
    // hands it to another lcore, net_null frees it), the unsent ones are still ours.
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < count; ++i) bytes += rte_pktmbuf_pkt_len(pkts[i]);
    uint16_t sent = rte_eth_tx_burst(snap.ports[p].dpdk_port, tx_queue, pkts, count);
    for (uint16_t i = sent; i < count; ++i) {
      bytes -= rte_pktmbuf_pkt_len(pkts[i]);
      counters.drop(Drop::tx_full);
      rte_pktmbuf_free(pkts[i]);
    }
    counters.count(Event::tx, sent);
    counters.count(Event::tx_bytes, bytes);
    tx_count[p] = 0;
  }
}

namespace {

void on_flow_removed(void* ctx, const Flow& flow, FlowTable::RemoveReason why) {
  auto* w = static_cast<Worker*>(ctx);
  if (flow.state != FlowState::closing) w->backends[flow.backend_id].flow_closed();
  w->counters.count(why == FlowTable::RemoveReason::evicted ? Event::flows_evicted : Event::flows_expired);
}

}  // namespace

FlowTable::RemoveHook worker_flow_remove_hook() { return on_flow_removed; }

int Worker::main_loop(void* arg) {
  auto* w = static_cast<Worker*>(arg);
  DataplaneShared* shared = w->shared;
  rte_rcu_qsbr_thread_register(shared->qsbr, w->index);
  rte_rcu_qsbr_thread_online(shared->qsbr, w->index);
  const uint16_t burst = shared->burst;
  const uint64_t tsc_per_ms = rte_get_tsc_hz() / 1000;
  rte_mbuf* pkts[256];
  uint32_t idle_polls = 0;
  uint64_t iterations = 0;
  SweepPacer sweep(w->flows->capacity(), w->flows->sweep_period_ms(), tsc_per_ms, rte_rdtsc());
  while (!shared->quit.load(std::memory_order_acquire)) {
    const uint64_t pass_start = rte_rdtsc();
    w->now_ms = tsc_now_ms(pass_start, tsc_per_ms);
    const Snapshot* snap = shared->snapshot.load(std::memory_order_acquire);
    uint32_t work = 0;
    if (!shared->stop_rx.load(std::memory_order_relaxed)) {
      // The PMD's share of a busy pass (rx_cycles): from the pass's start, or the last
      // burst's processing, to the end of a receive that returned packets, empty polls
      // of other queues included. One TSC read a burst; a second only between queues.
      uint64_t rx_start = pass_start;
      for (uint16_t q = 0; q < w->rx_count; ++q) {
        uint16_t n = rte_eth_rx_burst(w->rx[q].dpdk_port, w->rx[q].queue, pkts, burst);
        if (n == 0) continue;
        w->counters.count(Event::rx_cycles, rte_rdtsc() - rx_start);
        work += n;
        w->counters.count(Event::rx, n);  // rx_bytes are counted in process_burst()
        Pipeline(*w, *snap).process_burst(pkts, n, false);
        if (q + 1 < w->rx_count) rx_start = rte_rdtsc();
      }
    }
    for (uint16_t from = 0; from < shared->workers; ++from) {
      rte_ring* ring = w->handoff_in[from];
      if (!ring) continue;
      unsigned n = rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(pkts), burst, nullptr);
      if (n == 0) continue;
      work += n;
      w->counters.count(Event::handoff_in, n);
      Pipeline(*w, *snap).process_burst(pkts, static_cast<uint16_t>(n), true);
    }
    if (w->control_tx) {
      unsigned n = rte_ring_sc_dequeue_burst(w->control_tx, reinterpret_cast<void**>(pkts), burst, nullptr);
      for (unsigned i = 0; i < n; ++i) {
        const uint16_t p = snap->port_index(pkts[i]->port);
        if (p == Snapshot::kNoPort) {
          rte_pktmbuf_free(pkts[i]);
          continue;
        }
        w->queue_tx(pkts[i], p, *snap);
      }
      work += n;
    }
    w->flush_tx(*snap);
    if (w->flows->expire(w->now_ms, sweep.due(pass_start, work == 0))) w->flow_count.store(w->flows->size(), std::memory_order_relaxed);
    rte_rcu_qsbr_quiescent(shared->qsbr, w->index);
    w->iterations.store(++iterations, std::memory_order_release);
    if (work) {
      idle_polls = 0;
      w->counters.count(Event::busy_cycles, rte_rdtsc() - pass_start);
      w->counters.count(Event::busy_passes);
    } else if (shared->idle_sleep_us && ++idle_polls > 128) {
      rte_delay_us_sleep(shared->idle_sleep_us);  // idle only: nothing is waiting
    }
  }
  rte_rcu_qsbr_thread_offline(shared->qsbr, w->index);
  rte_rcu_qsbr_thread_unregister(shared->qsbr, w->index);
  return 0;
}

}  // namespace lb
