// lbcp's configuration: a typed struct with named defaults, and the loader that validates
// a TOML file at the boundary. Every error names file:line, the key, the bad value and
// what is allowed; all errors of a file are reported at once, and a file with any error
// yields no Config, so a SIGHUP with a bad file leaves the running configuration alone.
//
// Keys, defaults and ranges are documented in docs/controlplane.md. Which keys a reload
// (SIGHUP) may change: everything except [dataplane] shm and [heartbeat] max_skew_ms
// (restart_only_changes lists the offending keys).
//
// Thread-safety: every function here is a pure function of its arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lb::cp {

struct DataplaneLinkConfig {
  std::string shm = "/lbdp";          // restart only: the segment lbdp creates
  int shm_line = 1;                   // where it was given (for reload errors)
  uint32_t poll_ms = 5;               // how often the rings are drained
};

struct HealthConfig {
  uint32_t tick_ms = 100;             // one counter step
  // The defaults fit lbbroker's: its interval.max_ms (1 s) plus limits.max_response_ms
  // (1 s) is 2 s between beats at most, so a node misses warning (5 s) even when one
  // heartbeat is lost; dead (15 s) takes several missed beats.
  uint32_t warning_ticks = 50;        // counter > this: warning (no new flows)
  uint32_t dead_ticks = 150;          // counter > this: dead; must exceed warning_ticks
  uint32_t slow_start_s = 0;          // ramp after a return to ok; 0 = full weight at once
  uint32_t slow_start_steps = 10;     // weight goes 100/steps, 2*100/steps, ... 100 percent
};

struct HeartbeatConfig {
  std::string key_file;               // required: the key the brokers sign with
  int key_file_line = 0;              // where key_file was given, for load errors
  uint32_t max_skew_ms = 30000;       // restart only: allowed |sent time - our clock|
  int max_skew_ms_line = 1;
};

struct AlertsConfig {
  std::string smtp_url;               // "smtp://host:port" or "smtps://..."; "" = no mail
  bool smtp_starttls = false;         // smtp://: require STARTTLS (smtps:// is TLS anyway)
  std::string mail_from;              // required with smtp_url
  std::vector<std::string> mail_to;   // required (non-empty) with smtp_url
  std::string webhook_url;            // "http(s)://..."; "" = no webhook
  uint32_t dedup_window_s = 300;      // same (target, kind) at most once per window
  uint32_t max_per_window = 20;       // at most this many alerts ...
  uint32_t window_s = 3600;           // ... in any window of this length
  uint32_t retry_initial_ms = 1000;   // first retry delay; doubles per attempt
  uint32_t retry_max_ms = 60000;      // longest retry delay
  uint32_t give_up_after = 8;         // attempts per alert and channel
  uint32_t timeout_ms = 10000;        // one SMTP or HTTP attempt
  uint32_t queue_size = 256;          // alerts waiting to be sent; when full the oldest goes
};

struct LogConfig {
  std::string level = "info";         // trace, debug, info, warn, error, critical, off
};

struct Config {
  std::string source;                 // file the config came from
  DataplaneLinkConfig dataplane;
  HealthConfig health;
  HeartbeatConfig heartbeat;
  AlertsConfig alerts;
  LogConfig log;
};

struct ConfigResult {
  std::optional<Config> config;
  std::vector<std::string> errors;    // "file:line: key: reason"
};

ConfigResult parse_config(std::string_view toml_text, const std::string& source_name);
ConfigResult load_config(const std::string& path);

// One "file:line: key: ..." error per key that differs between `running` and `next` but
// needs a restart. Empty when `next` can be applied by a reload.
std::vector<std::string> restart_only_changes(const Config& running, const Config& next);

}  // namespace lb::cp
