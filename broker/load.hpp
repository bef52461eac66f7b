// The node's load figures that go into a heartbeat and decide "overloaded":
//   CPU load     the 1-minute load average divided by the number of online CPUs, in
//                permille (1000 = one runnable task per CPU), from /proc/loadavg
//   connections  ESTABLISHED TCP connections whose local port is the service port,
//                IPv4 and IPv6, from /proc/net/tcp and /proc/net/tcp6
// The parsers take the files' text, so they are tested on sample text; ProcLoadSource
// reads the files. /proc/net/* shows the broker's own network namespace: run lbbroker
// in the web server's.
// Thread-safety: the parsers are pure; a ProcLoadSource belongs to one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lb::broker {

struct LoadSample {
  uint32_t cpu_permille = 0;
  uint32_t connections = 0;
};

// The first field of /proc/loadavg over `cpus`, in permille (rounded). nullopt when the
// text does not start with a non-negative number or cpus is 0.
std::optional<uint32_t> cpu_permille_from_loadavg(std::string_view loadavg_text, unsigned cpus);

// Rows of /proc/net/tcp or /proc/net/tcp6 in state ESTABLISHED (01) whose local port
// is local_port. The header line and rows that do not parse are skipped.
uint32_t count_established(std::string_view proc_net_tcp_text, uint16_t local_port);

unsigned online_cpus();

// Where the monitor gets its load figures; faked in tests.
class LoadSource {
 public:
  virtual ~LoadSource() = default;
  // False, with *error saying what could not be read, when no figures are available.
  virtual bool sample(LoadSample* out, std::string* error) = 0;
};

class ProcLoadSource final : public LoadSource {
 public:
  // proc_root is "/proc" except when reading a copy of it.
  explicit ProcLoadSource(uint16_t service_port, std::string proc_root = "/proc");
  bool sample(LoadSample* out, std::string* error) override;

 private:
  uint16_t service_port_;
  std::string proc_root_;
};

}  // namespace lb::broker
