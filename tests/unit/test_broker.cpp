// Unit tests for lbbroker's pure parts: the adaptive interval, the config loader and
// its file:line errors, the /proc parsers, the verdict, one monitor step driven
// through fakes (no network, no sleeping), and which signals stop the process.
#include <gtest/gtest.h>

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "config.hpp"
#include "heartbeat.hpp"
#include "interval.hpp"
#include "load.hpp"
#include "monitor.hpp"
#include "signals.hpp"
#include "verdict.hpp"

namespace lb::broker {
namespace {

// --- the adaptive interval ---------------------------------------------------------

constexpr IntervalRule kRule{10.0, 100, 2000};  // x10, within [100 ms, 2 s]

TEST(Interval, ScalesTheLargerOfTheLastTwoResponseTimes) {
  EXPECT_EQ(next_interval_ms(kRule, 50'000, 0), 500u);        // 50 ms x 10
  EXPECT_EQ(next_interval_ms(kRule, 20'000, 50'000), 500u);   // rt_last is larger
  EXPECT_EQ(next_interval_ms(kRule, 80'000, 30'000), 800u);   // rt_now is larger
  EXPECT_EQ(next_interval_ms(kRule, 12'345, 0), 123u);        // fractions of a ms are dropped
}

TEST(Interval, ClampsToTheBounds) {
  EXPECT_EQ(next_interval_ms(kRule, 0, 0), 100u);
  EXPECT_EQ(next_interval_ms(kRule, 9'999, 0), 100u);         // 99.99 ms -> min
  EXPECT_EQ(next_interval_ms(kRule, 10'000, 0), 100u);        // exactly min
  EXPECT_EQ(next_interval_ms(kRule, 200'000, 0), 2000u);      // exactly max
  EXPECT_EQ(next_interval_ms(kRule, 200'001, 0), 2000u);
  EXPECT_EQ(next_interval_ms(kRule, UINT32_MAX, UINT32_MAX), 2000u);  // no overflow
  EXPECT_EQ(next_interval_ms(IntervalRule{100000.0, 10, 3600000}, UINT32_MAX, 0), 3600000u);
}

TEST(Interval, FractionalMultiplier) {
  EXPECT_EQ(next_interval_ms(IntervalRule{2.5, 10, 10000}, 100'000, 0), 250u);
}

TEST(Interval, AdaptiveIntervalRemembersOnlyTheLastResponse) {
  AdaptiveInterval interval(kRule);
  EXPECT_EQ(interval.next(30'000), 300u);   // first probe: rt_last = 0
  EXPECT_EQ(interval.next(150'000), 1500u); // slowed down
  EXPECT_EQ(interval.next(20'000), 1500u);  // fast again, but rt_last (150 ms) still counts
  EXPECT_EQ(interval.next(20'000), 200u);   // rt_last is now 20 ms
  EXPECT_EQ(interval.next(1'000'000), 2000u);
  EXPECT_EQ(interval.next(0), 2000u);
  EXPECT_EQ(interval.next(0), 100u);
}

// --- configuration -----------------------------------------------------------------

// A key file in a temporary directory, and config text referring to it.
class BrokerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "broker" + std::string(6, 'X');  // mkstemp template
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    key_path_ = dir_ + "/hb.key";
    std::ofstream(key_path_) << "0123456789abcdef0123456789abcdef\n";
  }
  void TearDown() override {
    std::remove(key_path_.c_str());
    std::remove((dir_ + "/short.key").c_str());
    std::remove((dir_ + "/broker.toml").c_str());
    rmdir(dir_.c_str());
  }

  std::string valid_text() const {
    return "[probe]\n"                                     // 1
           "url = \"http://127.0.0.1:8080/health\"\n"      // 2
           "expect_status = 204\n"                         // 3
           "expect_body = \"ok\"\n"                        // 4
           "timeout_ms = 1500\n"                           // 5
           "\n"                                            // 6
           "[limits]\n"                                    // 7
           "max_response_ms = 800\n"                       // 8
           "max_cpu_load = 1.5\n"                          // 9
           "max_connections = 300\n"                       // 10
           "\n"                                            // 11
           "[interval]\n"                                  // 12
           "multiplier = 20\n"                             // 13
           "min_ms = 250\n"                                // 14
           "max_ms = 4000\n"                               // 15
           "\n"                                            // 16
           "[heartbeat]\n"                                 // 17
           "target = \"10.0.0.1:7000\"\n"                  // 18
           "node_address = \"10.0.1.5\"\n"                 // 19
           "service_port = 8080\n"                         // 20
           "key_file = \"" + key_path_ + "\"\n";           // 21
  }

  // Replaces the first line starting with `key =` by `replacement` (or removes it).
  static std::string with(std::string text, const std::string& key, const std::string& replacement) {
    size_t at = text.find("\n" + key + " =");
    EXPECT_NE(at, std::string::npos) << key;
    size_t end = text.find('\n', at + 1);
    text.replace(at + 1, end - at - (replacement.empty() ? 0 : 1), replacement);
    return text;
  }

  ConfigResult parse(const std::string& text) { return parse_config(text, "broker.toml", dir_); }

  std::string dir_;
  std::string key_path_;
};

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += "  " + e + "\n";
  return out;
}

TEST_F(BrokerConfigTest, ValidFileIsReadWhole) {
  ConfigResult r = parse(valid_text());
  ASSERT_TRUE(r.config) << joined(r.errors);
  const BrokerConfig& c = *r.config;
  EXPECT_EQ(c.probe.url, "http://127.0.0.1:8080/health");
  EXPECT_EQ(c.probe.expect_status, 204);
  EXPECT_EQ(c.probe.expect_body, "ok");
  EXPECT_EQ(c.probe.timeout_ms, 1500u);
  EXPECT_EQ(c.limits.max_response_ms, 800u);
  EXPECT_DOUBLE_EQ(c.limits.max_cpu_load, 1.5);
  EXPECT_EQ(c.limits.max_connections, 300u);
  EXPECT_DOUBLE_EQ(c.interval.multiplier, 20.0);
  EXPECT_EQ(c.interval.min_ms, 250u);
  EXPECT_EQ(c.interval.max_ms, 4000u);
  EXPECT_EQ(c.heartbeat.target_addr, 0x0a000001u);
  EXPECT_EQ(c.heartbeat.target_port, 7000);
  EXPECT_EQ(c.heartbeat.node_addr, 0x0a000105u);
  EXPECT_EQ(c.heartbeat.service_port, 8080);
  EXPECT_EQ(std::string(c.heartbeat.key.begin(), c.heartbeat.key.end()), "0123456789abcdef0123456789abcdef");
}

TEST_F(BrokerConfigTest, OptionalKeysTakeTheirDefaults) {
  std::string text = "[probe]\nurl = \"http://127.0.0.1/\"\n"
                     "[heartbeat]\ntarget = \"10.0.0.1\"\nnode_address = \"10.0.1.5\"\nservice_port = 80\n"
                     "key_file = \"hb.key\"\n";  // relative: beside the config file
  ConfigResult r = parse(text);
  ASSERT_TRUE(r.config) << joined(r.errors);
  const BrokerConfig& c = *r.config;
  const BrokerConfig defaults;
  EXPECT_EQ(c.probe.expect_status, 200);
  EXPECT_EQ(c.probe.expect_body, "");
  EXPECT_EQ(c.probe.timeout_ms, defaults.probe.timeout_ms);
  EXPECT_EQ(c.limits.max_response_ms, defaults.limits.max_response_ms);
  EXPECT_DOUBLE_EQ(c.limits.max_cpu_load, 0.9);
  EXPECT_EQ(c.limits.max_connections, defaults.limits.max_connections);
  EXPECT_DOUBLE_EQ(c.interval.multiplier, defaults.interval.multiplier);
  EXPECT_EQ(c.interval.min_ms, defaults.interval.min_ms);
  EXPECT_EQ(c.interval.max_ms, defaults.interval.max_ms);
  // The timing rule (docs/controlplane.md): max_ms plus max_response_ms, 2 s, stays well
  // below lbcp's default warning time of 5 s.
  EXPECT_EQ(c.interval.min_ms, 200u);
  EXPECT_EQ(c.interval.max_ms, 1000u);
  EXPECT_EQ(c.limits.max_response_ms, 1000u);
  EXPECT_EQ(c.heartbeat.target_port, hb::kDefaultPort);
  EXPECT_EQ(c.heartbeat.key_file, dir_ + "/hb.key");
  EXPECT_EQ(c.heartbeat.key.size(), 32u);
}

// Each case: what to change, and the line and text its error must carry.
struct BadValue {
  const char* key;
  const char* replacement;
  int line;
  const char* expected;  // after "broker.toml:LINE: "
};

TEST_F(BrokerConfigTest, EachBadValueIsReportedWithFileLineAndKey) {
  const BadValue cases[] = {
      {"url", "url = \"ftp://x/\"", 2, "probe.url: \"ftp://x/\" is not an http:// or https:// URL"},
      {"expect_status", "expect_status = 99", 3, "probe.expect_status: 99 out of range [100, 599]"},
      {"expect_body", "expect_body = 5", 4, "probe.expect_body: must be a string"},
      {"timeout_ms", "timeout_ms = 0", 5, "probe.timeout_ms: 0 out of range [10, 60000]"},
      {"max_response_ms", "max_response_ms = 1501", 8, "limits.max_response_ms: 1501 is larger than probe.timeout_ms (1500)"},
      {"max_cpu_load", "max_cpu_load = 0", 9, "limits.max_cpu_load: 0 out of range [0.01, 1000]"},
      {"max_cpu_load", "max_cpu_load = \"high\"", 9, "limits.max_cpu_load: must be a number"},
      {"max_connections", "max_connections = -1", 10, "limits.max_connections: -1 out of range [1, 100000000]"},
      {"multiplier", "multiplier = 0.0", 13, "interval.multiplier: 0 out of range [0.1, 100000]"},
      {"min_ms", "min_ms = 5000", 14, "interval.min_ms: min_ms (5000) is larger than max_ms (4000)"},
      {"max_ms", "max_ms = 1.5", 15, "interval.max_ms: must be an integer"},
      {"target", "target = \"10.0.0.1:0\"", 18, "heartbeat.target: \"10.0.0.1:0\" is not a.b.c.d or a.b.c.d:port"},
      {"target", "target = \"lbdp:7946\"", 18, "heartbeat.target: \"lbdp:7946\" is not a.b.c.d or a.b.c.d:port"},
      {"node_address", "node_address = \"10.0.1\"", 19, "heartbeat.node_address: \"10.0.1\" is not an IPv4 address"},
      {"service_port", "service_port = 65536", 20, "heartbeat.service_port: 65536 out of range [1, 65535]"},
      {"key_file", "key_file = \"missing.key\"", 21, "heartbeat.key_file: cannot read key file"},
      {"service_port", "service_port = 80\nport = 80", 21, "heartbeat.port: unknown key"},
  };
  for (const auto& c : cases) {
    ConfigResult r = parse(with(valid_text(), c.key, c.replacement));
    EXPECT_FALSE(r.config) << c.replacement;
    ASSERT_EQ(r.errors.size(), 1u) << c.replacement << "\n" << joined(r.errors);
    std::string want = "broker.toml:" + std::to_string(c.line) + ": " + c.expected;
    EXPECT_EQ(r.errors[0].substr(0, want.size()), want) << r.errors[0];
  }
}

TEST_F(BrokerConfigTest, ShortKeyFileIsRefused) {
  std::ofstream(dir_ + "/short.key") << "tooshort\n";
  ConfigResult r = parse(with(valid_text(), "key_file", "key_file = \"short.key\""));
  ASSERT_EQ(r.errors.size(), 1u) << joined(r.errors);
  EXPECT_NE(r.errors[0].find("broker.toml:21: heartbeat.key_file: key file " + dir_ + "/short.key holds 8 bytes"),
            std::string::npos)
      << r.errors[0];
}

TEST_F(BrokerConfigTest, AllErrorsAreReportedAtOnceInLineOrder) {
  std::string text = with(valid_text(), "expect_status", "expect_status = 700");
  text = with(text, "min_ms", "min_ms = 1");
  text = with(text, "node_address", "node_address = \"x\"");
  text += "[extra]\n";  // line 22
  ConfigResult r = parse(text);
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 4u) << joined(r.errors);
  EXPECT_EQ(r.errors[0].rfind("broker.toml:3: probe.expect_status:", 0), 0u) << r.errors[0];
  EXPECT_EQ(r.errors[1].rfind("broker.toml:14: interval.min_ms:", 0), 0u) << r.errors[1];
  EXPECT_EQ(r.errors[2].rfind("broker.toml:19: heartbeat.node_address:", 0), 0u) << r.errors[2];
  EXPECT_EQ(r.errors[3].rfind("broker.toml:22: extra: unknown section", 0), 0u) << r.errors[3];
}

TEST_F(BrokerConfigTest, MissingRequiredKeysAreNamed) {
  ConfigResult r = parse("[limits]\nmax_connections = 5\n");
  EXPECT_FALSE(r.config);
  std::string all = joined(r.errors);
  for (const char* key : {"probe.url", "heartbeat.target", "heartbeat.node_address", "heartbeat.service_port",
                          "heartbeat.key_file"})
    EXPECT_NE(all.find(std::string("broker.toml:1: ") + key + ": missing (required)"), std::string::npos)
        << key << "\n" << all;
  EXPECT_EQ(r.errors.size(), 5u) << all;
}

TEST_F(BrokerConfigTest, DefaultResponseLimitAboveTheTimeoutBlamesTheTimeout) {
  // max_response_ms is left at its default (1000); a shorter timeout is the key at fault.
  std::string text = with(valid_text(), "max_response_ms", "");
  text = with(text, "timeout_ms", "timeout_ms = 900");
  ConfigResult r = parse(text);
  ASSERT_EQ(r.errors.size(), 1u) << joined(r.errors);
  EXPECT_EQ(r.errors[0].rfind("broker.toml:5: probe.timeout_ms: 900 is smaller than limits.max_response_ms (1000)", 0),
            0u)
      << r.errors[0];
}

TEST_F(BrokerConfigTest, SyntaxErrorCarriesItsLine) {
  ConfigResult r = parse("[probe]\nurl = \"http://x/\"\ntimeout_ms = = 3\n");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].rfind("broker.toml:3: syntax:", 0), 0u) << r.errors[0];
}

TEST_F(BrokerConfigTest, SectionThatIsNotATable) {
  ConfigResult r = parse("probe = 3\n" + with(valid_text(), "url", "").substr(std::string("[probe]\n").size()));
  EXPECT_FALSE(r.config);
  EXPECT_NE(joined(r.errors).find("broker.toml:1: probe: must be a table"), std::string::npos) << joined(r.errors);
}

TEST_F(BrokerConfigTest, LoadConfigResolvesTheKeyBesideTheFile) {
  std::string text = with(valid_text(), "key_file", "key_file = \"hb.key\"");
  std::string path = dir_ + "/broker.toml";
  std::ofstream(path) << text;
  ConfigResult r = load_config(path);
  ASSERT_TRUE(r.config) << joined(r.errors);
  EXPECT_EQ(r.config->heartbeat.key_file, dir_ + "/hb.key");
  EXPECT_EQ(r.config->source, path);

  ConfigResult missing = load_config(dir_ + "/nothing.toml");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_NE(missing.errors[0].find(dir_ + "/nothing.toml: cannot read"), std::string::npos) << missing.errors[0];
}

TEST(Endpoint, Parsing) {
  auto e = parse_endpoint("192.168.1.2:7946", 1);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->addr, 0xc0a80102u);
  EXPECT_EQ(e->port, 7946);
  e = parse_endpoint("192.168.1.2", 99);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 99);
  EXPECT_FALSE(parse_endpoint("192.168.1.2:", 1));
  EXPECT_FALSE(parse_endpoint("192.168.1.2:70000", 1));
  EXPECT_FALSE(parse_endpoint("192.168.1.2:12ab", 1));
  EXPECT_FALSE(parse_endpoint("192.168.1:80", 1));
  EXPECT_EQ(ipv4_to_string(0x0a000105), "10.0.1.5");
}

// --- /proc parsers -----------------------------------------------------------------

TEST(Loadavg, PermillePerCpu) {
  EXPECT_EQ(cpu_permille_from_loadavg("0.52 0.58 0.59 1/467 12345\n", 1), 520u);
  EXPECT_EQ(cpu_permille_from_loadavg("1.80 0.58 0.59 1/467 12345\n", 4), 450u);
  EXPECT_EQ(cpu_permille_from_loadavg("3.00 2.00 1.00 5/100 1\n", 2), 1500u);  // overloaded: above one per CPU
  EXPECT_EQ(cpu_permille_from_loadavg("0.00 0.00 0.00 1/1 1\n", 8), 0u);
  EXPECT_EQ(cpu_permille_from_loadavg("0.01 0 0 1/1 1", 3), 3u);               // 3.33 rounds to 3
  EXPECT_EQ(cpu_permille_from_loadavg("0.02 0 0 1/1 1", 3), 7u);               // 6.67 rounds to 7
}

TEST(Loadavg, MalformedIsRefused) {
  EXPECT_FALSE(cpu_permille_from_loadavg("", 1));
  EXPECT_FALSE(cpu_permille_from_loadavg(" 0.5 0.5 0.5", 1));
  EXPECT_FALSE(cpu_permille_from_loadavg("load 0.5", 1));
  EXPECT_FALSE(cpu_permille_from_loadavg("0.5x 0.5 0.5", 1));
  EXPECT_FALSE(cpu_permille_from_loadavg("-1.0 0 0", 1));
  EXPECT_FALSE(cpu_permille_from_loadavg("0.5 0.5 0.5", 0));
}

// Rows as the kernel writes them (trailing columns shortened). Port 0x1F90 = 8080,
// 0x0050 = 80. States: 01 ESTABLISHED, 0A LISTEN, 06 TIME_WAIT, 08 CLOSE_WAIT.
const char* kProcNetTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0\n"
    "   1: 0501000A:1F90 0200000A:D431 01 00000000:00000000 00:00000000 00000000    33        0 1002 1 0\n"
    "   2: 0501000A:1F90 0200000A:D432 01 00000000:00000000 00:00000000 00000000    33        0 1003 1 0\n"
    "   3: 0501000A:1F90 0200000A:D433 06 00000000:00000000 03:00000F3C 00000000     0        0 0 3 0\n"
    "   4: 0501000A:1F90 0200000A:D434 08 00000000:00000000 00:00000000 00000000    33        0 1004 1 0\n"
    "   5: 0501000A:D435 0300000A:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 1005 1 0\n"
    "   6: 0100007F:0050 0100007F:9C40 01 00000000:00000000 00:00000000 00000000    33        0 1006 1 0\n"
    "   7: 0100007F:1F90 0100007F:9C41 01 00000000:00000000 00:00000000 00000000    33        0 1007 1 0\n";

TEST(ProcNetTcp, CountsEstablishedRowsOnTheLocalPort) {
  // Rows 1, 2 and 7; not the listener (0), TIME_WAIT (3), CLOSE_WAIT (4), an outgoing
  // connection to someone else's 8080 (5), or another port (6).
  EXPECT_EQ(count_established(kProcNetTcp, 8080), 3u);
  EXPECT_EQ(count_established(kProcNetTcp, 80), 1u);
  EXPECT_EQ(count_established(kProcNetTcp, 443), 0u);
}

TEST(ProcNetTcp, Ipv6Rows) {
  const char* tcp6 =
      "  sl  local_address                         remote_address                        st tx_queue rx_queue\n"
      "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000\n"
      "   1: 0000000000000000FFFF00000501000A:1F90 0000000000000000FFFF00000200000A:C001 01 00000000:00000000\n"
      "   2: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:C002 01 00000000:00000000\n";
  EXPECT_EQ(count_established(tcp6, 8080), 2u);
}

TEST(ProcNetTcp, HeaderOnlyEmptyAndGarbage) {
  EXPECT_EQ(count_established("", 80), 0u);
  EXPECT_EQ(count_established("  sl  local_address rem_address   st tx_queue\n", 80), 0u);
  EXPECT_EQ(count_established("garbage\n   1: nocolon 0200000A:D431 01\n   2: 0A:zz 0A:1 01\n", 80), 0u);
  // No trailing newline on the last row.
  EXPECT_EQ(count_established("   1: 0501000A:0050 0200000A:D431 01 0", 80), 1u);
}

// --- the verdict -------------------------------------------------------------------

ProbeResult good_probe(uint32_t response_us = 5000) {
  ProbeResult p;
  p.ok = true;
  p.http_status = 200;
  p.response_us = response_us;
  return p;
}

LimitsConfig limits() {
  LimitsConfig l;
  l.max_response_ms = 100;
  l.max_cpu_load = 0.9;
  l.max_connections = 50;
  return l;
}

TEST(Verdict, HealthyWhenEverythingIsWithinLimits) {
  LoadSample load{900, 50};  // equal to the limits is still fine
  Verdict v = judge(good_probe(100'000), &load, "", limits());
  EXPECT_EQ(v.health, Health::healthy);
  EXPECT_EQ(v.reason, "");
}

TEST(Verdict, EachLimitAloneMakesItOverloaded) {
  LoadSample ok{100, 3};
  Verdict slow = judge(good_probe(100'001), &ok, "", limits());
  EXPECT_EQ(slow.health, Health::overloaded);
  EXPECT_EQ(slow.reason, "response 100.001 ms > 100 ms");
  LoadSample busy{901, 3};
  Verdict cpu = judge(good_probe(), &busy, "", limits());
  EXPECT_EQ(cpu.health, Health::overloaded);
  EXPECT_EQ(cpu.reason, "cpu load 0.901 > 0.900 per CPU");
  LoadSample crowded{100, 51};
  Verdict conns = judge(good_probe(), &crowded, "", limits());
  EXPECT_EQ(conns.health, Health::overloaded);
  EXPECT_EQ(conns.reason, "connections 51 > 50");
}

TEST(Verdict, AllExceededLimitsAreListed) {
  LoadSample load{2000, 99};
  Verdict v = judge(good_probe(250'000), &load, "", limits());
  EXPECT_EQ(v.health, Health::overloaded);
  EXPECT_EQ(v.reason, "response 250.000 ms > 100 ms; cpu load 2.000 > 0.900 per CPU; connections 99 > 50");
}

TEST(Verdict, FailingProbeOrUnreadableLoadWins) {
  ProbeResult bad;
  bad.reason = "HTTP status 503, expected 200";
  LoadSample load{5000, 500};
  Verdict v = judge(bad, &load, "", limits());
  EXPECT_EQ(v.health, Health::failing);
  EXPECT_EQ(v.reason, "probe: HTTP status 503, expected 200");
  Verdict no_load = judge(good_probe(), nullptr, "cannot read /proc/loadavg", limits());
  EXPECT_EQ(no_load.health, Health::failing);
  EXPECT_EQ(no_load.reason, "load figures: cannot read /proc/loadavg");
}

// --- one monitor step through fakes ------------------------------------------------

struct FakeProber : Prober {
  ProbeResult next;
  ProbeResult probe() override { return next; }
};

struct FakeLoad : LoadSource {
  bool readable = true;
  LoadSample next;
  bool sample(LoadSample* out, std::string* error) override {
    if (!readable) *error = "cannot read /proc/loadavg";
    else *out = next;
    return readable;
  }
};

struct FakeSink : HeartbeatSink {
  std::vector<std::vector<uint8_t>> sent;
  bool fail = false;
  bool send(const uint8_t* data, size_t length, std::string* error) override {
    if (fail) {
      *error = "sendto: Network is unreachable";
      return false;
    }
    sent.emplace_back(data, data + length);
    return true;
  }
};

class MonitorTest : public ::testing::Test {
 protected:
  MonitorTest() {
    config_.limits = limits();
    config_.interval = IntervalConfig{10.0, 100, 2000};
    config_.heartbeat.node_addr = 0x0a000105;
    config_.heartbeat.service_port = 8080;
    config_.heartbeat.key = hb::Key(20, 'k');
    prober_.next = good_probe(30'000);
    load_.next = LoadSample{250, 7};
  }
  Monitor make() { return Monitor(config_, prober_, load_, sink_, [this] { return now_ms_; }, kBootId); }
  hb::Message decode_sent(size_t i) {
    hb::Message m;
    EXPECT_LT(i, sink_.sent.size());
    if (i >= sink_.sent.size()) return m;
    EXPECT_EQ(hb::decode(sink_.sent[i].data(), sink_.sent[i].size(), config_.heartbeat.key, &m), hb::Reject::none);
    return m;
  }

  static constexpr uint64_t kBootId = 1'700'000'000'000'000'000ULL;
  BrokerConfig config_;
  FakeProber prober_;
  FakeLoad load_;
  FakeSink sink_;
  uint64_t now_ms_ = 1'700'000'000'500;
};

TEST_F(MonitorTest, HealthySendsASignedHeartbeatWithTheFigures) {
  Monitor monitor = make();
  StepReport r = monitor.step();
  EXPECT_EQ(r.verdict.health, Health::healthy);
  EXPECT_TRUE(r.sent);
  EXPECT_EQ(r.interval_ms, 300u);  // 30 ms x 10
  ASSERT_EQ(sink_.sent.size(), 1u);
  hb::Message m = decode_sent(0);
  EXPECT_EQ(m.node_addr, 0x0a000105u);
  EXPECT_EQ(m.service_port, 8080);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.boot_id, kBootId);
  EXPECT_EQ(m.sequence, 1u);
  EXPECT_EQ(m.sent_ms, now_ms_);
  EXPECT_EQ(m.load.response_us, 30'000u);
  EXPECT_EQ(m.load.cpu_permille, 250u);
  EXPECT_EQ(m.load.connections, 7u);
  EXPECT_EQ(m.load.interval_ms, 300u);

  now_ms_ += 300;
  prober_.next = good_probe(10'000);
  r = monitor.step();
  ASSERT_EQ(sink_.sent.size(), 2u);
  m = decode_sent(1);
  EXPECT_EQ(m.sequence, 2u);
  EXPECT_EQ(m.sent_ms, now_ms_);
  EXPECT_EQ(m.load.interval_ms, 300u);  // rt_last (30 ms) still rules
  EXPECT_EQ(r.interval_ms, 300u);
}

TEST_F(MonitorTest, OverloadedOrFailingSendsNothingButStillAdaptsTheInterval) {
  Monitor monitor = make();
  load_.next.connections = 51;
  StepReport r = monitor.step();
  EXPECT_EQ(r.verdict.health, Health::overloaded);
  EXPECT_FALSE(r.sent);
  EXPECT_EQ(r.interval_ms, 300u);

  load_.next.connections = 7;
  prober_.next.ok = false;
  prober_.next.reason = "request failed: Connection refused";
  prober_.next.response_us = 1'000'000;
  r = monitor.step();
  EXPECT_EQ(r.verdict.health, Health::failing);
  EXPECT_FALSE(r.sent);
  EXPECT_EQ(r.interval_ms, 2000u);  // a timed-out probe pushes the interval to its maximum

  load_.readable = false;
  prober_.next = good_probe(30'000);
  r = monitor.step();
  EXPECT_EQ(r.verdict.health, Health::failing);
  EXPECT_FALSE(r.load);
  EXPECT_TRUE(sink_.sent.empty());

  // Healthy again: the first heartbeat of this boot is sequence 1.
  load_.readable = true;
  r = monitor.step();
  EXPECT_TRUE(r.sent);
  EXPECT_EQ(decode_sent(0).sequence, 1u);
}

TEST_F(MonitorTest, OnceModeProbesWithoutSending) {
  Monitor monitor = make();
  StepReport r = monitor.step(false);
  EXPECT_EQ(r.verdict.health, Health::healthy);
  EXPECT_FALSE(r.sent);
  EXPECT_TRUE(sink_.sent.empty());
}

TEST_F(MonitorTest, FailedSendIsReportedAndItsSequenceNotReused) {
  Monitor monitor = make();
  sink_.fail = true;
  StepReport r = monitor.step();
  EXPECT_FALSE(r.sent);
  sink_.fail = false;
  r = monitor.step();
  EXPECT_TRUE(r.sent);
  EXPECT_EQ(decode_sent(0).sequence, 2u);
}

TEST_F(MonitorTest, RunStopsAtOnceAndSendsADrainingHeartbeat) {
  Monitor monitor = make();
  StopSignal stop;
  stop.request_stop();  // run does no step, and a wait returns at once
  EXPECT_TRUE(stop.wait_for(std::chrono::hours(1)));
  monitor.run(stop);
  EXPECT_TRUE(sink_.sent.empty());  // never healthy: nothing to drain

  monitor.step();
  ASSERT_EQ(sink_.sent.size(), 1u);
  monitor.run(stop);
  ASSERT_EQ(sink_.sent.size(), 2u);
  hb::Message last = decode_sent(1);
  EXPECT_EQ(last.flags, hb::kFlagDraining);
  EXPECT_EQ(last.sequence, 2u);
}

// --- process signals ---------------------------------------------------------------

// SIGHUP (logrotate's "kill -HUP") must not stop lbbroker, and SIGPIPE must not kill it.
// The signals are raised at this thread with them blocked, so they wait as pending
// until wait_for_stop_signal takes them.
TEST(Signals, HangupIsTakenAndWaitedPastOnlyTermStops) {
  sigset_t before;
  pthread_sigmask(SIG_SETMASK, nullptr, &before);
  struct sigaction pipe_before {};
  sigaction(SIGPIPE, nullptr, &pipe_before);

  block_process_signals();
  sigset_t blocked;
  pthread_sigmask(SIG_SETMASK, nullptr, &blocked);
  EXPECT_EQ(sigismember(&blocked, SIGHUP), 1);
  EXPECT_EQ(sigismember(&blocked, SIGTERM), 1);
  EXPECT_EQ(sigismember(&blocked, SIGINT), 1);
  struct sigaction pipe_now {};
  sigaction(SIGPIPE, nullptr, &pipe_now);
  EXPECT_EQ(pipe_now.sa_handler, SIG_IGN);

  ASSERT_EQ(raise(SIGHUP), 0);
  ASSERT_EQ(raise(SIGHUP), 0);  // standard signals do not queue: still one pending
  ASSERT_EQ(raise(SIGTERM), 0);
  EXPECT_EQ(wait_for_stop_signal(), SIGTERM);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGHUP), 0) << "the SIGHUP was taken, not left pending";

  ASSERT_EQ(raise(SIGINT), 0);
  EXPECT_EQ(wait_for_stop_signal(), SIGINT);

  sigaction(SIGPIPE, &pipe_before, nullptr);
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

}  // namespace
}  // namespace lb::broker
