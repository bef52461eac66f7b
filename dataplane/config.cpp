#include "config.hpp"

#include <set>
#include <toml++/toml.h>

#include "maglev.hpp"
#include "toml_reader.hpp"

namespace lb {

std::optional<FwdMode> parse_fwd_mode(std::string_view name) {
  if (name == "nat") return FwdMode::nat;
  if (name == "fullnat") return FwdMode::fullnat;
  if (name == "dsr") return FwdMode::dsr;
  return std::nullopt;
}

const char* fwd_mode_name(FwdMode mode) {
  switch (mode) {
    case FwdMode::nat: return "nat";
    case FwdMode::fullnat: return "fullnat";
    case FwdMode::dsr: return "dsr";
  }
  return "?";
}

std::optional<BackendState> parse_backend_state(std::string_view name) {
  if (name == "up") return BackendState::up;
  if (name == "drain") return BackendState::drain;
  if (name == "maintenance") return BackendState::maintenance;
  return std::nullopt;
}

const char* backend_state_name(BackendState state) {
  switch (state) {
    case BackendState::up: return "up";
    case BackendState::drain: return "drain";
    case BackendState::maintenance: return "maintenance";
  }
  return "?";
}

namespace {

using toml_reader::TableReader;

// The IPv4 address ("a.b.c.d") at `key`; nullopt when absent or not an address (then an error).
std::optional<Ipv4> read_ipv4(TableReader& r, std::string_view key, bool required) {
  auto s = r.string(key, required);
  if (!s) return std::nullopt;
  auto a = parse_ipv4(*s);
  if (!a) r.error(key, "\"" + *s + "\" is not an IPv4 address (a.b.c.d)");
  return a;
}

void read_dataplane(TableReader& r, DataplaneConfig& d) {
  r.allow_only({"flows_per_worker", "mbufs", "rx_descriptors", "tx_descriptors", "burst", "idle_sleep_us",
                "neighbour_lifetime"});
  r.integer("flows_per_worker", d.flows_per_worker, 1024, 1 << 28);
  r.integer("mbufs", d.mbufs, 1023, 1 << 24);
  r.integer("rx_descriptors", d.rx_descriptors, 64, 16384);
  r.integer("tx_descriptors", d.tx_descriptors, 64, 16384);
  r.integer("burst", d.burst, 1, 256);
  r.integer("idle_sleep_us", d.idle_sleep_us, 0, 100000);
  r.integer("neighbour_lifetime", d.neighbour_lifetime_s, 5, 86400);
}

void read_timeouts(TableReader& r, DataplaneConfig& d) {
  r.allow_only({"syn", "established", "closing"});
  r.integer("syn", d.syn_timeout_s, 2, 3600);
  r.integer("established", d.established_timeout_s, 2, 7 * 86400);
  r.integer("closing", d.closing_timeout_s, 2, 3600);
}

void read_controlplane(TableReader& r, ControlPlaneConfig& c) {
  r.allow_only({"shm", "heartbeat_port"});
  c.line = r.line();
  c.shm = r.string("shm", false).value_or("");
  if (!c.shm.empty() && (c.shm.size() < 2 || c.shm[0] != '/' || c.shm.find('/', 1) != std::string::npos ||
                         c.shm.size() > 200))
    r.error("shm", "\"" + c.shm + "\" must be '/' followed by a name without '/' (e.g. \"/lbdp\")");
  r.integer("heartbeat_port", c.heartbeat_port, 1, 65535);
}

void read_port(TableReader& r, PortConfig& p) {
  r.allow_only({"name", "device", "role", "address", "gateway"});
  p.line = r.line();
  p.name = r.string("name", true).value_or("");
  p.device = r.string("device", true).value_or("");
  if (auto role = r.string("role", false)) {
    if (*role == "client") p.role = PortRole::client;
    else if (*role == "server") p.role = PortRole::server;
    else if (*role == "both") p.role = PortRole::both;
    else r.error("role", "\"" + *role + "\" is not one of client, server, both");
  }
  bool have_address = false;
  if (auto a = r.string("address", true)) {
    auto prefix = parse_prefix(*a);
    if (!prefix || prefix->len == 0 || prefix->len == 32)
      r.error("address", "\"" + *a + "\" is not an address with a prefix length 1..31 (a.b.c.d/len)");
    else p.address = *prefix, have_address = true;
  }
  p.gateway = read_ipv4(r, "gateway", false);
  if (p.gateway && have_address && !p.address.contains(*p.gateway))
    r.error("gateway", to_string(*p.gateway) + " is not inside the port's subnet");
}

void read_backend(TableReader& r, const VipConfig& vip, BackendConfig& b) {
  r.allow_only({"address", "port", "weight", "state"});
  b.line = r.line();
  if (auto a = read_ipv4(r, "address", true)) b.address = *a;
  b.port = vip.port;  // default: the VIP's port
  r.integer("port", b.port, 1, 65535);
  r.integer("weight", b.weight, 0, 65535);
  if (auto st = r.string("state", false)) {
    if (auto state = parse_backend_state(*st)) b.state = *state;
    else r.error("state", "\"" + *st + "\" is not one of up, drain, maintenance");
  }
  if (vip.mode == FwdMode::dsr && b.port != vip.port)
    r.error("port", "dsr cannot change the port: backend port " + std::to_string(b.port) +
                        " differs from the VIP's " + std::to_string(vip.port));
}

void read_vip(TableReader& r, VipConfig& v) {
  r.allow_only({"address", "port", "mode", "scheduler", "local_addresses", "maglev_size", "backend"});
  v.line = r.line();
  if (auto a = read_ipv4(r, "address", true)) v.address = *a;
  r.integer("port", v.port, 1, 65535, true);
  if (auto m = r.string("mode", false)) {
    if (auto mode = parse_fwd_mode(*m)) v.mode = *mode;
    else r.error("mode", "\"" + *m + "\" is not one of nat, fullnat, dsr");
  }
  if (auto s = r.string("scheduler", false)) {
    if (auto kind = parse_sched(*s)) v.scheduler = *kind;
    else r.error("scheduler", "\"" + *s + "\" is not one of rr, wrr, lc, wlc, maglev, sh");
  }
  r.integer("maglev_size", v.maglev_size, 65537, 16777213);
  if (!is_prime(v.maglev_size)) r.error("maglev_size", std::to_string(v.maglev_size) + " is not prime");
  if (const toml::node* n = r.get("local_addresses")) {
    const toml::array* arr = n->as_array();
    if (!arr) r.error("local_addresses", "must be an array of IPv4 addresses");
    else
      for (const auto& item : *arr) {
        auto s = item.value<std::string_view>();
        auto a = s ? parse_ipv4(*s) : std::nullopt;
        if (!a) r.error_at(static_cast<int>(item.source().begin.line), "local_addresses", "entry is not an IPv4 address");
        else v.local_addresses.push_back(*a);
      }
  }
  if (v.mode == FwdMode::fullnat && v.local_addresses.empty())
    r.error_at(v.line, "local_addresses", "fullnat needs at least one local address");
  if (v.mode != FwdMode::fullnat && !v.local_addresses.empty())
    r.error("local_addresses", "only meaningful with mode = \"fullnat\"");
  if (const toml::array* arr = r.table_array("backend")) {
    std::set<std::pair<uint32_t, uint16_t>> seen;
    size_t i = 0;
    for (const auto& item : *arr) {
      TableReader br = r.nested(item.as_table(), "backend[" + std::to_string(i++) + "]");
      BackendConfig b;
      read_backend(br, v, b);
      if (!seen.insert({b.address.host, b.port}).second)
        br.error_at(b.line, "address", to_string(b.address) + ":" + std::to_string(b.port) + " listed twice");
      v.backends.push_back(b);
    }
  }
  if (v.backends.size() > 4096) r.error_at(v.line, "backend", "more than 4096 backends");
}

}  // namespace

std::vector<std::string> validate_config(const Config& c) {
  std::vector<std::string> errors;
  auto err = [&](int line, const std::string& what) {
    errors.push_back(line > 0 ? c.source + ":" + std::to_string(line) + ": " + what : what);
  };
  std::set<std::string> names, devices;
  for (const auto& p : c.ports) {
    if (!p.name.empty() && !names.insert(p.name).second) err(p.line, "port.name: \"" + p.name + "\" used twice");
    if (!p.device.empty() && !devices.insert(p.device).second)
      err(p.line, "port.device: \"" + p.device + "\" used twice");
  }
  if (c.ports.empty()) errors.push_back(c.source + ":1: port: at least one [[port]] is required");
  if (c.ports.size() > 16) err(c.ports[16].line, "port: at most 16 ports");
  std::set<std::pair<uint32_t, uint16_t>> vips;
  for (const auto& v : c.vips) {
    const std::string vip_name = to_string(v.address) + ":" + std::to_string(v.port);
    if (!vips.insert({v.address.host, v.port}).second) err(v.line, "vip: " + vip_name + " defined twice");
    if (v.mode == FwdMode::fullnat && v.local_addresses.empty())
      err(v.line, "vip " + vip_name + ": fullnat needs at least one local address");
    if (v.mode != FwdMode::fullnat && !v.local_addresses.empty())
      err(v.line, "vip " + vip_name + ": local addresses are only meaningful with mode fullnat");
    if (v.address.host == 0) err(v.line, "vip: 0.0.0.0 is not a VIP address");
    if (v.port == 0) err(v.line, "vip " + vip_name + ": port 0 out of range [1, 65535]");
    if (!is_prime(v.maglev_size) || v.maglev_size < 65537)
      err(v.line, "vip " + vip_name + ": maglev_size " + std::to_string(v.maglev_size) + " is not a prime >= 65537");
    for (Ipv4 local : v.local_addresses) {
      for (const auto& other : c.vips)
        if (other.address == local)
          err(v.line, "vip " + vip_name + ": local address " + to_string(local) + " is also a VIP address");
      if (local.host == 0) err(v.line, "vip " + vip_name + ": 0.0.0.0 is not a local address");
    }
    std::set<std::pair<uint32_t, uint16_t>> backends;
    for (const auto& b : v.backends) {
      const std::string name = to_string(b.address) + ":" + std::to_string(b.port);
      if (!backends.insert({b.address.host, b.port}).second)
        err(b.line, "backend " + name + " listed twice for vip " + vip_name);
      if (v.mode == FwdMode::dsr && b.port != v.port)
        err(b.line, "backend " + name + ": dsr cannot change the port (vip port " + std::to_string(v.port) + ")");
      if (b.weight > 65535) err(b.line, "backend " + name + ": weight " + std::to_string(b.weight) + " out of range [0, 65535]");
      if (b.port == 0) err(b.line, "backend " + name + ": port 0 out of range [1, 65535]");
      if (b.address.host == 0) err(b.line, "backend: 0.0.0.0 is not a backend address");
      auto route = c.ports.empty() ? std::nullopt : route_to(c, b.address);
      if (!c.ports.empty() && !route)
        err(b.line, "backend.address: " + to_string(b.address) +
                        " is reachable from no port of role server/both (no subnet holds it, no gateway)");
      else if (route && v.mode == FwdMode::dsr && !(route->next_hop == b.address))
        err(b.line, "backend " + name + ": dsr needs the backend on a server port's subnet (it would be sent to "
                    "gateway " + to_string(route->next_hop) + ")");
    }
  }
  for (const auto& n : c.neighbours) {
    auto route = c.ports.empty() ? std::nullopt : route_to(c, n.address, true);
    if (!c.ports.empty() && (!route || !(route->next_hop == n.address)))
      err(n.line, "neighbour.address: " + to_string(n.address) + " is on no port's subnet");
  }
  if (c.neighbours.size() > 1024) err(c.neighbours[1024].line, "neighbour: at most 1024 static neighbours");
  size_t total_backends = 0;
  for (const auto& v : c.vips)
    for (const auto& b : v.backends)
      if (++total_backends == 4097) err(b.line, "backend: more than 4096 backends in all");
  if (c.vips.size() > 1024) err(c.vips[1024].line, "vip: more than 1024 VIPs");
  return errors;
}


std::optional<Route> route_to(const Config& config, Ipv4 dst, bool any_role) {
  auto usable = [&](const PortConfig& p) { return any_role || p.role != PortRole::client; };
  for (size_t i = 0; i < config.ports.size(); ++i)
    if (usable(config.ports[i]) && config.ports[i].address.contains(dst))
      return Route{static_cast<uint16_t>(i), dst};
  for (size_t i = 0; i < config.ports.size(); ++i)
    if (usable(config.ports[i]) && config.ports[i].gateway)
      return Route{static_cast<uint16_t>(i), *config.ports[i].gateway};
  return std::nullopt;
}

ConfigResult parse_config(std::string_view text, const std::string& source) {
  ConfigResult result;
  std::vector<toml_reader::Error> errors;
  std::optional<toml::table> root = toml_reader::parse(text, source, errors);
  if (!root) {
    result.errors = toml_reader::error_texts(std::move(errors));
    return result;
  }
  Config c;
  c.source = source;
  TableReader top(&*root, "", source, errors);
  top.allow_only({"dataplane", "timeouts", "controlplane", "port", "neighbour", "vip"});
  if (const toml::table* t = top.table("dataplane")) {
    TableReader r = top.nested(t, "dataplane");
    read_dataplane(r, c.dataplane);
  }
  if (const toml::table* t = top.table("timeouts")) {
    TableReader r = top.nested(t, "timeouts");
    read_timeouts(r, c.dataplane);
  }
  if (const toml::table* t = top.table("controlplane")) {
    TableReader r = top.nested(t, "controlplane");
    read_controlplane(r, c.controlplane);
  }
  if (const toml::array* arr = top.table_array("port")) {
    size_t i = 0;
    for (const auto& item : *arr) {
      TableReader r = top.nested(item.as_table(), "port[" + std::to_string(i++) + "]");
      read_port(r, c.ports.emplace_back());
    }
  }
  if (const toml::array* arr = top.table_array("neighbour")) {
    size_t i = 0;
    for (const auto& item : *arr) {
      TableReader r = top.nested(item.as_table(), "neighbour[" + std::to_string(i++) + "]");
      r.allow_only({"address", "mac"});
      NeighbourConfig n;
      n.line = r.line();
      if (auto a = read_ipv4(r, "address", true)) n.address = *a;
      if (auto m = r.string("mac", true)) {
        if (auto mac = parse_mac(*m)) n.mac = *mac;
        else r.error("mac", "\"" + *m + "\" is not a MAC address (xx:xx:xx:xx:xx:xx)");
      }
      c.neighbours.push_back(n);
    }
  }
  if (const toml::array* arr = top.table_array("vip")) {
    size_t i = 0;
    for (const auto& item : *arr) {
      TableReader r = top.nested(item.as_table(), "vip[" + std::to_string(i++) + "]");
      read_vip(r, c.vips.emplace_back());
    }
  }
  // Cross-key checks only on a file whose keys all read cleanly.
  result.errors = errors.empty() ? validate_config(c) : toml_reader::error_texts(std::move(errors));
  if (result.errors.empty()) result.config = std::move(c);
  return result;
}

ConfigResult load_config(const std::string& path) {
  std::string error;
  std::optional<std::string> text = toml_reader::read_file(path, &error);
  if (!text) return ConfigResult{std::nullopt, {error}};
  return parse_config(*text, path);
}

}  // namespace lb
