// Unit tests for config.hpp: TOML loading, validation and error reporting.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "config.hpp"

namespace lb {
namespace {

constexpr const char* kFile = "test.toml";

// 1-based line of the n-th (0-based) occurrence of `needle` in `text`.
int line_of(const std::string& text, const std::string& needle, int nth = 0) {
  size_t pos = std::string::npos, from = 0;
  for (int i = 0; i <= nth; ++i) {
    pos = text.find(needle, from);
    if (pos == std::string::npos) {
      ADD_FAILURE() << "needle not found: " << needle;
      return -1;
    }
    from = pos + 1;
  }
  int line = 1;
  for (size_t i = 0; i < pos; ++i) line += text[i] == '\n';
  return line;
}

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

const std::string kFullConfig = R"(# A complete configuration: every section, every mode.
[dataplane]
flows_per_worker = 65536
mbufs = 8191
rx_descriptors = 2048
burst = 64
idle_sleep_us = 10
neighbour_lifetime = 120

[timeouts]
syn = 20
established = 600
closing = 5

[[port]]
name = "client0"
device = "net_tap0"
role = "client"
address = "198.51.100.1/24"
gateway = "198.51.100.254"

[[port]]
name = "server0"
device = "0000:03:00.0"
role = "server"
address = "10.0.0.1/24"

[[neighbour]]
address = "10.0.0.11"
mac = "02:00:00:00:00:0B"

[[vip]]
address = "203.0.113.10"
port = 80
mode = "nat"
scheduler = "wrr"

  [[vip.backend]]
  address = "10.0.0.11"
  port = 8080
  weight = 3

  [[vip.backend]]
  address = "10.0.0.12"
  port = 8080

[[vip]]
address = "203.0.113.10"
port = 443
mode = "fullnat"
scheduler = "maglev"
maglev_size = 65539
local_addresses = ["10.0.0.100", "10.0.0.101"]

  [[vip.backend]]
  address = "10.0.0.21"

[[vip]]
address = "203.0.113.20"
port = 80
mode = "dsr"
scheduler = "sh"

  [[vip.backend]]
  address = "10.0.0.31"
  port = 80
  weight = 0

  [[vip.backend]]
  address = "10.0.0.32"
)";

TEST(Config, FullValidConfig) {
  auto r = parse_config(kFullConfig, kFile);
  ASSERT_TRUE(r.errors.empty()) << join(r.errors);
  ASSERT_TRUE(r.config.has_value());
  const Config& c = *r.config;
  EXPECT_EQ(c.source, kFile);

  EXPECT_EQ(c.dataplane.flows_per_worker, 65536u);
  EXPECT_EQ(c.dataplane.mbufs, 8191u);
  EXPECT_EQ(c.dataplane.rx_descriptors, 2048);
  EXPECT_EQ(c.dataplane.tx_descriptors, 1024) << "default kept";
  EXPECT_EQ(c.dataplane.burst, 64);
  EXPECT_EQ(c.dataplane.idle_sleep_us, 10u);
  EXPECT_EQ(c.dataplane.neighbour_lifetime_s, 120u);
  EXPECT_EQ(c.dataplane.syn_timeout_s, 20u);
  EXPECT_EQ(c.dataplane.established_timeout_s, 600u);
  EXPECT_EQ(c.dataplane.closing_timeout_s, 5u);

  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0].name, "client0");
  EXPECT_EQ(c.ports[0].device, "net_tap0");
  EXPECT_EQ(c.ports[0].role, PortRole::client);
  EXPECT_EQ(c.ports[0].address.addr, A("198.51.100.1"));
  EXPECT_EQ(c.ports[0].address.len, 24);
  ASSERT_TRUE(c.ports[0].gateway.has_value());
  EXPECT_EQ(*c.ports[0].gateway, A("198.51.100.254"));
  EXPECT_EQ(c.ports[0].line, line_of(kFullConfig, "[[port]]", 0));
  EXPECT_EQ(c.ports[1].name, "server0");
  EXPECT_EQ(c.ports[1].device, "0000:03:00.0");
  EXPECT_EQ(c.ports[1].role, PortRole::server);
  EXPECT_EQ(c.ports[1].address.addr, A("10.0.0.1"));
  EXPECT_EQ(c.ports[1].address.len, 24);
  EXPECT_FALSE(c.ports[1].gateway.has_value());
  EXPECT_EQ(c.ports[1].line, line_of(kFullConfig, "[[port]]", 1));

  ASSERT_EQ(c.neighbours.size(), 1u);
  EXPECT_EQ(c.neighbours[0].address, A("10.0.0.11"));
  EXPECT_EQ(c.neighbours[0].mac.bytes, (std::array<uint8_t, 6>{2, 0, 0, 0, 0, 0x0b}));
  EXPECT_EQ(c.neighbours[0].line, line_of(kFullConfig, "[[neighbour]]"));

  ASSERT_EQ(c.vips.size(), 3u);
  const VipConfig& http = c.vips[0];
  EXPECT_EQ(http.address, A("203.0.113.10"));
  EXPECT_EQ(http.port, 80);
  EXPECT_EQ(http.mode, FwdMode::nat);
  EXPECT_EQ(http.scheduler, SchedKind::wrr);
  EXPECT_TRUE(http.local_addresses.empty());
  EXPECT_EQ(http.maglev_size, 65537u);
  EXPECT_EQ(http.line, line_of(kFullConfig, "[[vip]]", 0));
  ASSERT_EQ(http.backends.size(), 2u);
  EXPECT_EQ(http.backends[0].address, A("10.0.0.11"));
  EXPECT_EQ(http.backends[0].port, 8080);
  EXPECT_EQ(http.backends[0].weight, 3u);
  EXPECT_EQ(http.backends[0].line, line_of(kFullConfig, "[[vip.backend]]", 0));
  EXPECT_EQ(http.backends[1].address, A("10.0.0.12"));
  EXPECT_EQ(http.backends[1].port, 8080);
  EXPECT_EQ(http.backends[1].weight, 1u) << "default weight";
  EXPECT_EQ(http.backends[1].line, line_of(kFullConfig, "[[vip.backend]]", 1));

  const VipConfig& https = c.vips[1];
  EXPECT_EQ(https.address, A("203.0.113.10"));
  EXPECT_EQ(https.port, 443);
  EXPECT_EQ(https.mode, FwdMode::fullnat);
  EXPECT_EQ(https.scheduler, SchedKind::maglev);
  EXPECT_EQ(https.maglev_size, 65539u);
  EXPECT_EQ(https.local_addresses, (std::vector<Ipv4>{A("10.0.0.100"), A("10.0.0.101")}));
  ASSERT_EQ(https.backends.size(), 1u);
  EXPECT_EQ(https.backends[0].address, A("10.0.0.21"));
  EXPECT_EQ(https.backends[0].port, 443) << "backend port defaults to the VIP's";
  EXPECT_EQ(https.backends[0].weight, 1u);

  const VipConfig& dsr = c.vips[2];
  EXPECT_EQ(dsr.address, A("203.0.113.20"));
  EXPECT_EQ(dsr.mode, FwdMode::dsr);
  EXPECT_EQ(dsr.scheduler, SchedKind::sh);
  EXPECT_EQ(dsr.line, line_of(kFullConfig, "[[vip]]", 2));
  ASSERT_EQ(dsr.backends.size(), 2u);
  EXPECT_EQ(dsr.backends[0].port, 80);
  EXPECT_EQ(dsr.backends[0].weight, 0u) << "weight 0 (drained) is allowed";
  EXPECT_EQ(dsr.backends[1].port, 80);

  // Routing over the loaded ports.
  auto r1 = route_to(c, A("10.0.0.77"));
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->port_index, 1);
  EXPECT_EQ(r1->next_hop, A("10.0.0.77"));
  EXPECT_FALSE(route_to(c, A("8.8.8.8"))) << "only the client port has a gateway";
  auto r2 = route_to(c, A("8.8.8.8"), true);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->port_index, 0);
  EXPECT_EQ(r2->next_hop, A("198.51.100.254"));
  auto r3 = route_to(c, A("198.51.100.9"), true);
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->port_index, 0);
  EXPECT_EQ(r3->next_hop, A("198.51.100.9"));
}

TEST(Config, MinimalConfigUsesDefaults) {
  const std::string text = R"([[port]]
name = "p0"
device = "net_tap0"
address = "10.0.0.1/24"

[[vip]]
address = "192.0.2.1"
port = 80
)";
  auto r = parse_config(text, kFile);
  ASSERT_TRUE(r.errors.empty()) << join(r.errors);
  ASSERT_TRUE(r.config);
  const Config& c = *r.config;
  DataplaneConfig d;
  EXPECT_EQ(c.dataplane.flows_per_worker, d.flows_per_worker);
  EXPECT_EQ(c.dataplane.syn_timeout_s, d.syn_timeout_s);
  EXPECT_EQ(c.dataplane.established_timeout_s, d.established_timeout_s);
  EXPECT_EQ(c.ports.at(0).role, PortRole::both);
  EXPECT_EQ(c.vips.at(0).mode, FwdMode::nat);
  EXPECT_EQ(c.vips.at(0).scheduler, SchedKind::rr);
  EXPECT_EQ(c.vips.at(0).maglev_size, 65537u);
  EXPECT_TRUE(c.vips.at(0).backends.empty());
}

// Base configuration the bad cases are written against. "#<" marks the line an error
// is expected on.
struct BadCase {
  const char* what;
  std::string text;
  const char* key;   // the key the error names (its last component)
  const char* word;  // a word of the reason
  bool only_error = true;
};

std::string base_with(const std::string& port_extra, const std::string& vip_extra,
                      const std::string& backend_extra = "", const std::string& tail = "") {
  return "[[port]]\n"
         "name = \"p0\"\n"
         "device = \"net_tap0\"\n"
         "address = \"10.0.0.1/24\"\n"
         "gateway = \"10.0.0.254\"\n" +
         port_extra +
         "\n[[vip]]\n"
         "address = \"192.0.2.1\"\n"
         "port = 80\n" +
         vip_extra +
         "\n  [[vip.backend]]\n"
         "  address = \"10.0.0.11\"\n" +
         backend_extra + tail;
}

std::vector<BadCase> bad_cases() {
  return {
      {"syntax error: bare word value", base_with("", "mode = nat #<\n"), "syntax", "", true},
      {"syntax error: unterminated string", base_with("", "scheduler = \"rr #<\n"), "syntax", "", true},
      {"syntax error: duplicate key", base_with("", "port = 81 #<\n"), "syntax", "", true},
      {"unknown key (typo) in a vip", base_with("", "schedular = \"rr\" #<\n"), "schedular", "unknown"},
      {"unknown key in a port", base_with("rol = \"client\" #<\n", ""), "rol", "unknown"},
      {"unknown key in a backend", base_with("", "", "  wieght = 2 #<\n"), "wieght", "unknown"},
      {"unknown top-level table", base_with("", "", "", "\n[dataplain] #<\nburst = 3\n"), "dataplain", "unknown"},
      {"unknown key in dataplane", "[dataplane]\nflows = 1024 #<\n" + base_with("", ""), "flows", "unknown"},
      {"vip port out of range", base_with("", "", "", "\n[[vip]]\naddress = \"192.0.2.2\"\nport = 70000 #<\n"),
       "port", "range"},
      {"vip port zero", base_with("", "", "", "\n[[vip]]\naddress = \"192.0.2.2\"\nport = 0 #<\n"), "port", "range"},
      {"backend port out of range", base_with("", "", "  port = 65536 #<\n"), "port", "range"},
      {"dataplane burst out of range", "[dataplane]\nburst = 1000 #<\n" + base_with("", ""), "burst", "range"},
      {"syn timeout out of range", "[timeouts]\nsyn = 1 #<\n" + base_with("", ""), "syn", "range"},
      {"integer given as a string", base_with("", "", "  weight = \"3\" #<\n"), "weight", "integer"},
      {"bad vip address", base_with("", "", "", "\n[[vip]]\naddress = \"192.0.2.300\" #<\nport = 81\n"),
       "address", "IPv4"},
      {"bad backend address", base_with("", "", "", "\n  [[vip.backend]]\n  address = \"10.0.0\" #<\n"), "address",
       "IPv4"},
      {"port address without prefix length",
       "[[port]]\nname = \"p0\"\ndevice = \"d0\"\naddress = \"10.0.0.1\" #<\n", "address", "prefix", false},
      {"bad neighbour mac", base_with("", "", "", "\n[[neighbour]]\naddress = \"10.0.0.11\"\nmac = \"02:00:00:00:00\" #<\n"),
       "mac", "MAC"},
      {"bad mode", base_with("", "mode = \"tunnel\" #<\n"), "mode", "not one of"},
      {"bad scheduler", base_with("", "scheduler = \"random\" #<\n"), "scheduler", "not one of"},
      {"bad port role", base_with("role = \"backend\" #<\n", ""), "role", "not one of"},
      {"weight out of range", base_with("", "", "  weight = 70000 #<\n"), "weight", "range"},
      {"negative weight", base_with("", "", "  weight = -1 #<\n"), "weight", "range"},
      {"fullnat without local_addresses",
       "[[port]]\nname = \"p0\"\ndevice = \"d0\"\naddress = \"10.0.0.1/24\"\n\n[[vip]] #<\naddress = \"192.0.2.1\"\n"
       "port = 80\nmode = \"fullnat\"\n",
       "local_addresses", "fullnat"},
      {"local_addresses without fullnat", base_with("", "local_addresses = [\"10.0.0.100\"] #<\n"), "local_addresses",
       "fullnat"},
      {"bad local address", base_with("", "mode = \"fullnat\"\nlocal_addresses = [\"10.0.0.1000\"] #<\n"),
       "local_addresses", "IPv4", false},
      {"dsr backend port differs from the vip port", base_with("", "mode = \"dsr\"\n", "  port = 8080 #<\n"), "port",
       "dsr"},
      {"duplicate vip",
       base_with("", "", "", "\n[[vip]] #<\naddress = \"192.0.2.1\"\nport = 80\n"), "vip", "twice"},
      {"duplicate backend", base_with("", "", "", "\n  [[vip.backend]] #<\n  address = \"10.0.0.11\"\n"), "address",
       "twice"},
      {"duplicate backend with explicit equal port",
       base_with("", "", "  port = 80\n", "\n  [[vip.backend]] #<\n  address = \"10.0.0.11\"\n  port = 80\n"),
       "address", "twice"},
      {"backend unreachable from any server port",
       "[[port]]\nname = \"c\"\ndevice = \"d0\"\nrole = \"client\"\naddress = \"198.51.100.1/24\"\n"
       "gateway = \"198.51.100.254\"\n\n[[port]]\nname = \"s\"\ndevice = \"d1\"\nrole = \"server\"\n"
       "address = \"10.0.0.1/24\"\n\n[[vip]]\naddress = \"192.0.2.1\"\nport = 80\n\n  [[vip.backend]]\n"
       "  address = \"10.0.0.5\"\n\n  [[vip.backend]] #<\n  address = \"172.16.0.5\"\n",
       "address", "reachable"},
      {"non-prime maglev_size", base_with("", "scheduler = \"maglev\"\nmaglev_size = 65541 #<\n"), "maglev_size",
       "prime"},
      {"maglev_size too small", base_with("", "maglev_size = 1009 #<\n"), "maglev_size", "range"},
      {"missing vip port",
       base_with("", "", "", "\n[[vip]] #<\naddress = \"192.0.2.2\"\n"), "port", "missing"},
      {"missing vip address", base_with("", "", "", "\n[[vip]] #<\nport = 8443\n"), "address", "missing"},
      {"missing port device", "[[port]] #<\nname = \"p0\"\naddress = \"10.0.0.1/24\"\n", "device", "missing"},
      {"missing backend address", base_with("", "", "", "\n  [[vip.backend]] #<\n  port = 81\n"), "address",
       "missing", false},
      {"gateway outside the subnet",
       "[[port]]\nname = \"p0\"\ndevice = \"d0\"\naddress = \"10.0.0.1/24\"\ngateway = \"10.0.1.254\" #<\n",
       "gateway", "subnet"},
      {"duplicate port name",
       base_with("", "", "", "\n[[port]] #<\nname = \"p0\"\ndevice = \"d1\"\naddress = \"10.1.0.1/24\"\n"), "name",
       "twice"},
      {"no port at all", "#<\n[[vip]]\naddress = \"192.0.2.1\"\nport = 80\n", "port", "required"},
      {"port given as a table", "[port] #<\nname = \"p0\"\n", "port", "array of tables", false},
      {"controlplane shm without a leading slash", "[controlplane]\nshm = \"lbdp\" #<\n" + base_with("", ""), "shm",
       "'/'"},
      {"controlplane heartbeat port zero", "[controlplane]\nheartbeat_port = 0 #<\n" + base_with("", ""),
       "heartbeat_port", "range"},
      {"unknown key in controlplane", "[controlplane]\nshm_name = \"/x\" #<\n" + base_with("", ""), "shm_name",
       "unknown"},
  };
}

// "test.toml:LINE: <...>KEY: <message containing WORD>"
::testing::AssertionResult has_error(const std::vector<std::string>& errors, int line, const std::string& key,
                                     const std::string& word) {
  const std::string prefix = std::string(kFile) + ":" + std::to_string(line) + ": ";
  for (const auto& e : errors) {
    if (e.rfind(prefix, 0) != 0) continue;
    std::string rest = e.substr(prefix.size());
    size_t colon = rest.find(": ");
    if (colon == std::string::npos) continue;
    std::string k = rest.substr(0, colon), message = rest.substr(colon + 2);
    bool key_ok = k == key || (k.size() > key.size() && k.compare(k.size() - key.size(), key.size(), key) == 0 &&
                               (k[k.size() - key.size() - 1] == '.'));
    if (key_ok && message.find(word) != std::string::npos) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no error like \"" << prefix << "..." << key << ": ..." << word
                                       << "...\" among:\n"
                                       << join(errors);
}

TEST(Config, BadInputsReportFileLineKeyAndReason) {
  for (const auto& c : bad_cases()) {
    SCOPED_TRACE(std::string(c.what) + "\n--- input ---\n" + c.text);
    int line = line_of(c.text, "#<");
    auto r = parse_config(c.text, kFile);
    EXPECT_FALSE(r.config.has_value()) << "a bad file yields no config";
    ASSERT_FALSE(r.errors.empty());
    EXPECT_TRUE(has_error(r.errors, line, c.key, c.word));
    if (c.only_error) {
      EXPECT_EQ(r.errors.size(), 1u) << join(r.errors);
    }
  }
}

TEST(Config, BadCasesAreValidWithoutTheirFault) {
  // Guard against the bad cases failing for some other reason than the marked one:
  // the base text they are built from is itself valid.
  auto r = parse_config(base_with("", ""), kFile);
  EXPECT_TRUE(r.errors.empty()) << join(r.errors);
  EXPECT_TRUE(r.config.has_value());
  auto dsr_same_port = parse_config(base_with("", "mode = \"dsr\"\n", "  port = 80\n"), kFile);
  EXPECT_TRUE(dsr_same_port.errors.empty()) << join(dsr_same_port.errors);
  auto maglev_prime = parse_config(base_with("", "scheduler = \"maglev\"\nmaglev_size = 65543\n"), kFile);
  EXPECT_TRUE(maglev_prime.errors.empty()) << join(maglev_prime.errors);
  auto fullnat_ok = parse_config(base_with("", "mode = \"fullnat\"\nlocal_addresses = [\"10.0.0.100\"]\n"), kFile);
  EXPECT_TRUE(fullnat_ok.errors.empty()) << join(fullnat_ok.errors);
  auto same_backend_other_port = parse_config(
      base_with("", "", "", "\n  [[vip.backend]]\n  address = \"10.0.0.11\"\n  port = 8080\n"), kFile);
  EXPECT_TRUE(same_backend_other_port.errors.empty()) << join(same_backend_other_port.errors);
  auto same_vip_other_port =
      parse_config(base_with("", "", "", "\n[[vip]]\naddress = \"192.0.2.1\"\nport = 81\n"), kFile);
  EXPECT_TRUE(same_vip_other_port.errors.empty()) << join(same_vip_other_port.errors);
}

TEST(Config, AllErrorsOfAFileAreReported) {
  const std::string text = R"([dataplane]
burst = 0 #1

[[port]]
name = "p0"
device = "net_tap0"
address = "10.0.0.1/24"
colour = "blue" #2

[[neighbour]]
address = "10.0.0.11"
mac = "zz:00:00:00:00:01" #3

[[vip]]
address = "192.0.2.1"
port = 80
mode = "bridge" #4
scheduler = "fastest" #5

  [[vip.backend]]
  address = "10.0.0.11"
  weight = 100000 #6

  [[vip.backend]]
  address = "10.0.0.999" #7
)";
  auto r = parse_config(text, kFile);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_error(r.errors, line_of(text, "#1"), "burst", "range"));
  EXPECT_TRUE(has_error(r.errors, line_of(text, "#2"), "colour", "unknown"));
  EXPECT_TRUE(has_error(r.errors, line_of(text, "#3"), "mac", "MAC"));
  EXPECT_TRUE(has_error(r.errors, line_of(text, "#4"), "mode", "bridge"));
  EXPECT_TRUE(has_error(r.errors, line_of(text, "#5"), "scheduler", "fastest"));
  EXPECT_TRUE(has_error(r.errors, line_of(text, "#6"), "weight", "range"));
  EXPECT_TRUE(has_error(r.errors, line_of(text, "#7"), "address", "IPv4"));
  EXPECT_EQ(r.errors.size(), 7u) << join(r.errors);
}

TEST(Config, ErrorsNameTheSourceGiven) {
  auto r = parse_config("[[vip]]\naddress = \"1.2.3.4\"\nport = -5\n", "/etc/lbdp/prod.toml");
  ASSERT_FALSE(r.errors.empty());
  bool found = false;
  for (const auto& e : r.errors) found |= e.rfind("/etc/lbdp/prod.toml:3: ", 0) == 0;
  EXPECT_TRUE(found) << join(r.errors);
  EXPECT_FALSE(r.config);
}

TEST(Config, LoadConfigFromFile) {
  auto missing = load_config("/nonexistent/dir/lbdp.toml");
  EXPECT_FALSE(missing.config);
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_NE(missing.errors[0].find("/nonexistent/dir/lbdp.toml"), std::string::npos);

  std::string path_template = "/tmp/lb_test_config_" + std::string(6, 'X');  // mkstemp's pattern
  std::vector<char> buffer(path_template.begin(), path_template.end());
  buffer.push_back('\0');
  int fd = mkstemp(buffer.data());
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string path = buffer.data();
  {
    std::ofstream out(path);
    out << kFullConfig;
  }
  auto ok = load_config(path);
  EXPECT_TRUE(ok.errors.empty()) << join(ok.errors);
  ASSERT_TRUE(ok.config);
  EXPECT_EQ(ok.config->source, path);
  EXPECT_EQ(ok.config->vips.size(), 3u);
  {
    std::ofstream out(path);
    out << "[[port]]\nname = \"p\"\ndevice = \"d\"\naddress = \"10.0.0.1/33\"\n";
  }
  auto bad = load_config(path);
  EXPECT_FALSE(bad.config);
  ASSERT_FALSE(bad.errors.empty());
  EXPECT_EQ(bad.errors[0].rfind(std::string(path) + ":4: ", 0), 0u) << join(bad.errors);
  std::remove(path.c_str());
}

TEST(Config, FwdModeNames) {
  for (auto m : {FwdMode::nat, FwdMode::fullnat, FwdMode::dsr}) EXPECT_EQ(parse_fwd_mode(fwd_mode_name(m)), m);
  EXPECT_FALSE(parse_fwd_mode("NAT"));
  EXPECT_FALSE(parse_fwd_mode("tunnel"));
  EXPECT_FALSE(parse_fwd_mode(""));
}

}  // namespace
}  // namespace lb
