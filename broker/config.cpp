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

struct Error {
  int line;
  std::string text;
};

// Reads typed keys of one TOML table and records errors with the key's line. A table
// absent from the file is read as an empty one, so its required keys are reported.
class TableReader {
 public:
  TableReader(const toml::table* table, std::string name, const std::string& source, std::vector<Error>& errors)
      : table_(table), name_(std::move(name)), source_(source), errors_(errors) {}

  bool has(std::string_view key) const { return table_ && table_->get(key); }
  int line_of(std::string_view key) const {
    if (const toml::node* n = table_ ? table_->get(key) : nullptr) return static_cast<int>(n->source().begin.line);
    return table_line();
  }

  void error(std::string_view key, const std::string& reason) {
    int line = line_of(key);
    std::ostringstream out;
    out << source_ << ":" << line << ": " << name_ << "." << key << ": " << reason;
    errors_.push_back({line, out.str()});
  }

  // Unknown keys are errors: a typo must not silently leave a default in force.
  void allow_only(std::initializer_list<std::string_view> keys) {
    if (!table_) return;
    for (auto&& [k, v] : *table_) {
      if (std::find(keys.begin(), keys.end(), k.str()) == keys.end()) error(k.str(), "unknown key");
    }
  }

  template <typename T>
  void integer(std::string_view key, T& out, int64_t min, int64_t max, bool required = false) {
    const toml::node* n = node(key, required);
    if (!n) return;
    if (!n->is_integer()) return error(key, "must be an integer");
    int64_t v = *n->value<int64_t>();
    if (v < min || v > max) return error(key, std::to_string(v) + " out of range [" + std::to_string(min) + ", " +
                                                   std::to_string(max) + "]");
    out = static_cast<T>(v);
  }

  void number(std::string_view key, double& out, double min, double max) {
    const toml::node* n = node(key, false);
    if (!n) return;
    if (!n->is_number()) return error(key, "must be a number");
    double v = *n->value<double>();
    if (!(v >= min && v <= max)) {
      std::ostringstream m;
      m << v << " out of range [" << min << ", " << max << "]";
      return error(key, m.str());
    }
    out = v;
  }

  std::optional<std::string> string(std::string_view key, bool required) {
    const toml::node* n = node(key, required);
    if (!n) return std::nullopt;
    if (!n->is_string()) {
      error(key, "must be a string");
      return std::nullopt;
    }
    return std::string(*n->value<std::string_view>());
  }

 private:
  int table_line() const {
    // toml++ gives a table the line of its [header]; a missing table points at line 1.
    int line = table_ ? static_cast<int>(table_->source().begin.line) : 0;
    return line > 0 ? line : 1;
  }
  const toml::node* node(std::string_view key, bool required) {
    const toml::node* n = table_ ? table_->get(key) : nullptr;
    if (!n && required) error(key, "missing (required)");
    return n;
  }

  const toml::table* table_;
  std::string name_;
  const std::string& source_;
  std::vector<Error>& errors_;
};

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
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream out;
    out << source << ":" << e.source().begin.line << ": syntax: " << e.description();
    result.errors.push_back(out.str());
    return result;
  }

  std::vector<Error> errors;
  BrokerConfig c;
  c.source = source;
  // Every top-level entry must be one of the known tables.
  auto section = [&](std::string_view name) -> const toml::table* {
    const toml::node* n = root.get(name);
    if (n && !n->is_table()) {
      int line = static_cast<int>(n->source().begin.line);
      errors.push_back({line, source + ":" + std::to_string(line) + ": " + std::string(name) + ": must be a table ([" +
                                  std::string(name) + "])"});
      return nullptr;
    }
    return n ? n->as_table() : nullptr;
  };
  for (auto&& [k, v] : root) {
    std::string_view name = k.str();
    if (name != "probe" && name != "limits" && name != "interval" && name != "heartbeat") {
      int line = static_cast<int>(v.source().begin.line);
      errors.push_back({line, source + ":" + std::to_string(line) + ": " + std::string(name) +
                                  ": unknown section (expected probe, limits, interval, heartbeat)"});
    }
  }

  TableReader probe(section("probe"), "probe", source, errors);
  read_probe(probe, c.probe);
  TableReader limits(section("limits"), "limits", source, errors);
  read_limits(limits, c.limits);
  TableReader interval(section("interval"), "interval", source, errors);
  read_interval(interval, c.interval);
  TableReader heartbeat(section("heartbeat"), "heartbeat", source, errors);
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
  for (auto& e : errors) result.errors.push_back(std::move(e.text));
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
