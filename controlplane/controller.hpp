// The control plane's health loop, without the event loop around it: main.cpp's timers
// call poll() every few ms and tick() every health tick, each with the time, and
// SIGHUP calls reload(). It joins the pieces:
//
//   DataplaneLink    -> heartbeat records -> HeartbeatIntake (MAC, source, replay)
//                    -> HealthMachine.heartbeat
//   tick             -> DataplaneLink.read_stats -> HealthMachine.sync, .tick
//   what changed     -> the "health" log; dead/recovered/vip_down/vip_recovered
//                       -> AlertPolicy -> AlertSender (own thread)
//   pending commands -> DataplaneLink.push; the health report; controlplane_alive_ms
//
// While lbcp is not attached, or lbdp's main loop has stalled, no tick counts: lbcp
// cannot see heartbeats then, and counting would declare every backend dead. A stall
// is noticed after dataplane_stall_ms(), a quarter of the warning time at most, so the
// ticks counted before the pause never take a backend to warning.
//
// A heartbeat counts from when lbdp received it (HeartbeatRecord::rx_ms), not from when
// lbcp got round to reading the ring.
//
// Thread-safety: one thread (the event loop) calls everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "alert_sender.hpp"
#include "alerts.hpp"
#include "config.hpp"
#include "dataplane_link.hpp"
#include "health.hpp"
#include "heartbeat_intake.hpp"

namespace lb::cp {

HealthParams health_params(const HealthConfig& config);
AlertPolicyParams alert_policy_params(const AlertsConfig& config);

// How long lbdp's main loop may go without marking itself alive (it does so every ~1 ms)
// before lbcp pauses counting: min(250 ms, warning time / 4), at least 1 ms. A quarter
// of the warning time leaves the counter far below warning when counting pauses;
// 250 ms is far beyond any scheduling hiccup of a busy-polling lbdp.
uint64_t dataplane_stall_ms(const HealthParams& params);

class Controller {
 public:
  // How long stop() lets queued alerts go out by default.
  static constexpr std::chrono::milliseconds kStopGrace{2000};

  Controller(const Config& config, hb::Key key, std::unique_ptr<AlertTransport> transport, std::string host);
  ~Controller();

  void start();                        // the alert sender's thread
  // Detaches from the segment at once (lbdp and a new lbcp need not wait for mail),
  // then gives queued alerts up to `grace` to go out and cancels a delivery still in
  // progress (see AlertSender::stop).
  void stop(std::chrono::milliseconds grace = kStopGrace);

  // mono_ms: CLOCK_MONOTONIC ms (shm::monotonic_ms); epoch_ms: wall clock.
  void poll(uint64_t mono_ms, uint64_t epoch_ms);
  void tick(uint64_t mono_ms, uint64_t epoch_ms);

  // A validated config and its key (SIGHUP). Refused, with the reasons in *errors, when
  // it changes a key that needs a restart; the running config then stays.
  bool reload(const Config& next, hb::Key key, std::vector<std::string>* errors);
  const Config& config() const { return config_; }
  bool attached() const { return link_.attached(); }
  // How many times lbdp's backend table has been read (diagnostics): once on attach,
  // once per tick, and once per poll that found "snapshot published" events.
  uint64_t table_syncs() const { return table_syncs_; }

 private:
  void on_attached(uint64_t mono_ms);
  void sync_from_dataplane(uint64_t mono_ms);
  void handle_changes(uint64_t mono_ms, uint64_t epoch_ms);
  void raise(AlertKind kind, const std::string& target, std::string summary, std::string detail, uint64_t mono_ms,
             uint64_t epoch_ms);
  std::string describe_backend(Endpoint backend, uint64_t mono_ms) const;
  void flush_commands(uint64_t mono_ms);
  void check_interval(Endpoint backend, const hb::Load& load);
  void log_intake(uint64_t mono_ms);

  Config config_;
  DataplaneLink link_;
  HeartbeatIntake intake_;
  HealthMachine health_;
  AlertPolicy policy_;
  AlertSender sender_;
  Changes changes_;
  std::unique_ptr<shm::DataplaneStats> stats_;  // 115 KB: not on the stack
  bool stalled_ = false;
  bool synced_since_attach_ = false;
  bool commands_dirty_ = false;       // pending_commands() may be non-empty
  std::set<Endpoint> slow_brokers_;   // announced a probe interval beyond the warning time
  uint64_t unknown_backend_beats_ = 0, draining_beats_ = 0;
  uint64_t late_beats_ = 0;  // waited in the ring longer than the warning time: ignored
  uint64_t logged_rejects_ = 0, logged_unknown_ = 0;
  uint64_t last_intake_log_ms_ = 0;
  uint64_t table_syncs_ = 0;
};

}  // namespace lb::cp
