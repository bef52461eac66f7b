#include "cli_executor.hpp"

#include <rte_ethdev.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <memory>

#include "quoted.hpp"

namespace lb {

namespace {

void add(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void add(std::string& out, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  out += buf;
}

std::string endpoint(Ipv4 a, uint16_t port) { return to_string(a) + ":" + std::to_string(port); }

VipConfig* find_vip(Config& c, Ipv4 addr, uint16_t port) {
  for (auto& v : c.vips)
    if (v.address == addr && v.port == port) return &v;
  return nullptr;
}

BackendConfig* find_backend(VipConfig& v, Ipv4 addr, uint16_t port) {
  for (auto& b : v.backends)
    if (b.address == addr && b.port == port) return &b;
  return nullptr;
}

// One "error: ..." line per line of a ControlResult message.
std::string as_errors(const std::string& message) {
  std::string out;
  size_t start = 0;
  while (start <= message.size()) {
    size_t nl = message.find('\n', start);
    std::string line = message.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty()) out += "error: " + line + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out.empty() ? "error: failed\n" : out;
}

const char* role_name(PortRole r) { return r == PortRole::client ? "client" : r == PortRole::server ? "server" : "both"; }

}  // namespace

std::string config_to_toml(const Config& c) {
  std::string out;
  const DataplaneConfig& d = c.dataplane;
  add(out, "[dataplane]\nflows_per_worker = %u\nmbufs = %u\nrx_descriptors = %u\ntx_descriptors = %u\nburst = %u\n",
      d.flows_per_worker, d.mbufs, d.rx_descriptors, d.tx_descriptors, d.burst);
  add(out, "idle_sleep_us = %u\nneighbour_lifetime = %u\n\n[timeouts]\nsyn = %u\nestablished = %u\nclosing = %u\n",
      d.idle_sleep_us, d.neighbour_lifetime_s, d.syn_timeout_s, d.established_timeout_s, d.closing_timeout_s);
  if (!c.controlplane.shm.empty())
    out += "\n[controlplane]\nshm = " + quoted(c.controlplane.shm) + "\nheartbeat_port = " +
           std::to_string(c.controlplane.heartbeat_port) + "\n";
  for (const auto& p : c.ports) {
    // Names and devices are free text: quoted and escaped, and not through add()'s buffer.
    out += "\n[[port]]\nname = " + quoted(p.name) + "\ndevice = " + quoted(p.device) + "\n";
    add(out, "role = \"%s\"\naddress = \"%s/%u\"\n", role_name(p.role), to_string(p.address.addr).c_str(),
        p.address.len);
    if (p.gateway) add(out, "gateway = \"%s\"\n", to_string(*p.gateway).c_str());
  }
  for (const auto& n : c.neighbours)
    add(out, "\n[[neighbour]]\naddress = \"%s\"\nmac = \"%s\"\n", to_string(n.address).c_str(), to_string(n.mac).c_str());
  for (const auto& v : c.vips) {
    add(out, "\n[[vip]]\naddress = \"%s\"\nport = %u\nmode = \"%s\"\nscheduler = \"%s\"\n", to_string(v.address).c_str(),
        v.port, fwd_mode_name(v.mode), sched_name(v.scheduler));
    if (!v.local_addresses.empty()) {
      out += "local_addresses = [";
      for (size_t i = 0; i < v.local_addresses.size(); ++i)
        out += (i ? ", \"" : "\"") + to_string(v.local_addresses[i]) + "\"";
      out += "]\n";
    }
    if (v.maglev_size != 65537) add(out, "maglev_size = %u\n", v.maglev_size);
    for (const auto& b : v.backends)
      add(out, "\n[[vip.backend]]\naddress = \"%s\"\nport = %u\nweight = %u\nstate = \"%s\"\n",
          to_string(b.address).c_str(), b.port, b.weight, backend_state_name(b.state));
  }
  return out;
}

bool AppExecutor::execute(const Request& r, std::string& out) {
  using K = Request::Kind;
  const std::string vip_name = endpoint(r.vip, r.vip_port);
  auto apply = [&](const std::function<std::string(Config&)>& edit, const std::string& done) {
    ControlResult res = app_.change(edit);
    out += res.ok ? done + "\n" : as_errors(res.message);
    return res.ok;
  };
  auto with_vip = [&](const std::function<std::string(VipConfig&)>& edit) {
    return [&, edit](Config& c) -> std::string {
      VipConfig* v = find_vip(c, r.vip, r.vip_port);
      return v ? edit(*v) : "no vip " + vip_name;
    };
  };
  auto with_backend = [&](const std::function<std::string(VipConfig&, BackendConfig&)>& edit) {
    return with_vip([&, edit](VipConfig& v) -> std::string {
      BackendConfig* b = find_backend(v, r.address, r.port);
      return b ? edit(v, *b) : "vip " + vip_name + " has no backend " + endpoint(r.address, r.port);
    });
  };
  const std::string backend_name = endpoint(r.address, r.port);
  switch (r.kind) {
    case K::help:
      out += command_help();
      return true;
    case K::show_port_stats:
    case K::show_port_info: {
      const Config& c = app_.config();
      bool any = false;
      for (size_t i = 0; i < c.ports.size(); ++i) {
        uint16_t id = app_.dpdk_ports()[i];
        if (!r.all && id != r.port_id) continue;
        any = true;
        if (r.kind == K::show_port_stats) {
          rte_eth_stats st{};
          rte_eth_stats_get(id, &st);
          add(out, "port %u %s: rx %lu pkts %lu bytes, tx %lu pkts %lu bytes, rx_missed %lu, rx_errors %lu, "
                   "tx_errors %lu, rx_nombuf %lu\n",
              id, c.ports[i].name.c_str(), st.ipackets, st.ibytes, st.opackets, st.obytes, st.imissed, st.ierrors,
              st.oerrors, st.rx_nombuf);
        } else {
          rte_eth_dev_info info{};
          rte_eth_dev_info_get(id, &info);
          rte_eth_link link{};
          rte_eth_link_get_nowait(id, &link);
          add(out, "port %u %s: device %s (driver %s), role %s, address %s/%u, mac %s, link %s, rx queues %u, "
                   "tx queues %u\n",
              id, c.ports[i].name.c_str(), c.ports[i].device.c_str(), info.driver_name ? info.driver_name : "?",
              role_name(c.ports[i].role), to_string(c.ports[i].address.addr).c_str(), c.ports[i].address.len,
              to_string(Mac::unpack(app_.snapshot().ports[i].mac)).c_str(), link.link_status ? "up" : "down",
              info.nb_rx_queues, info.nb_tx_queues);
        }
      }
      if (!any) {
        add(out, "error: no port %u\n", r.port_id);
        return false;
      }
      return true;
    }
    case K::show_lcore_stats: {
      const DataplaneShared& sh = app_.shared();
      for (uint16_t w = 0; w < sh.workers; ++w) {
        const Worker& wk = *sh.worker[w];
        const LcoreCounters c = lcore_counters(sh, w, &app_.stats_baseline());
        add(out, "lcore %u: rx %lu, tx %lu, handoff in %lu out %lu, flows %u, created %lu, expired %lu, "
                 "evicted %lu, drops %lu\n",
            w, c.get(Event::rx), c.get(Event::tx), c.get(Event::handoff_in), c.get(Event::handoff_out),
            wk.flow_count.load(std::memory_order_relaxed), c.get(Event::flows_created), c.get(Event::flows_expired),
            c.get(Event::flows_evicted), c.total_drops());
      }
      return true;
    }
    case K::show_vip:
      for (const auto& v : app_.config().vips)
        add(out, "vip %s mode %s sched %s backends %zu%s\n", endpoint(v.address, v.port).c_str(), fwd_mode_name(v.mode),
            sched_name(v.scheduler), v.backends.size(), app_.accepting() ? "" : " (stopped)");
      if (app_.config().vips.empty()) out += "no VIPs\n";
      return true;
    case K::show_backend: {
      const Snapshot& snap = app_.snapshot();
      const DataplaneShared& sh = app_.shared();
      bool found = !r.has_vip;
      // The health lbdp applies (pushed by lbcp), then lbcp's counter and the last load
      // figures from its report, when lbcp runs.
      auto report = std::make_unique<shm::HealthReport>();
      if (!app_.controlplane().health_report(report.get())) report->count = 0;
      const uint64_t now = shm::monotonic_ms();
      // lbcp writes its report every tick; an old one (lbcp stopped or hung) is labelled.
      const uint64_t report_age = report->count ? now - report->updated_ms : 0;
      const bool stale = report_age > std::max<uint64_t>(1000, 3ull * report->tick_ms);
      auto health_of = [&](const BackendSnap& b) {
        std::string text = std::string(" health ") + shm::health_name(b.health);
        for (uint32_t i = 0; i < report->count && i < shm::kMaxHealthEntries; ++i) {
          const shm::HealthEntry& e = report->entries[i];
          if (e.addr != ntoh32(b.addr_be) || e.port != ntoh16(b.port_be)) continue;
          char buf[200];
          std::snprintf(buf, sizeof buf, " counter %u/%u/%u rt_us %u cpu_permille %u conns %u last_beat_ms %lld",
                        e.counter, report->warning_ticks, report->dead_ticks, e.load.response_us,
                        e.load.cpu_permille, e.load.connections,
                        e.last_heartbeat_ms ? static_cast<long long>(now - e.last_heartbeat_ms) : -1LL);
          text += buf;
          if (stale) text += " stale_report_ms " + std::to_string(report_age);
          break;
        }
        if (b.weight_percent < 100) text += " slow_start " + std::to_string(b.weight_percent) + "%";
        return text;
      };
      for (size_t vi = 0; vi < snap.vips.size(); ++vi) {
        const VipSnap& vs = snap.vips[vi];
        const VipConfig& vc = app_.config().vips[vi];
        if (r.has_vip && !(vc.address == r.vip && vc.port == r.vip_port)) continue;
        found = true;
        for (size_t bi = 0; bi < vs.backends.size(); ++bi) {
          const BackendSnap& b = vs.backends[bi];
          const BackendTotals t = backend_totals(sh, b.id, &app_.stats_baseline());
          add(out, "backend %s vip %s state %s weight %u open %lu flows %lu packets %lu bytes %lu%s\n",
              endpoint(vc.backends[bi].address, vc.backends[bi].port).c_str(), endpoint(vc.address, vc.port).c_str(),
              backend_state_name(vc.backends[bi].state), b.weight, t.open, t.flows, t.packets, t.bytes,
              health_of(b).c_str());
        }
      }
      if (!found) {
        out += "error: no vip " + vip_name + "\n";
        return false;
      }
      return true;
    }
    case K::show_flows: {
      const DataplaneShared& sh = app_.shared();
      uint64_t shown = 0, counted = 0;
      // Read-only and racy by design: entries may change while being read; a report,
      // not a transaction. The workers own these tables.
      for (uint16_t w = 0; w < sh.workers; ++w) {
        const FlowTable& t = *sh.worker[w]->flows;
        uint64_t per_lcore = 0;
        if (!r.has_vip && (r.count_only || shown >= r.limit)) {
          // No filter: the worker's own count answers without scanning its whole table.
          per_lcore = sh.worker[w]->flow_count.load(std::memory_order_relaxed);
          counted += per_lcore;
          if (r.count_only) add(out, "lcore %u: %lu flows\n", w, per_lcore);
          continue;
        }
        for (uint32_t i = 0; i < t.capacity(); ++i) {
          if (!r.has_vip && !r.count_only && shown >= r.limit) {
            per_lcore = sh.worker[w]->flow_count.load(std::memory_order_relaxed);
            break;
          }
          const Flow& f = t.entry(i);
          if (!(f.flags & kFlowInUse)) continue;
          if (r.has_vip && !(f.fwd.daddr_be == r.vip.be() && f.fwd.dport_be == hton16(r.vip_port))) continue;
          ++per_lcore;
          if (r.count_only || shown >= r.limit) continue;
          ++shown;
          add(out, "lcore %u %s -> %s -> %s %s\n", w,
              endpoint(Ipv4::from_be(f.fwd.saddr_be), ntoh16(f.fwd.sport_be)).c_str(),
              endpoint(Ipv4::from_be(f.fwd.daddr_be), ntoh16(f.fwd.dport_be)).c_str(),
              flow_has_rev(f)
                  ? endpoint(Ipv4::from_be(f.rev.saddr_be), ntoh16(f.rev.sport_be)).c_str()
                  : (std::string("backend#") + std::to_string(f.backend_id)).c_str(),
              flow_state_name(f.state));
        }
        counted += per_lcore;
        if (r.count_only) add(out, "lcore %u: %lu flows\n", w, per_lcore);
      }
      add(out, "%lu flows%s\n", counted, r.count_only || shown == counted ? "" : " (more not shown)");
      return true;
    }
    case K::show_config:
      out += config_to_toml(app_.config());
      return true;
    case K::clear_stats:
      app_.clear_stats();
      out += "statistics cleared\n";
      return true;
    case K::add_vip:
      return apply(
          [&](Config& c) -> std::string {
            if (find_vip(c, r.vip, r.vip_port)) return "vip " + vip_name + " exists";
            VipConfig v;
            v.address = r.vip;
            v.port = r.vip_port;
            v.mode = r.mode;
            v.scheduler = r.sched;
            v.local_addresses = r.local_addresses;
            c.vips.push_back(v);
            return "";
          },
          "vip " + vip_name + " added");
    case K::del_vip:
      return apply(
          [&](Config& c) -> std::string {
            auto it = std::find_if(c.vips.begin(), c.vips.end(),
                                   [&](const VipConfig& v) { return v.address == r.vip && v.port == r.vip_port; });
            if (it == c.vips.end()) return "no vip " + vip_name;
            c.vips.erase(it);
            return "";
          },
          "vip " + vip_name + " deleted");
    case K::set_vip_sched:
      return apply(with_vip([&](VipConfig& v) {
                     v.scheduler = r.sched;
                     return std::string();
                   }),
                   "vip " + vip_name + " sched " + sched_name(r.sched));
    case K::add_backend:
      return apply(with_vip([&](VipConfig& v) -> std::string {
                     if (find_backend(v, r.address, r.port)) return "vip " + vip_name + " already has " + backend_name;
                     if (r.weight > 65535) return "weight " + std::to_string(r.weight) + " out of range [0, 65535]";
                     BackendConfig b;
                     b.address = r.address;
                     b.port = r.port;
                     b.weight = r.weight;
                     v.backends.push_back(b);
                     return "";
                   }),
                   "backend " + backend_name + " added to vip " + vip_name);
    case K::del_backend:
      return apply(with_vip([&](VipConfig& v) -> std::string {
                     auto it = std::find_if(v.backends.begin(), v.backends.end(), [&](const BackendConfig& b) {
                       return b.address == r.address && b.port == r.port;
                     });
                     if (it == v.backends.end()) return "vip " + vip_name + " has no backend " + backend_name;
                     v.backends.erase(it);
                     return "";
                   }),
                   "backend " + backend_name + " deleted from vip " + vip_name + " (its open flows finish)");
    case K::set_backend_weight:
      return apply(with_backend([&](VipConfig&, BackendConfig& b) -> std::string {
                     if (r.weight > 65535) return "weight " + std::to_string(r.weight) + " out of range [0, 65535]";
                     b.weight = r.weight;
                     return "";
                   }),
                   "backend " + backend_name + " weight " + std::to_string(r.weight));
    case K::set_backend_state:
      return apply(with_backend([&](VipConfig&, BackendConfig& b) {
                     b.state = r.state;
                     return std::string();
                   }),
                   "backend " + backend_name + " state " + backend_state_name(r.state));
    case K::start:
    case K::stop: {
      ControlResult res = app_.set_accepting(r.kind == K::start);
      out += res.ok ? std::string(r.kind == K::start ? "started" : "stopped: new connections are refused") +
                          (res.message.empty() ? "" : " (" + res.message + ")") + "\n"
                    : as_errors(res.message);
      return res.ok;
    }
    case K::reload: {
      ControlResult res = app_.reload();
      out += res.ok ? "reloaded " + app_.config().source + "\n" : as_errors(res.message);
      return res.ok;
    }
    case K::quit:
      quit_ = true;
      out += "bye\n";
      return true;
  }
  return false;
}

}  // namespace lb
