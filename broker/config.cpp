#include "config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>
#include <utility>

#include "toml_reader.hpp"

namespace lb::broker {

std::optional<uint32_t> parse_ipv4(std::string_view text) {
  std::string s(text);
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string ipv4_to_string(uint32_t addr) {
  in_addr a{};
  a.s_addr = htonl(addr);
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::optional<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port) {
  size_t colon = text.find(':');
  auto addr = parse_ipv4(text.substr(0, colon));
  if (!addr) return std::nullopt;
  if (colon == std::string_view::npos) return Endpoint{*addr, default_port};
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty() || port < 1 || port > 65535)
    return std::nullopt;
  return Endpoint{*addr, static_cast<uint16_t>(port)};
}

namespace {

using toml_reader::Error;
using toml_reader::TableReader;

void read_probe(TableReader& r, ProbeConfig& p) {
  r.allow_only({"url", "expect_status", "expect_body", "timeout_ms"});
  if (auto url = r.string("url", true)) {
    if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0)
      r.error("url", "\"" + *url + "\" is not an http:// or https:// URL");
    else p.url = *url;
  }
  r.integer("expect_status", p.expect_status, 100, 599);
  if (auto body = r.string("expect_body", false)) p.expect_body = *body;
  r.integer("timeout_ms", p.timeout_ms, 10, 60000);
}

void read_limits(TableReader& r, LimitsConfig& l) {
  r.allow_only({"max_response_ms", "max_cpu_load", "max_connections"});
  r.integer("max_response_ms", l.max_response_ms, 1, 60000);
  r.number("max_cpu_load", l.max_cpu_load, 0.01, 1000.0);
  r.integer("max_connections", l.max_connections, 1, 100000000);
}

void read_interval(TableReader& r, IntervalConfig& i) {
  r.allow_only({"multiplier", "min_ms", "max_ms"});
  r.number("multiplier", i.multiplier, 0.1, 100000.0);
  r.integer("min_ms", i.min_ms, 10, 3600000);
  r.integer("max_ms", i.max_ms, 10, 3600000);
  if (i.min_ms > i.max_ms) {
    std::string message = "min_ms (" + std::to_string(i.min_ms) + ") is larger than max_ms (" + std::to_string(i.max_ms) + ")";
    r.error(r.has("min_ms") ? "min_ms" : "max_ms", message);
  }
}

void read_heartbeat(TableReader& r, const std::string& base_dir, HeartbeatConfig& h) {
  r.allow_only({"target", "node_address", "service_port", "key_file"});
  if (auto target = r.string("target", true)) {
    if (auto e = parse_endpoint(*target, hb::kDefaultPort)) h.target_addr = e->addr, h.target_port = e->port;
    else r.error("target", "\"" + *target + "\" is not a.b.c.d or a.b.c.d:port with a port in [1, 65535]");
  }
  if (auto node = r.string("node_address", true)) {
    if (auto a = parse_ipv4(*node)) h.node_addr = *a;
    else r.error("node_address", "\"" + *node + "\" is not an IPv4 address (a.b.c.d)");
  }
  r.integer("service_port", h.service_port, 1, 65535, true);
  if (auto file = r.string("key_file", true)) {
    std::filesystem::path path(*file);
    if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
    h.key_file = path.string();
    std::string why;
    h.key = hb::load_key(h.key_file, &why);
    if (h.key.empty()) r.error("key_file", why);
  }
}

}  // namespace

ConfigResult parse_config(std::string_view text, const std::string& source, const std::string& base_dir) {
  ConfigResult result;
  std::vector<Error> errors;
  std::optional<toml::table> root = toml_reader::parse(text, source, errors);
  if (!root) {
    result.errors = toml_reader::error_texts(std::move(errors));
    return result;
  }

  BrokerConfig c;
  c.source = source;
  TableReader top(&*root, "", source, errors);
  // Every top-level entry must be one of the known tables.
  top.allow_only({"probe", "limits", "interval", "heartbeat"},
                 "unknown section (expected probe, limits, interval, heartbeat)");

  // An absent table reads as an empty one, so its required keys are reported.
  TableReader probe = top.nested(top.table("probe"), "probe");
  read_probe(probe, c.probe);
  TableReader limits = top.nested(top.table("limits"), "limits");
  read_limits(limits, c.limits);
  TableReader interval = top.nested(top.table("interval"), "interval");
  read_interval(interval, c.interval);
  TableReader heartbeat = top.nested(top.table("heartbeat"), "heartbeat");
  read_heartbeat(heartbeat, base_dir, c.heartbeat);

  // A response slower than the timeout never arrives, so such a limit could not trip.
  if (c.limits.max_response_ms > c.probe.timeout_ms) {
    std::string message = std::to_string(c.limits.max_response_ms) + " is larger than probe.timeout_ms (" +
                          std::to_string(c.probe.timeout_ms) + ")";
    if (limits.has("max_response_ms")) limits.error("max_response_ms", message);
    else probe.error("timeout_ms", std::to_string(c.probe.timeout_ms) + " is smaller than limits.max_response_ms (" +
                                       std::to_string(c.limits.max_response_ms) + ")");
  }

  std::stable_sort(errors.begin(), errors.end(), [](const Error& a, const Error& b) { return a.line < b.line; });
  result.errors = toml_reader::error_texts(std::move(errors));
  if (result.errors.empty()) result.config = std::move(c);
  return result;
}

ConfigResult load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    ConfigResult result;
    result.errors.push_back(path + ": cannot read: " + std::strerror(err));
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  return parse_config(text.str(), path, base_dir);
}

}  // namespace lb::broker
