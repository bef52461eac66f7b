// lbbroker's configuration: the typed struct with named defaults, and the loader that
// validates a TOML file at the boundary. Every error reads "file:line: key: reason"
// (with the bad value and the allowed range); all errors of a file are reported at once,
// and a file with any error yields no config.
//
// No key changes at run time: lbbroker reads its file once at start (restart it to
// apply a change). Keys, defaults and ranges are documented in docs/broker.md.
// Thread-safety: parse_config/load_config are pure functions of their input (and, for
// the key file, of the file system).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heartbeat.hpp"

namespace lb::broker {

// [probe]: what the monitor fetches from the local web server.
struct ProbeConfig {
  std::string url;                    // required; http:// or https://
  long expect_status = 200;           // the HTTP status a healthy server answers
  std::string expect_body;            // when not empty, the body must contain it
  uint32_t timeout_ms = 2000;         // the whole transfer, connect included
};

// [limits]: above any of these the node is overloaded and sends no heartbeat.
struct LimitsConfig {
  uint32_t max_response_ms = 1000;    // at most timeout_ms
  double max_cpu_load = 0.9;          // 1-minute load average per CPU
  uint32_t max_connections = 10000;   // ESTABLISHED TCP connections to the service port
};

// [interval]: next = clamp(max(rt_now, rt_last) * multiplier, min_ms, max_ms).
// max_ms plus a probe of up to limits.max_response_ms is the longest gap between two
// heartbeats of a healthy node: with the defaults 2 s, well below lbcp's default
// warning time (5 s) even when one heartbeat is lost.
struct IntervalConfig {
  double multiplier = 100.0;
  uint32_t min_ms = 200;
  uint32_t max_ms = 1000;
};

// [heartbeat]: where heartbeats go and what they say about this node.
struct HeartbeatConfig {
  uint32_t target_addr = 0;           // host order; lbdp's address on the server side
  uint16_t target_port = hb::kDefaultPort;
  uint32_t node_addr = 0;             // host order; this backend's address in the VIP
  uint16_t service_port = 0;          // this backend's port in the VIP
  std::string key_file;               // as resolved (relative to the config file's folder)
  hb::Key key;                        // the key file's content, validated
};

struct BrokerConfig {
  std::string source;                 // the file the config came from
  ProbeConfig probe;
  LimitsConfig limits;
  IntervalConfig interval;
  HeartbeatConfig heartbeat;
};

struct ConfigResult {
  std::optional<BrokerConfig> config;
  std::vector<std::string> errors;    // "file:line: key: reason", in file order
};

// source_name names the text in errors; a relative key_file is taken relative to
// base_dir (empty: the current directory).
ConfigResult parse_config(std::string_view toml_text, const std::string& source_name, const std::string& base_dir);
ConfigResult load_config(const std::string& path);

// "a.b.c.d" or "a.b.c.d:port" (port 1..65535, else default_port). nullopt when malformed.
struct Endpoint {
  uint32_t addr;  // host order
  uint16_t port;
};
std::optional<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port);
std::optional<uint32_t> parse_ipv4(std::string_view text);  // host order
std::string ipv4_to_string(uint32_t addr);

}  // namespace lb::broker
