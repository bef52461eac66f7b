// lbdp's process: the ordered start-up table (EAL, config, mbuf pool, ports, neighbour
// table, snapshot, workers) run forward at start and torn down in reverse, and the
// main lcore's loop (ARP slow path, neighbour refresh, signals, stats).
// Main lcore only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <rte_mempool.h>

#include "backend_ids.hpp"
#include "config.hpp"
#include "controlplane_link.hpp"
#include "neighbour.hpp"
#include "packet.hpp"
#include "stats.hpp"
#include "worker.hpp"

namespace lb {

struct Options {
  std::string config_path;
  uint32_t idle_exit_ms = 0;    // exit once no port has received a packet for this long
  uint32_t duration_s = 0;      // exit after this many seconds
  uint32_t warmup_s = 0;        // clear the statistics after this many seconds; --duration counts from then
  std::vector<unsigned> worker_lcores;  // empty: every EAL worker lcore
  bool interactive = false;     // -i: a testpmd-style prompt on the terminal
  std::string socket_path = "/run/lbdp.sock";  // --socket: the command socket ("" = none)
};

// Parses the arguments after EAL's (after "--"). Exits with a usage message on error.
Options parse_options(int argc, char** argv);

struct ControlResult {
  bool ok;
  std::string message;  // why it failed (one line per problem), or a note
};

class App {
 public:
  explicit App(Options options) : options_(std::move(options)) {}
  ~App();
  // Runs start-up; false (with the reason logged) if a step failed. Steps that ran are
  // torn down by the destructor.
  bool start();
  // Runs the main loop until a signal, --duration or --idle-exit; then drains and stops.
  void run();
  // One pass of the main loop (ARP slow path, signals, stop conditions); false when
  // lbdp should stop. run() calls it every millisecond; embedders may call it instead.
  bool tick();
  // Counters summed over the workers and the main lcore (racy reads of 64-bit words:
  // each value is exact as of some recent moment). Main lcore only.
  LcoreCounters totals() const;
  uint16_t workers() const { return static_cast<uint16_t>(workers_.size()); }

  // --- runtime changes (main lcore only). Each copies the running Config, edits the
  // copy, validates it, builds a new snapshot and publishes it with RCU; on any error
  // nothing changes and the running configuration stays.
  // `edit` returns "" or the reason it refuses.
  ControlResult change(const std::function<std::string(Config&)>& edit);
  // Re-reads the configuration file and applies the difference the same way. Ports,
  // [dataplane] and [timeouts] need a restart: a file that changes them is refused.
  ControlResult reload();
  // stop: new connections to VIPs are refused with a TCP RST; established ones flow on.
  ControlResult set_accepting(bool accepting);
  bool accepting() const { return accepting_; }
  const Config& config() const { return config_; }
  const Snapshot& snapshot() const { return *shared_->snapshot.load(std::memory_order_acquire); }
  const DataplaneShared& shared() const { return *shared_; }
  const std::vector<uint16_t>& dpdk_ports() const { return dpdk_ports_; }
  const NeighbourTable& neighbours() const { return *neighbours_; }
  // lbcp's end of the shared-memory segment (inactive without [controlplane] shm).
  const ControlPlaneLink& controlplane() const { return cp_link_; }
  // Statistics as printed on SIGUSR1, relative to the last clear_stats().
  void print_stats(std::FILE* out) const;
  void clear_stats();
  const StatsBaseline& stats_baseline() const { return baseline_; }
  uint32_t flows_in_tables() const {
    uint32_t n = 0;
    for (const Worker* wk : workers_) n += wk->flow_count.load(std::memory_order_relaxed);
    return n;
  }

 private:
  struct Step {
    const char* name;
    bool (App::*init)();
    void (App::*fini)();
  };
  static const Step kSteps[];

  bool init_config();
  bool init_mempool();
  void fini_mempool();
  bool init_ports();
  void fini_ports();
  bool init_shared();
  void fini_shared();
  bool init_snapshot();
  void fini_snapshot();
  bool init_workers();
  void fini_workers();
  bool init_controlplane();
  void fini_controlplane();
  bool launch_workers();
  void stop_workers();
  void noop() {}

  void poll_slowpath(uint64_t now_ms);
  void slowpath_heartbeat(rte_mbuf* m);
  void poll_controlplane(uint64_t now_ms);
  ControlResult publish(Config next, bool accepting);
  void send_control(rte_mbuf* m);
  uint64_t total_rx() const;

  Options options_;
  Config config_;
  size_t steps_done_ = 0;
  rte_mempool* pool_ = nullptr;
  std::vector<uint16_t> dpdk_ports_;
  std::vector<uint64_t> port_macs_;
  std::vector<uint16_t> port_rx_queues_;
  std::vector<bool> port_started_;
  DataplaneShared* shared_ = nullptr;
  NeighbourMacs* neighbour_macs_ = nullptr;
  std::unique_ptr<NeighbourTable> neighbours_;
  std::vector<Worker*> workers_;
  std::vector<unsigned> worker_lcores_;
  std::vector<rte_ring*> rings_;
  rte_ring* control_tx_ = nullptr;
  bool launched_ = false;
  LcoreCounters main_counters_{};
  std::unique_ptr<BackendIds> ids_;
  uint64_t generation_ = 0;
  bool accepting_ = true;
  StatsBaseline baseline_;
  ControlPlaneLink cp_link_;
  HealthMap health_;            // from lbcp; folded into every snapshot
  uint64_t cp_stats_ms_ = 0;    // when the stats area was last published
  // Main lcore only: --duration, --warmup and --idle-exit bookkeeping.
  uint64_t run_started_ms_ = 0, last_rx_ = 0, last_rx_change_ms_ = 0;
  bool warmed_up_ = false;  // --warmup has cleared the statistics; run_started_ms_ restarted then
};

}  // namespace lb
