#include "workload.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <sstream>

#include "checksum.hpp"
#include "fullnat_ports.hpp"
#include "net.hpp"
#include "packet.hpp"

namespace lb::bench {

namespace {

constexpr uint32_t kClientBase = 0xc6130000;  // 198.19.0.0
constexpr uint32_t kVipBase = 0xc6120064;     // 198.18.0.100
constexpr uint16_t kHeaders = sizeof(EtherHdr) + sizeof(Ipv4Hdr) + sizeof(TcpHdr);
// fullnat replies (`local`): flow i's local port, as one lbdp worker gives them.
constexpr uint32_t kFullnatPorts = fullnat_port_count(1, 0);
uint16_t reply_local_port(uint64_t flow) { return fullnat_local_port(static_cast<uint32_t>(flow), 1, 0); }

template <typename T>
bool parse_number(std::string_view v, T& out) {
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size();
}

}  // namespace

std::optional<WorkloadSpec> parse_workload(std::string_view text, std::string* error) {
  WorkloadSpec spec;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return *error = "'" + std::string(item) + "' is not key=value", std::nullopt;
    std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    bool ok = true;
    if (key == "flows") ok = parse_number(value, spec.flows) && spec.flows >= 1 && spec.flows <= 100000000;
    else if (key == "ppf") ok = parse_number(value, spec.packets_per_flow) && spec.packets_per_flow >= 1;
    else if (key == "vips") ok = parse_number(value, spec.vips) && spec.vips >= 1 && spec.vips <= 100;
    else if (key == "seed") ok = parse_number(value, spec.seed);
    else if (key == "mix") {
      if (value == "syn") spec.mix = Mix::syn;
      else if (value == "established") spec.mix = Mix::established;
      else if (value == "full") spec.mix = Mix::full;
      else if (value == "data") spec.mix = Mix::data;
      else ok = false;
    } else if (key == "size") {
      if (value == "64") spec.size = SizeDist::b64;
      else if (value == "1500") spec.size = SizeDist::b1500;
      else if (value == "imix") spec.size = SizeDist::imix;
      else ok = false;
    } else if (key == "pop") {
      if (value == "uniform") spec.popularity = Popularity::uniform;
      else if (value == "zipf") spec.popularity = Popularity::zipf;
      else ok = false;
    } else if (key == "zipf") {
      spec.popularity = Popularity::zipf;
      try {
        spec.zipf_s = std::stod(std::string(value));
      } catch (...) {
        ok = false;
      }
      ok = ok && spec.zipf_s > 0 && spec.zipf_s != 1.0 && spec.zipf_s < 5;
    } else if (key == "replies") {
      auto addr = parse_ipv4(value);
      ok = addr.has_value();
      if (ok) spec.replies = true, spec.reply_backend_be = addr->be();
    } else if (key == "local") {
      auto addr = parse_ipv4(value);
      ok = addr.has_value() && addr->be() != 0;
      if (ok) spec.reply_local_be = addr->be();
    } else {
      return *error = "unknown workload key '" + std::string(key) + "'", std::nullopt;
    }
    if (!ok) return *error = "bad value for " + std::string(key) + ": '" + std::string(value) + "'", std::nullopt;
  }
  if (spec.mix == Mix::full && spec.packets_per_flow < 3) spec.packets_per_flow = 3;
  if (spec.reply_local_be) {
    // The local ports are predicted (workload.hpp): only where the prediction holds.
    if (!spec.replies) return *error = "local= needs replies=BACKEND_ADDR", std::nullopt;
    if (spec.mix != Mix::established)
      return *error = "local= needs mix=established (flows created once, in flow order)", std::nullopt;
    if (spec.flows > kFullnatPorts)
      return *error = "local= allows at most " + std::to_string(kFullnatPorts) + " flows (one local address's ports)",
             std::nullopt;
  }
  return spec;
}

std::string describe(const WorkloadSpec& s) {
  static const char* mixes[] = {"syn", "established", "full", "data"};
  static const char* sizes[] = {"64", "1500", "imix"};
  std::ostringstream out;
  out << "flows=" << s.flows << ",ppf=" << s.packets_per_flow << ",mix=" << mixes[static_cast<int>(s.mix)]
      << ",size=" << sizes[static_cast<int>(s.size)] << ",vips=" << s.vips << ",seed=" << s.seed;
  if (s.popularity == Popularity::zipf) out << ",zipf=" << s.zipf_s;
  if (s.replies) out << ",replies=" << to_string(Ipv4::from_be(s.reply_backend_be));
  if (s.reply_local_be) out << ",local=" << to_string(Ipv4::from_be(s.reply_local_be));
  return out.str();
}

FlowTuple flow_tuple(const WorkloadSpec& spec, uint64_t flow) {
  return FlowTuple{hton32(kClientBase + static_cast<uint32_t>(flow >> 12)),
                   hton32(kVipBase + static_cast<uint32_t>(flow % spec.vips)),
                   hton16(static_cast<uint16_t>(1024 + (flow & 4095))), hton16(80)};
}

uint16_t build_frame(const WorkloadSpec& spec, uint64_t flow, int kind, bool reply, uint16_t frame_len,
                     uint8_t* out) {
  const FlowTuple t = flow_tuple(spec, flow);
  uint16_t payload = kind == 2 && frame_len > kHeaders ? static_cast<uint16_t>(frame_len - kHeaders) : 0;
  uint16_t len = static_cast<uint16_t>(kHeaders + payload);
  if (len < 60) len = 60;
  std::memset(out, 0, len);
  auto* eth = reinterpret_cast<EtherHdr*>(out);
  std::memcpy(eth->dst, reply ? spec.src_mac : spec.dst_mac, 6);
  std::memcpy(eth->src, reply ? spec.dst_mac : spec.src_mac, 6);
  eth->type_be = hton16(kEtherTypeIpv4);
  auto* ip = reinterpret_cast<Ipv4Hdr*>(out + sizeof(EtherHdr));
  ip->version_ihl = 0x45;
  ip->total_len_be = hton16(static_cast<uint16_t>(sizeof(Ipv4Hdr) + sizeof(TcpHdr) + payload));
  ip->id_be = hton16(static_cast<uint16_t>(flow));
  ip->frag_be = hton16(0x4000);
  ip->ttl = 64;
  ip->proto = kProtoTcp;
  ip->saddr_be = reply ? spec.reply_backend_be : t.client_be;
  ip->daddr_be = reply ? (spec.reply_local_be ? spec.reply_local_be : t.client_be) : t.vip_be;
  ip->check = csum_compute(ip, sizeof(Ipv4Hdr));
  auto* tcp = reinterpret_cast<TcpHdr*>(out + sizeof(EtherHdr) + sizeof(Ipv4Hdr));
  tcp->sport_be = reply ? hton16(spec.reply_port) : t.client_port_be;
  tcp->dport_be = reply ? (spec.reply_local_be ? hton16(reply_local_port(flow)) : t.client_port_be) : t.vip_port_be;
  tcp->seq_be = hton32(static_cast<uint32_t>(flow * 7919 + 1));
  tcp->ack_be = kind == 0 && !reply ? 0 : hton32(1);
  tcp->data_off = 5 << 4;
  static const uint8_t client_flags[] = {kTcpSyn, kTcpAck, kTcpAck | 0x08, kTcpFin | kTcpAck};
  static const uint8_t reply_flags[] = {kTcpSyn | kTcpAck, kTcpAck, kTcpAck | 0x08, kTcpFin | kTcpAck};
  tcp->flags = reply ? reply_flags[kind] : client_flags[kind];
  tcp->window_be = hton16(65535);
  uint8_t* data = out + kHeaders;
  for (uint16_t i = 0; i < payload; ++i) data[i] = static_cast<uint8_t>(i * 31 + 7);
  // Pseudo-header, then header and payload.
  uint16_t tcp_len = static_cast<uint16_t>(sizeof(TcpHdr) + payload);
  uint32_t sum = csum_partial(&ip->saddr_be, 8);
  sum += hton16(kProtoTcp);
  sum += hton16(tcp_len);
  sum = csum_partial(tcp, tcp_len, sum);
  tcp->check = static_cast<uint16_t>(~csum_fold(sum));
  return len;
}

FrameFactory::Template& FrameFactory::lookup(int kind, bool reply, uint16_t frame_len) {
  int size_class = frame_len <= 60 ? 0 : frame_len <= 590 ? 1 : 2;
  Template& t = templates_[kind][reply][size_class];
  if (t.len == 0) t.len = build_frame(spec_, 0, kind, reply, frame_len, t.bytes);
  return t;
}

uint16_t FrameFactory::build(uint64_t flow, int kind, bool reply, uint16_t frame_len, uint8_t* out) {
  const Template& t = lookup(kind, reply, frame_len);
  std::memcpy(out, t.bytes, t.len);
  if (flow == 0) return t.len;
  auto* ip = reinterpret_cast<Ipv4Hdr*>(out + sizeof(EtherHdr));
  auto* tcp = reinterpret_cast<TcpHdr*>(out + sizeof(EtherHdr) + sizeof(Ipv4Hdr));
  const FlowTuple ft = flow_tuple(spec_, flow);
  uint16_t id = hton16(static_cast<uint16_t>(flow));
  csum_replace2(&ip->check, ip->id_be, id);
  ip->id_be = id;
  auto patch_addr = [&](uint32_t* field, uint32_t value) {
    csum_replace4(&ip->check, *field, value);
    csum_replace4(&tcp->check, *field, value);
    *field = value;
  };
  auto patch_port = [&](uint16_t* field, uint16_t value) {
    csum_replace2(&tcp->check, *field, value);
    *field = value;
  };
  if (reply && spec_.reply_local_be) {  // fullnat: to the flow's local port (the address is the template's)
    patch_port(&tcp->dport_be, hton16(reply_local_port(flow)));
  } else if (reply) {
    patch_addr(&ip->daddr_be, ft.client_be);
    patch_port(&tcp->dport_be, ft.client_port_be);
  } else {
    patch_addr(&ip->saddr_be, ft.client_be);
    patch_addr(&ip->daddr_be, ft.vip_be);
    patch_port(&tcp->sport_be, ft.client_port_be);
  }
  uint32_t seq = hton32(static_cast<uint32_t>(flow * 7919 + 1));
  csum_replace4(&tcp->check, tcp->seq_be, seq);
  tcp->seq_be = seq;
  return t.len;
}

uint64_t PacketCursor::random() {
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

PacketCursor::PacketCursor(const WorkloadSpec& spec) : spec_(spec), factory_(spec), rng_state_(spec.seed) {
  switch (spec.mix) {
    case Mix::syn: per_pass_ = spec.flows; break;
    case Mix::established:
      per_pass_ = spec.flows + spec.flows * spec.packets_per_flow;
      restart_ = spec.flows;  // later passes: the data again, not the handshakes
      break;
    case Mix::full:
    case Mix::data: per_pass_ = spec.flows * spec.packets_per_flow; break;
  }
  if (spec.popularity == Popularity::zipf) {
    double s = spec.zipf_s;
    zipf_h_ = (std::pow(static_cast<double>(spec.flows) + 1.0, 1.0 - s) - 1.0) / (1.0 - s);
  }
}

uint16_t PacketCursor::frame_len() {
  switch (spec_.size) {
    case SizeDist::b64: return 60;
    case SizeDist::b1500: return 1514;
    case SizeDist::imix: return kImixSizes[imix_index_++ % (sizeof kImixSizes / sizeof kImixSizes[0])];
  }
  return 60;
}

// Zipf by inverting the continuous approximation of its CDF: flow 0 is the most popular.
uint64_t PacketCursor::pick_flow() {
  if (spec_.popularity == Popularity::uniform)
    return static_cast<uint64_t>((static_cast<unsigned __int128>(random()) * spec_.flows) >> 64);
  double u = static_cast<double>(random() >> 11) * 0x1.0p-53 * zipf_h_;
  double s = spec_.zipf_s;
  double x = std::pow(1.0 + u * (1.0 - s), 1.0 / (1.0 - s));
  uint64_t flow = static_cast<uint64_t>(x) - 1;
  return flow < spec_.flows ? flow : spec_.flows - 1;
}

uint16_t PacketCursor::next(uint8_t* out) {
  if (pending_reply_) {
    pending_reply_ = false;
    return factory_.build(reply_flow_, reply_kind_, true, reply_len_, out);
  }
  if (position_ == per_pass_) position_ = restart_;
  const uint64_t p = position_++;
  uint64_t flow = 0;
  int kind = 0;
  uint16_t len = 60;
  switch (spec_.mix) {
    case Mix::syn:
      flow = p, kind = 0;
      break;
    case Mix::established:
      if (p < spec_.flows) flow = p, kind = 0;
      else flow = pick_flow(), kind = 2, len = frame_len();
      break;
    case Mix::data:
      flow = pick_flow(), kind = 2, len = frame_len();
      break;
    case Mix::full: {
      uint64_t k = p / spec_.flows;
      flow = p % spec_.flows;
      kind = k == 0 ? 0 : k == 1 ? 1 : k + 1 == spec_.packets_per_flow ? 3 : 2;
      if (kind == 2) len = frame_len();
      break;
    }
  }
  if (spec_.replies) {
    pending_reply_ = true;
    reply_flow_ = flow;
    reply_kind_ = kind;
    reply_len_ = len;
  }
  return factory_.build(flow, kind, false, len, out);
}

}  // namespace lb::bench
