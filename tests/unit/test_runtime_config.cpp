// Unit tests for what run-time changes rely on: `show config` TOML that parses back to
// the same configuration (config_to_toml), validate_config refusing what a CLI edit
// could introduce, and build_snapshot's eligibility rules and Maglev stability when a
// backend leaves (with ids kept by BackendIds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend_ids.hpp"
#include "cli_executor.hpp"
#include "config.hpp"
#include "rewrite.hpp"
#include "snapshot.hpp"

namespace lb {
namespace {

constexpr const char* kFile = "test.toml";

Ipv4 A(const char* s) {
  auto a = parse_ipv4(s);
  EXPECT_TRUE(a) << s;
  return a.value_or(Ipv4{});
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "  " + s + "\n";
  return out;
}

// The config of a text that must parse; otherwise the test fails here (by an exception,
// so that callers never index into an empty Config).
Config parse_ok(const std::string& text, const std::string& source = kFile) {
  auto r = parse_config(text, source);
  if (!r.config) {
    ADD_FAILURE() << join(r.errors) << "---- text:\n" << text;
    throw std::runtime_error("configuration did not parse");
  }
  EXPECT_TRUE(r.errors.empty()) << join(r.errors);
  return std::move(*r.config);
}

BackendConfig backend(const char* addr, uint16_t port, uint32_t weight = 1, BackendState state = BackendState::up) {
  BackendConfig b;
  b.address = A(addr);
  b.port = port;
  b.weight = weight;
  b.state = state;
  return b;
}

VipConfig vip(const char* addr, uint16_t port, FwdMode mode = FwdMode::nat, SchedKind sched = SchedKind::rr) {
  VipConfig v;
  v.address = A(addr);
  v.port = port;
  v.mode = mode;
  v.scheduler = sched;
  return v;
}

// Every section, every mode, a gateway, static neighbours, weights and states.
const std::string kRich = R"([dataplane]
flows_per_worker = 65536
mbufs = 8191
rx_descriptors = 2048
tx_descriptors = 512
burst = 64
idle_sleep_us = 10
neighbour_lifetime = 120

[timeouts]
syn = 20
established = 600
closing = 5

[[port]]
name = "client"
device = "net_tap0"
role = "client"
address = "198.18.0.1/24"

[[port]]
name = "server"
device = "0000:00:08.0"
role = "server"
address = "198.18.1.1/24"
gateway = "198.18.1.254"

[[port]]
name = "lab"
device = "net_pcap0,iface=eth1"
address = "10.1.0.1/16"

[[neighbour]]
address = "198.18.1.11"
mac = "02:00:00:00:01:0b"

[[neighbour]]
address = "198.18.0.50"
mac = "AA:bb:cc:dd:ee:ff"

[[vip]]
address = "198.18.0.100"
port = 80
mode = "nat"
scheduler = "wrr"

  [[vip.backend]]
  address = "198.18.1.11"
  port = 8080
  weight = 3

  [[vip.backend]]
  address = "198.18.1.12"
  weight = 0
  state = "drain"

  [[vip.backend]]
  address = "203.0.113.5"
  port = 8081
  state = "maintenance"

[[vip]]
address = "198.18.0.101"
port = 443
mode = "fullnat"
scheduler = "maglev"
local_addresses = ["198.18.1.200", "198.18.1.201"]
maglev_size = 131071

  [[vip.backend]]
  address = "198.18.1.13"
  port = 8443
  weight = 65535

  [[vip.backend]]
  address = "10.1.2.3"

[[vip]]
address = "198.18.0.102"
port = 53
mode = "dsr"
scheduler = "sh"

  [[vip.backend]]
  address = "198.18.1.14"
  port = 53
  state = "drain"

  [[vip.backend]]
  address = "10.1.0.20"
  weight = 7

[[vip]]
address = "198.18.0.103"
port = 25
mode = "nat"
scheduler = "lc"
)";

// Field by field (not line or source, which say where a value came from).
void expect_same_config(const Config& a, const Config& b) {
  const DataplaneConfig &x = a.dataplane, &y = b.dataplane;
  EXPECT_EQ(x.flows_per_worker, y.flows_per_worker);
  EXPECT_EQ(x.mbufs, y.mbufs);
  EXPECT_EQ(x.rx_descriptors, y.rx_descriptors);
  EXPECT_EQ(x.tx_descriptors, y.tx_descriptors);
  EXPECT_EQ(x.burst, y.burst);
  EXPECT_EQ(x.idle_sleep_us, y.idle_sleep_us);
  EXPECT_EQ(x.neighbour_lifetime_s, y.neighbour_lifetime_s);
  EXPECT_EQ(x.syn_timeout_s, y.syn_timeout_s);
  EXPECT_EQ(x.established_timeout_s, y.established_timeout_s);
  EXPECT_EQ(x.closing_timeout_s, y.closing_timeout_s);
  ASSERT_EQ(a.ports.size(), b.ports.size());
  for (size_t i = 0; i < a.ports.size(); ++i) {
    SCOPED_TRACE("port " + std::to_string(i));
    EXPECT_EQ(a.ports[i].name, b.ports[i].name);
    EXPECT_EQ(a.ports[i].device, b.ports[i].device);
    EXPECT_EQ(a.ports[i].role, b.ports[i].role);
    EXPECT_EQ(a.ports[i].address.addr, b.ports[i].address.addr);
    EXPECT_EQ(a.ports[i].address.len, b.ports[i].address.len);
    EXPECT_EQ(a.ports[i].gateway, b.ports[i].gateway);
  }
  ASSERT_EQ(a.neighbours.size(), b.neighbours.size());
  for (size_t i = 0; i < a.neighbours.size(); ++i) {
    EXPECT_EQ(a.neighbours[i].address, b.neighbours[i].address) << "neighbour " << i;
    EXPECT_EQ(a.neighbours[i].mac, b.neighbours[i].mac) << "neighbour " << i;
  }
  ASSERT_EQ(a.vips.size(), b.vips.size());
  for (size_t i = 0; i < a.vips.size(); ++i) {
    SCOPED_TRACE("vip " + std::to_string(i));
    const VipConfig &v = a.vips[i], &w = b.vips[i];
    EXPECT_EQ(v.address, w.address);
    EXPECT_EQ(v.port, w.port);
    EXPECT_EQ(v.mode, w.mode);
    EXPECT_EQ(v.scheduler, w.scheduler);
    EXPECT_EQ(v.local_addresses, w.local_addresses);
    EXPECT_EQ(v.maglev_size, w.maglev_size);
    ASSERT_EQ(v.backends.size(), w.backends.size());
    for (size_t j = 0; j < v.backends.size(); ++j) {
      SCOPED_TRACE("backend " + std::to_string(j));
      EXPECT_EQ(v.backends[j].address, w.backends[j].address);
      EXPECT_EQ(v.backends[j].port, w.backends[j].port);
      EXPECT_EQ(v.backends[j].weight, w.backends[j].weight);
      EXPECT_EQ(v.backends[j].state, w.backends[j].state);
    }
  }
}

// ---- (a) show config round trip

TEST(ConfigToToml, RichConfigParsesBackToTheSameConfig) {
  Config c = parse_ok(kRich);
  // The rich config really has what it claims (so the comparison is not vacuous).
  ASSERT_EQ(c.ports.size(), 3u);
  ASSERT_TRUE(c.ports[1].gateway);
  ASSERT_EQ(c.neighbours.size(), 2u);
  ASSERT_EQ(c.vips.size(), 4u);
  EXPECT_EQ(c.vips[0].backends[1].state, BackendState::drain);
  EXPECT_EQ(c.vips[0].backends[2].state, BackendState::maintenance);
  EXPECT_EQ(c.vips[1].maglev_size, 131071u);
  EXPECT_EQ(c.vips[2].mode, FwdMode::dsr);

  std::string toml = config_to_toml(c);
  SCOPED_TRACE("---- config_to_toml:\n" + toml);
  auto parsed = parse_config(toml, "show-config");
  ASSERT_TRUE(parsed.config) << join(parsed.errors);
  const Config& back = *parsed.config;
  expect_same_config(c, back);
  EXPECT_EQ(config_to_toml(back), toml) << "the text is stable";
}

TEST(ConfigToToml, RuntimeEditsRoundTrip) {
  Config c = parse_ok(kRich);
  // What the CLI's edits do to a Config (cli_executor.cpp): a new VIP, new backends
  // (line 0, weight as given), a new weight, a new state, a new scheduler, a deletion.
  VipConfig v = vip("198.18.0.110", 8443, FwdMode::fullnat, SchedKind::wlc);
  v.local_addresses = {A("198.18.1.210")};
  v.backends = {backend("198.18.1.40", 9443, 12), backend("10.1.7.7", 9443, 0, BackendState::maintenance)};
  c.vips.push_back(v);
  c.vips[0].backends.push_back(backend("198.18.1.41", 80, 65535));
  c.vips[0].backends[0].weight = 0;
  c.vips[0].backends[1].state = BackendState::up;
  c.vips[2].scheduler = SchedKind::maglev;
  c.vips.erase(c.vips.begin() + 3);
  ASSERT_TRUE(validate_config(c).empty()) << join(validate_config(c));
  std::string toml = config_to_toml(c);
  SCOPED_TRACE("---- config_to_toml:\n" + toml);
  auto parsed = parse_config(toml, "show-config");
  ASSERT_TRUE(parsed.config) << join(parsed.errors);
  expect_same_config(c, *parsed.config);
}

// Port names and devices are free text in the file; `show config` must quote them so
// that the TOML it prints still parses to the same strings, however long.
TEST(ConfigToToml, FreeTextIsQuotedAndKeptWhole) {
  std::string text = kRich;
  auto replace = [&](const std::string& from, const std::string& to) {
    auto pos = text.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    text.replace(pos, from.size(), to);
  };
  replace("name = \"lab\"", R"(name = "lab \"east\" \\ rack 4")");
  replace("device = \"net_pcap0,iface=eth1\"", R"(device = "net_pcap0,rx_pcap=C:\\in.pcap,tx_pcap=/tmp/o\tut")");
  const std::string long_device = "net_tap0,iface=" + std::string(1200, 'a');
  replace("device = \"net_tap0\"", "device = \"" + long_device + "\"");
  Config c = parse_ok(text);
  ASSERT_EQ(c.ports[2].name, "lab \"east\" \\ rack 4");
  ASSERT_EQ(c.ports[2].device, "net_pcap0,rx_pcap=C:\\in.pcap,tx_pcap=/tmp/o\tut");
  ASSERT_EQ(c.ports[0].device, long_device);
  std::string toml = config_to_toml(c);
  SCOPED_TRACE("---- config_to_toml:\n" + toml);
  auto parsed = parse_config(toml, "show-config");
  ASSERT_TRUE(parsed.config) << join(parsed.errors);
  expect_same_config(c, *parsed.config);
}

// ---- (b) what a CLI edit could introduce, refused by validate_config

struct BadEdit {
  std::string what;
  std::function<void(Config&)> edit;
  std::vector<std::string> must_contain;
};

TEST(ValidateConfig, RichConfigIsValid) {
  EXPECT_TRUE(validate_config(parse_ok(kRich)).empty()) << join(validate_config(parse_ok(kRich)));
}

TEST(ValidateConfig, RefusesWhatACliEditCouldIntroduce) {
  const std::vector<BadEdit> cases = {
      {"duplicate VIP",
       [](Config& c) { c.vips.push_back(vip("198.18.0.100", 80, FwdMode::nat, SchedKind::sh)); },
       {"198.18.0.100:80", "defined twice"}},
      {"duplicate backend", [](Config& c) { c.vips[0].backends.push_back(backend("198.18.1.11", 8080, 9)); },
       {"backend 198.18.1.11:8080", "listed twice", "198.18.0.100:80"}},
      {"fullnat without local address", [](Config& c) { c.vips[1].local_addresses.clear(); },
       {"198.18.0.101:443", "fullnat needs at least one local address"}},
      {"fullnat VIP added without local",
       [](Config& c) { c.vips.push_back(vip("198.18.0.120", 80, FwdMode::fullnat)); },
       {"198.18.0.120:80", "fullnat needs at least one local address"}},
      {"local address equal to a VIP address",
       [](Config& c) { c.vips[1].local_addresses.push_back(A("198.18.0.102")); },
       {"198.18.0.101:443", "local address 198.18.0.102", "is also a VIP address"}},
      {"new VIP on a fullnat local address",
       [](Config& c) { c.vips.push_back(vip("198.18.1.200", 80)); },
       {"local address 198.18.1.200", "is also a VIP address"}},
      {"local address 0.0.0.0", [](Config& c) { c.vips[1].local_addresses.push_back(Ipv4{}); },
       {"198.18.0.101:443", "0.0.0.0 is not a local address"}},
      {"local address on a nat VIP", [](Config& c) { c.vips[0].local_addresses.push_back(A("198.18.1.210")); },
       {"198.18.0.100:80", "local addresses are only meaningful with mode fullnat"}},
      {"local address on a dsr VIP", [](Config& c) { c.vips[2].local_addresses.push_back(A("198.18.1.210")); },
       {"198.18.0.102:53", "local addresses are only meaningful with mode fullnat"}},
      {"dsr backend port differs from the VIP's", [](Config& c) { c.vips[2].backends[0].port = 5353; },
       {"backend 198.18.1.14:5353", "dsr cannot change the port", "53"}},
      {"dsr backend added with another port",
       [](Config& c) { c.vips[2].backends.push_back(backend("198.18.1.15", 54)); },
       {"backend 198.18.1.15:54", "dsr cannot change the port"}},
      {"dsr backend behind the gateway",
       [](Config& c) { c.vips[2].backends.push_back(backend("203.0.113.9", 53)); },
       {"backend 203.0.113.9:53", "dsr needs the backend on a server port's subnet", "198.18.1.254"}},
      {"backend reachable from no port",
       [](Config& c) {
         c.ports[1].gateway.reset();
         c.vips[0].backends.erase(c.vips[0].backends.begin() + 2);  // was behind the gateway
         c.vips[0].backends.push_back(backend("198.18.0.77", 80));  // on the client-only port's subnet
       },
       {"198.18.0.77", "reachable from no port"}},
      {"VIP 0.0.0.0", [](Config& c) { c.vips.push_back(vip("0.0.0.0", 80)); }, {"0.0.0.0 is not a VIP address"}},
      {"weight out of range", [](Config& c) { c.vips[0].backends[0].weight = 70000; },
       {"backend 198.18.1.11:8080", "weight 70000 out of range"}},
  };
  const Config base = parse_ok(kRich);
  for (const BadEdit& c : cases) {
    SCOPED_TRACE(c.what);
    Config edited = base;
    c.edit(edited);
    std::vector<std::string> errors = validate_config(edited);
    EXPECT_EQ(errors.size(), 1u) << join(errors);
    if (errors.empty()) continue;
    for (const std::string& s : c.must_contain)
      EXPECT_NE(errors[0].find(s), std::string::npos) << "'" << s << "' not in: " << errors[0];
  }
}

TEST(ValidateConfig, AcceptsOrdinaryCliEdits) {
  const std::vector<std::pair<std::string, std::function<void(Config&)>>> cases = {
      {"add vip", [](Config& c) { c.vips.push_back(vip("198.18.0.130", 80, FwdMode::dsr, SchedKind::maglev)); }},
      {"add fullnat vip with local",
       [](Config& c) {
         VipConfig v = vip("198.18.0.131", 80, FwdMode::fullnat);
         v.local_addresses = {A("198.18.1.220")};
         c.vips.push_back(v);
       }},
      {"del vip", [](Config& c) { c.vips.erase(c.vips.begin()); }},
      {"add backend", [](Config& c) { c.vips[0].backends.push_back(backend("198.18.1.50", 80, 65535)); }},
      {"same server behind another VIP", [](Config& c) { c.vips[1].backends.push_back(backend("198.18.1.11", 8080)); }},
      {"del backend", [](Config& c) { c.vips[2].backends.pop_back(); }},
      {"weight 0", [](Config& c) { c.vips[1].backends[0].weight = 0; }},
      {"state maintenance", [](Config& c) { c.vips[2].backends[1].state = BackendState::maintenance; }},
      {"sched change", [](Config& c) { c.vips[0].scheduler = SchedKind::maglev; }},
  };
  for (const auto& [what, edit] : cases) {
    Config c = parse_ok(kRich);
    edit(c);
    EXPECT_TRUE(validate_config(c).empty()) << what << "\n" << join(validate_config(c));
  }
}

// ---- (c) build_snapshot

// Hands out one slot per (next hop, port) and records every request.
struct FakeNeighbours : NeighbourResolver {
  uint16_t slot_for(Ipv4 next_hop, uint16_t port_index) override {
    calls.push_back({next_hop, port_index});
    auto key = std::make_pair(next_hop.host, port_index);
    auto it = slots.find(key);
    if (it != slots.end()) return it->second;
    uint16_t slot = static_cast<uint16_t>(100 + slots.size());
    slots.emplace(key, slot);
    return slot;
  }
  uint16_t slot(const char* next_hop, uint16_t port_index) const {
    return slots.at({A(next_hop).host, port_index});
  }
  std::vector<std::pair<Ipv4, uint16_t>> calls;
  std::map<std::pair<uint32_t, uint16_t>, uint16_t> slots;
};

const std::string kSnapConfig = R"(
[[port]]
name = "client"
device = "net_null0"
role = "client"
address = "198.18.0.1/24"

[[port]]
name = "server"
device = "net_null1"
role = "server"
address = "198.18.1.1/24"
gateway = "198.18.1.254"

[[vip]]
address = "198.18.0.100"
port = 80
scheduler = "maglev"
  [[vip.backend]]
  address = "198.18.1.11"
  [[vip.backend]]
  address = "198.18.1.12"
  state = "drain"
  [[vip.backend]]
  address = "198.18.1.13"
  state = "maintenance"
  [[vip.backend]]
  address = "198.18.1.14"
  weight = 0
  [[vip.backend]]
  address = "198.18.1.15"
  weight = 2

[[vip]]
address = "198.18.0.101"
port = 443
mode = "fullnat"
scheduler = "wrr"
local_addresses = ["198.18.1.200"]
  [[vip.backend]]
  address = "198.18.1.11"
  port = 8443
  weight = 5
  [[vip.backend]]
  address = "203.0.113.7"
  [[vip.backend]]
  address = "198.18.1.16"
  state = "drain"
  weight = 4
)";

std::unique_ptr<Snapshot> snapshot_of(const Config& c, NeighbourResolver& n, BackendIdResolver& ids,
                                      uint16_t workers = 2) {
  std::vector<uint16_t> dpdk_ports;
  std::vector<uint64_t> macs;
  for (size_t i = 0; i < c.ports.size(); ++i) {
    dpdk_ports.push_back(static_cast<uint16_t>(3 + 2 * i));
    macs.push_back(0x020000000000ull + i);
  }
  return build_snapshot(c, workers, dpdk_ports, macs, n, ids, 7);
}

TEST(BuildSnapshot, IneligibleBackendsStayOutOfTheMaglevTable) {
  Config c = parse_ok(kSnapConfig);
  FakeNeighbours n;
  SequentialBackendIds ids;
  auto snap = snapshot_of(c, n, ids);
  ASSERT_EQ(snap->vips.size(), 2u);
  const VipSnap& vs = snap->vips[0];
  ASSERT_EQ(vs.backends.size(), 5u);
  ASSERT_EQ(vs.sched_backends.size(), 5u);
  const std::vector<bool> eligible = {true, false, false, false, true};  // up, drain, maintenance, weight 0, up
  const std::vector<BackendState> states = {BackendState::up, BackendState::drain, BackendState::maintenance,
                                            BackendState::up, BackendState::up};
  const std::vector<uint32_t> weights = {1, 1, 1, 0, 2};
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE("backend " + std::to_string(i));
    EXPECT_EQ(vs.sched_backends[i].eligible, eligible[i]);
    EXPECT_EQ(vs.sched_backends[i].weight, weights[i] * 100) << "hundredths";
    EXPECT_EQ(vs.sched_backends[i].id, vs.backends[i].id);
    EXPECT_EQ(vs.backends[i].id, i) << "sequential ids in config order";
    EXPECT_EQ(vs.backends[i].state, states[i]);
    EXPECT_EQ(vs.backends[i].weight, weights[i]);
    EXPECT_EQ(vs.backends[i].addr_be, c.vips[0].backends[i].address.be());
    EXPECT_EQ(vs.backends[i].port_be, hton16(80));
    EXPECT_EQ(vs.backends[i].out_port, 1);
    EXPECT_EQ(vs.backends[i].nexthop, n.slot(to_string(c.vips[0].backends[i].address).c_str(), 1));
  }
  ASSERT_EQ(vs.maglev.size(), 65537u);
  std::map<uint16_t, size_t> share;
  for (uint16_t e : vs.maglev) ++share[e];
  ASSERT_EQ(share.size(), 2u) << "only the eligible backends (0 and 4) are in the table";
  EXPECT_TRUE(share.count(0) && share.count(4));
  double heavy = static_cast<double>(share[4]) / vs.maglev.size();
  EXPECT_NEAR(heavy, 2.0 / 3, 0.05) << "weight 2 against weight 1";
  SchedVip view = vs.sched_view();
  EXPECT_EQ(view.count, 5);
  EXPECT_EQ(view.maglev_size, 65537u);
  EXPECT_EQ(view.maglev, vs.maglev.data());
  // The view the workers read, made when the snapshot was complete, is the same.
  EXPECT_EQ(vs.sched.backends, vs.sched_backends.data());
  EXPECT_EQ(vs.sched.count, view.count);
  EXPECT_EQ(vs.sched.maglev, view.maglev);
  EXPECT_EQ(vs.sched.maglev_size, view.maglev_size);
}

// Health pushed by lbcp: warning and dead take a backend out of scheduling (and out of
// the Maglev table) in every VIP that has it; slow start scales its weight; unknown and
// ok change nothing; the configured state still rules.
TEST(BuildSnapshot, HealthFromTheControlPlane) {
  Config c = parse_ok(kSnapConfig);
  FakeNeighbours n;
  SequentialBackendIds ids;
  HealthMap health;
  health[{A("198.18.1.11").host, 80}] = BackendHealth{shm::Health::dead, 100};     // vip 0 only (port 80)
  health[{A("198.18.1.15").host, 80}] = BackendHealth{shm::Health::ok, 50};        // slow start: 2 -> 1
  health[{A("198.18.1.11").host, 8443}] = BackendHealth{shm::Health::ok, 40};      // vip 1: 5 -> 2
  health[{A("203.0.113.7").host, 443}] = BackendHealth{shm::Health::warning, 100};
  health[{A("198.18.1.12").host, 80}] = BackendHealth{shm::Health::ok, 100};       // drained stays drained
  std::vector<uint16_t> dpdk_ports = {3, 5};
  std::vector<uint64_t> macs = {1, 2};
  auto snap = build_snapshot(c, 2, dpdk_ports, macs, n, ids, 7, true, &health);
  const VipSnap& v0 = snap->vips[0];
  EXPECT_EQ(v0.backends[0].health, shm::Health::dead);
  EXPECT_FALSE(v0.sched_backends[0].eligible) << "dead";
  EXPECT_FALSE(v0.sched_backends[1].eligible) << "admin drain wins over health ok";
  EXPECT_TRUE(v0.sched_backends[4].eligible);
  EXPECT_EQ(v0.backends[4].weight, 2u) << "the configured weight";
  EXPECT_EQ(v0.sched_backends[4].weight, 100u) << "2 x 50 %, in hundredths";
  EXPECT_EQ(v0.sched_backends[4].percent, 50);
  EXPECT_EQ(v0.backends[4].weight_percent, 50);
  std::set<uint16_t> in_table(v0.maglev.begin(), v0.maglev.end());
  EXPECT_EQ(in_table, std::set<uint16_t>{4}) << "the dead backend left the Maglev table";
  const VipSnap& v1 = snap->vips[1];
  EXPECT_TRUE(v1.sched_backends[0].eligible) << "same address, other port: its own health";
  EXPECT_EQ(v1.sched_backends[0].weight, 200u) << "5 x 40 %";
  EXPECT_EQ(v1.backends[1].health, shm::Health::warning);
  EXPECT_FALSE(v1.sched_backends[1].eligible) << "warning: no new flows";
  EXPECT_EQ(v1.backends[2].health, shm::Health::unknown);
  // Without a map, or with an empty one, nothing changes.
  FakeNeighbours n2;
  SequentialBackendIds ids2;
  HealthMap none;
  auto plain = build_snapshot(c, 2, dpdk_ports, macs, n2, ids2, 7, true, &none);
  EXPECT_TRUE(plain->vips[0].sched_backends[0].eligible);
  EXPECT_EQ(plain->vips[0].sched_backends[4].weight, 200u) << "2 at 100 %";
  EXPECT_EQ(plain->heartbeat_port_be, 0) << "no [controlplane] shm: heartbeats are not steered";
  Config with_cp = parse_ok(kSnapConfig + "\n[controlplane]\nshm = \"/lbtest\"\nheartbeat_port = 9999\n");
  FakeNeighbours n3;
  SequentialBackendIds ids3;
  EXPECT_EQ(build_snapshot(with_cp, 2, dpdk_ports, macs, n3, ids3, 7)->heartbeat_port_be, hton16(9999));
}

// Slow start on a Maglev VIP with large weights: the table shares follow the scaled
// weights (999 at 99 % against 1000: about half each), and neither backend fills the
// table (weights in hundredths, 98901 and 100000, would make one round of turns longer
// than the table, and the first backend would take every slot).
TEST(BuildSnapshot, MaglevSharesFollowSlowStartWithLargeWeights) {
  Config c = parse_ok(R"(
[[port]]
name = "p0"
device = "net_null0"
address = "198.18.1.1/24"

[[vip]]
address = "198.18.0.100"
port = 80
scheduler = "maglev"
  [[vip.backend]]
  address = "198.18.1.11"
  weight = 999
  [[vip.backend]]
  address = "198.18.1.12"
  weight = 1000
)");
  HealthMap health;
  health[{A("198.18.1.11").host, 80}] = BackendHealth{shm::Health::ok, 99};
  FakeNeighbours n;
  SequentialBackendIds ids;
  std::vector<uint16_t> dpdk_ports = {3};
  std::vector<uint64_t> macs = {1};
  auto snap = build_snapshot(c, 1, dpdk_ports, macs, n, ids, 7, true, &health);
  const VipSnap& v = snap->vips[0];
  std::map<uint16_t, size_t> share;
  for (uint16_t e : v.maglev) ++share[e];
  ASSERT_EQ(share.size(), 2u) << "both backends hold slots";
  EXPECT_NEAR(static_cast<double>(share[0]) / v.maglev.size(), 0.5, 0.05);
  EXPECT_NEAR(static_cast<double>(share[1]) / v.maglev.size(), 0.5, 0.05);
}

TEST(BuildSnapshot, NonMaglevVipRoutesAndAddresses) {
  Config c = parse_ok(kSnapConfig);
  FakeNeighbours n;
  SequentialBackendIds ids;
  auto snap = snapshot_of(c, n, ids, 3);
  const VipSnap& vs = snap->vips[1];
  EXPECT_TRUE(vs.maglev.empty()) << "wrr needs no table";
  EXPECT_EQ(vs.sched_view().maglev, nullptr);
  EXPECT_EQ(vs.mode, FwdMode::fullnat);
  EXPECT_EQ(vs.scheduler, SchedKind::wrr);
  EXPECT_EQ(vs.local_addrs_be, std::vector<uint32_t>{A("198.18.1.200").be()});
  ASSERT_EQ(vs.backends.size(), 3u);
  EXPECT_EQ(vs.backends[0].id, 5);
  EXPECT_EQ(vs.backends[0].port_be, hton16(8443));
  EXPECT_EQ(vs.backends[0].nexthop, snap->vips[0].backends[0].nexthop) << "same server, same neighbour slot";
  EXPECT_EQ(vs.backends[1].port_be, hton16(443)) << "port defaults to the VIP's";
  EXPECT_EQ(vs.backends[1].nexthop, n.slot("198.18.1.254", 1)) << "outside the subnet: via the gateway";
  EXPECT_EQ(vs.backends[1].out_port, 1);
  const std::vector<bool> eligible = {true, true, false};
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(vs.sched_backends[i].eligible, eligible[i]) << i;
  // The resolver was asked once per backend, for its next hop on the server port.
  ASSERT_EQ(n.calls.size(), 8u);
  for (const auto& [hop, port] : n.calls) EXPECT_EQ(port, 1);
  EXPECT_EQ(n.calls[6].first, A("198.18.1.254"));

  EXPECT_EQ(snap->generation, 7u);
  EXPECT_EQ(snap->workers, 3);
  ASSERT_EQ(snap->sched_state.size(), 3u);
  for (const auto& row : snap->sched_state) {
    ASSERT_EQ(row.size(), 2u);
    EXPECT_EQ(row[0].weight_current.size(), 5u);
    EXPECT_EQ(row[1].weight_current.size(), 3u);
  }
  EXPECT_EQ(snap->find_vip(A("198.18.0.101").be(), hton16(443)), &snap->vips[1]);
  EXPECT_EQ(snap->find_vip(A("198.18.0.100").be(), hton16(80)), &snap->vips[0]);
  EXPECT_EQ(snap->find_vip(A("198.18.0.100").be(), hton16(443)), nullptr);
  EXPECT_EQ(snap->address_kind(A("198.18.0.1").be()), kAddrOwn);
  EXPECT_EQ(snap->address_kind(A("198.18.0.101").be()), kAddrVip);
  EXPECT_EQ(snap->address_kind(A("198.18.1.200").be()), kAddrSnat);
  EXPECT_EQ(snap->address_kind(A("198.18.1.11").be()), 0);
  EXPECT_EQ(snap->port_index(3), 0);
  EXPECT_EQ(snap->port_index(5), 1);
  EXPECT_EQ(snap->port_index(4), Snapshot::kNoPort);
  EXPECT_EQ(snap->port_index(0), Snapshot::kNoPort);
  EXPECT_EQ(snap->port_index(Snapshot::kDpdkPortSlots), Snapshot::kNoPort);
  EXPECT_EQ(snap->port_index(0xffff), Snapshot::kNoPort);
}

TEST(BuildSnapshot, NoEligibleBackendGivesAnEmptyTable) {
  Config c = parse_ok(kSnapConfig);
  for (auto& b : c.vips[0].backends) b.state = BackendState::drain;
  FakeNeighbours n;
  SequentialBackendIds ids;
  auto snap = snapshot_of(c, n, ids);
  EXPECT_TRUE(snap->vips[0].maglev.empty());
  EXPECT_EQ(snap->vips[0].sched_view().maglev, nullptr);
  EXPECT_EQ(snap->vips[0].sched.maglev, nullptr);
  for (const auto& sb : snap->vips[0].sched_backends) EXPECT_FALSE(sb.eligible);
}

// Table slot -> backend id (what flows and counters see).
std::vector<uint16_t> table_ids(const VipSnap& vs) {
  std::vector<uint16_t> out;
  out.reserve(vs.maglev.size());
  for (uint16_t e : vs.maglev) out.push_back(vs.backends.at(e).id);
  return out;
}

Config five_maglev_backends() {
  Config c = parse_ok(kSnapConfig);
  c.vips.resize(1);
  c.vips[0].backends.clear();
  for (const char* a : {"198.18.1.21", "198.18.1.22", "198.18.1.23", "198.18.1.24", "198.18.1.25"})
    c.vips[0].backends.push_back(backend(a, 80));
  return c;
}

TEST(BuildSnapshot, RemovingOneOfFiveMaglevBackendsMovesAboutAFifth) {
  Config c = five_maglev_backends();
  BackendIds ids([](uint16_t) { return uint64_t{0}; });
  FakeNeighbours n;
  ids.begin_build();
  auto before = snapshot_of(c, n, ids);
  ids.end_build();
  const std::vector<uint16_t> t1 = table_ids(before->vips[0]);
  const uint16_t removed = before->vips[0].backends[2].id;

  c.vips[0].backends.erase(c.vips[0].backends.begin() + 2);
  ids.begin_build();
  auto after = snapshot_of(c, n, ids);
  ids.end_build();
  const std::vector<uint16_t> t2 = table_ids(after->vips[0]);
  ASSERT_EQ(t1.size(), t2.size());

  // Survivors keep their ids (else every comparison below would be meaningless).
  for (size_t i = 0, j = 0; i < 5; ++i) {
    if (i == 2) continue;
    EXPECT_EQ(after->vips[0].backends[j].id, before->vips[0].backends[i].id) << i;
    EXPECT_EQ(after->vips[0].backends[j].addr_be, before->vips[0].backends[i].addr_be) << i;
    ++j;
  }
  size_t changed = 0, was_removed = 0, survivor_slots = 0, survivor_moved = 0;
  for (size_t s = 0; s < t1.size(); ++s) {
    EXPECT_NE(t2[s], removed);
    changed += t1[s] != t2[s];
    if (t1[s] == removed) {
      ++was_removed;
    } else {
      ++survivor_slots;
      survivor_moved += t1[s] != t2[s];
    }
  }
  const double size = static_cast<double>(t1.size());
  EXPECT_NEAR(was_removed / size, 0.2, 0.03) << "the removed backend had about a fifth";
  EXPECT_LE(changed / size, 0.2 * 1.3) << changed << " of " << t1.size() << " slots changed";
  EXPECT_LE(static_cast<double>(survivor_moved) / survivor_slots, 0.01)
      << survivor_moved << " of " << survivor_slots << " slots of surviving backends moved";
  RecordProperty("changed_fraction", std::to_string(changed / size));
  RecordProperty("survivor_moved_fraction", std::to_string(static_cast<double>(survivor_moved) / survivor_slots));
  std::printf("maglev: %.4f of slots changed, %.4f of the survivors' slots moved\n", changed / size,
              static_cast<double>(survivor_moved) / survivor_slots);
}

// Table slot -> backend address.
std::vector<uint32_t> table_addrs(const VipSnap& vs) {
  std::vector<uint32_t> out;
  out.reserve(vs.maglev.size());
  for (uint16_t e : vs.maglev) out.push_back(vs.backends.at(e).addr_be);
  return out;
}

// Draining (or maintenance, or weight 0) takes a backend out of the table exactly as
// removing it does.
TEST(BuildSnapshot, DrainingIsLikeRemovingForTheTable) {
  const Config c = five_maglev_backends();
  FakeNeighbours n;
  SequentialBackendIds all_ids;
  auto all = snapshot_of(c, n, all_ids);
  Config removed = c;
  removed.vips[0].backends.erase(removed.vips[0].backends.begin() + 2);
  SequentialBackendIds removed_ids;
  auto r = snapshot_of(removed, n, removed_ids);
  const uint32_t gone = c.vips[0].backends[2].address.be();
  for (int variant = 0; variant < 3; ++variant) {
    Config out = c;
    if (variant == 0) out.vips[0].backends[2].state = BackendState::drain;
    if (variant == 1) out.vips[0].backends[2].state = BackendState::maintenance;
    if (variant == 2) out.vips[0].backends[2].weight = 0;
    SequentialBackendIds ids;
    auto d = snapshot_of(out, n, ids);
    std::vector<uint32_t> t = table_addrs(d->vips[0]);
    EXPECT_EQ(t, table_addrs(r->vips[0])) << "variant " << variant;
    EXPECT_EQ(std::count(t.begin(), t.end(), gone), 0) << "variant " << variant;
    EXPECT_NE(t, table_addrs(all->vips[0])) << "variant " << variant;
  }
}

// A nat flow copies its checksum addends from its backend's snapshot entry instead of
// summing its own keys: they must be what rewrite_addends() gives for any client's
// flow, in both directions, bit for bit (the client's words cancel).
TEST(BuildSnapshot, NatAddendsAreEveryClientsFlowAddends) {
  Config c = parse_ok(kSnapConfig);
  FakeNeighbours n;
  SequentialBackendIds ids;
  auto snap = snapshot_of(c, n, ids);
  std::vector<std::pair<uint32_t, uint16_t>> clients = {{0, 0}, {0xffffffffu, 0xffff}, {0x0100000au, 0x5000}};
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 200; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    clients.push_back({static_cast<uint32_t>(x >> 32), static_cast<uint16_t>(x >> 16)});
  }
  size_t checked = 0;
  for (const VipSnap& vs : snap->vips) {
    for (const BackendSnap& b : vs.backends) {
      for (auto [caddr, cport] : clients) {
        const FlowKey from{caddr, vs.addr_be, cport, vs.port_be}, to{caddr, b.addr_be, cport, b.port_be};
        const RewriteAddends fwd = rewrite_addends(from, to);
        const RewriteAddends rev = rewrite_addends(FlowKey{b.addr_be, caddr, b.port_be, cport},
                                                   FlowKey{vs.addr_be, caddr, vs.port_be, cport});
        ASSERT_EQ(b.nat_fwd_ip, fwd.ip);
        ASSERT_EQ(b.nat_fwd_l4, fwd.l4);
        ASSERT_EQ(b.nat_rev_ip, rev.ip);
        ASSERT_EQ(b.nat_rev_l4, rev.l4);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 8 * clients.size());
}

}  // namespace
}  // namespace lb
