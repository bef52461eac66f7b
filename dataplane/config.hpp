// lbdp's configuration: the typed struct with named defaults, and the loader that
// validates a TOML file at the boundary. Every error names file:line, the key, the bad
// value and what is allowed; all errors of a file are reported at once, and a file with
// any error yields no Config (so a running configuration is never half replaced).
//
// Keys, defaults and ranges are documented in docs/configuration.md.
// Thread-safety: load_config/parse_config are pure functions of their input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net.hpp"
#include "scheduler.hpp"

namespace lb {

enum class FwdMode : uint8_t { nat, fullnat, dsr };
std::optional<FwdMode> parse_fwd_mode(std::string_view name);
const char* fwd_mode_name(FwdMode mode);

enum class PortRole : uint8_t { client, server, both };

// A backend's administrative state. up: eligible for new flows; drain: no new flows,
// existing ones finish; maintenance: out of service for scheduled downtime (no new
// flows; existing ones are not cut). Runtime-changeable.
enum class BackendState : uint8_t { up, drain, maintenance };
std::optional<BackendState> parse_backend_state(std::string_view name);
const char* backend_state_name(BackendState state);

struct DataplaneConfig {
  uint32_t flows_per_worker = 262144;  // flow table capacity of each worker lcore
  uint32_t mbufs = 16383;              // packet buffers in the pool
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  uint16_t burst = 128;                // packets per rx burst (a burst is one pipeline vector)
  uint32_t idle_sleep_us = 0;          // worker naps this long after empty polls; 0 = pure polling
  uint32_t neighbour_lifetime_s = 60;  // ARP entries are re-resolved after this
  uint32_t syn_timeout_s = 30;
  uint32_t established_timeout_s = 900;
  uint32_t closing_timeout_s = 10;
};

// [controlplane]: where lbdp meets lbcp (docs/controlplane.md). Restart to change.
struct ControlPlaneConfig {
  std::string shm;                     // shared-memory segment name ("/lbdp"); "" = no lbcp
  uint16_t heartbeat_port = 7946;      // UDP port on the appliance's own addresses
  int line = 0;
};

struct PortConfig {
  std::string name;
  std::string device;                  // DPDK device name (vdev name or PCI address)
  PortRole role = PortRole::both;
  Prefix address;                      // the appliance's own address and subnet on this port
  std::optional<Ipv4> gateway;         // next hop for destinations outside the subnet
  int line = 0;
};

struct NeighbourConfig {               // a static ARP entry
  Ipv4 address;
  Mac mac;
  int line = 0;
};

struct BackendConfig {
  Ipv4 address;
  uint16_t port = 0;
  uint32_t weight = 1;                 // runtime-changeable
  BackendState state = BackendState::up;  // runtime-changeable
  int line = 0;                        // 0 when added at run time
};

struct VipConfig {
  Ipv4 address;
  uint16_t port = 0;
  FwdMode mode = FwdMode::nat;
  SchedKind scheduler = SchedKind::rr;
  std::vector<Ipv4> local_addresses;   // fullnat: source addresses towards backends
  uint32_t maglev_size = 65537;
  std::vector<BackendConfig> backends;
  int line = 0;
};

struct Config {
  std::string source;                  // file name the config came from
  DataplaneConfig dataplane;
  ControlPlaneConfig controlplane;
  std::vector<PortConfig> ports;
  std::vector<NeighbourConfig> neighbours;
  std::vector<VipConfig> vips;
};

struct ConfigResult {
  std::optional<Config> config;
  std::vector<std::string> errors;     // "file:line: key: message"
};

ConfigResult parse_config(std::string_view toml_text, const std::string& source_name);
// The checks that involve several keys (duplicates, routes, mode constraints, limits),
// for a Config built from a file or changed at run time. Empty when valid.
std::vector<std::string> validate_config(const Config& config);
ConfigResult load_config(const std::string& path);

// Which configured port reaches `dst`, and the next hop on it: the port (of role server
// or both, or any role when `any_role`) whose subnet holds dst, else such a port with a
// gateway. nullopt when none does.
struct Route {
  uint16_t port_index;
  Ipv4 next_hop;
};
std::optional<Route> route_to(const Config& config, Ipv4 dst, bool any_role = false);

}  // namespace lb
