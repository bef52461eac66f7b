#include "controller.hpp"

#include <algorithm>
#include <cstdio>

#include "logging.hpp"

namespace lb::cp {

namespace {
constexpr uint64_t kIntakeLogIntervalMs = 10000;

std::string load_text(const hb::Load& load) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "probe %u us, cpu %.3f, %u connections, next probe in %u ms", load.response_us,
                load.cpu_permille / 1000.0, load.connections, load.interval_ms);
  return buf;
}
}  // namespace

HealthParams health_params(const HealthConfig& c) {
  HealthParams p;
  p.tick_ms = c.tick_ms;
  p.warning_ticks = c.warning_ticks;
  p.dead_ticks = c.dead_ticks;
  p.slow_start_ms = c.slow_start_s * 1000;
  p.slow_start_steps = c.slow_start_steps;
  return p;
}

uint64_t dataplane_stall_ms(const HealthParams& p) {
  constexpr uint64_t kMaxStallMs = 250;
  uint64_t warning_ms = uint64_t{p.warning_ticks} * p.tick_ms;  // both up to 2^32: 64-bit
  // At least 50 ms: lbdp marks itself alive once per main-loop pass (about 1 ms, longer
  // while it publishes a snapshot), and a shorter limit would pause counting by mistake.
  constexpr uint64_t kMinStallMs = 50;
  return std::max<uint64_t>(kMinStallMs, std::min(kMaxStallMs, warning_ms / 4));
}

AlertPolicyParams alert_policy_params(const AlertsConfig& c) {
  AlertPolicyParams p;
  p.dedup_window_ms = uint64_t{c.dedup_window_s} * 1000;
  p.max_per_window = c.max_per_window;
  p.window_ms = uint64_t{c.window_s} * 1000;
  return p;
}

Controller::Controller(const Config& config, hb::Key key, std::unique_ptr<AlertTransport> transport,
                       std::string host)
    : config_(config),
      link_(config.dataplane.shm),
      intake_(std::move(key), config.heartbeat.max_skew_ms),
      health_(health_params(config.health)),
      policy_(alert_policy_params(config.alerts)),
      sender_(config.alerts, std::move(transport), std::move(host)),
      stats_(std::make_unique<shm::DataplaneStats>()) {}

Controller::~Controller() { stop(); }

void Controller::start() { sender_.start(); }

void Controller::stop(std::chrono::milliseconds grace) {
  // The segment first: it must not wait for a mail server.
  link_.detach();
  sender_.stop(grace);
}

void Controller::on_attached(uint64_t mono_ms) {
  // A new lbdp (or the first one this lbcp sees) must hear every backend's state again.
  health_.forget_pushed();
  commands_dirty_ = true;
  synced_since_attach_ = false;
  stalled_ = false;
  sync_from_dataplane(mono_ms);
}

void Controller::sync_from_dataplane(uint64_t mono_ms) {
  // An lbdp that has not published its table yet would look like one without backends:
  // never sync from that, or every backend would be dropped and re-added.
  if (!link_.read_stats(stats_.get())) return;
  ++table_syncs_;
  uint32_t count = std::min<uint32_t>(stats_->backend_count, shm::kMaxBackends);
  health_.sync(stats_->backends, count, mono_ms, &changes_);
  commands_dirty_ = true;  // a re-push may have become due
  if (!synced_since_attach_) {
    logger("health")->info("dataplane table: {} entries, {} distinct backends tracked", count, health_.size());
    synced_since_attach_ = true;
  }
}

void Controller::poll(uint64_t mono_ms, uint64_t epoch_ms) {
  if (link_.maintain(mono_ms)) on_attached(mono_ms);
  if (!link_.attached()) return;
  link_.alive(mono_ms);
  // The table is read once however many snapshots were announced: a new lbcp finds up to
  // a ring's worth of old events, and each read copies the whole stats area.
  bool snapshot_published = false;
  link_.drain_events([&](const shm::EventRecord& event) {
    auto log = logger("shm");
    switch (event.kind) {
      case shm::EventKind::started: log->info("lbdp reports: started"); break;
      case shm::EventKind::snapshot_published:
        log->debug("lbdp published configuration snapshot {}", event.value);
        snapshot_published = true;
        break;
      case shm::EventKind::stopping: log->warn("lbdp reports: stopping"); break;
      default: log->warn("lbdp sent an unknown event kind {}", static_cast<uint32_t>(event.kind));
    }
  });
  if (snapshot_published) sync_from_dataplane(mono_ms);
  link_.drain_heartbeats([&](const shm::HeartbeatRecord& record) {
    std::optional<hb::Message> message = intake_.check(record, epoch_ms);
    if (!message) return;
    Endpoint backend{message->node_addr, message->service_port};
    // When lbdp queued it, on the same clock: a heartbeat that waited in the ring (lbcp
    // busy, or just started) is as old as it is. Never later than now, and 0 (not set)
    // means now.
    uint64_t received_ms = record.rx_ms != 0 && record.rx_ms <= mono_ms ? record.rx_ms : mono_ms;
    // One that waited longer than the warning time says nothing about now: a backend
    // silent since then must not be reset by it (after an lbcp restart, say).
    const HealthParams& hp = health_.params();
    if (mono_ms - received_ms >= uint64_t{hp.warning_ticks} * hp.tick_ms) {
      ++late_beats_;
      return;
    }
    switch (health_.heartbeat(backend, message->flags, message->load, received_ms, &changes_)) {
      case HealthMachine::Beat::accepted: check_interval(backend, message->load); break;
      case HealthMachine::Beat::draining:
        ++draining_beats_;
        logger("health")->debug("{}: draining heartbeat, counted as none", to_string(backend));
        break;
      case HealthMachine::Beat::unknown_backend: ++unknown_backend_beats_; break;
    }
  });
  if (!changes_.empty()) commands_dirty_ = true;
  handle_changes(mono_ms, epoch_ms);
  // Commands change only with a state change, a sync or a tick: do not walk every
  // backend every few ms for nothing.
  if (commands_dirty_) flush_commands(mono_ms);
}

void Controller::tick(uint64_t mono_ms, uint64_t epoch_ms) {
  poll(mono_ms, epoch_ms);  // nothing waiting in the ring is counted as missing
  if (!link_.attached()) return;
  uint64_t stall_ms = dataplane_stall_ms(health_.params());
  bool stalled = link_.dataplane_stalled(mono_ms, stall_ms);
  if (stalled != stalled_) {
    stalled_ = stalled;
    if (stalled)
      logger("health")->error("lbdp's main loop has not run for over {} ms: health counting paused", stall_ms);
    else
      logger("health")->info("lbdp's main loop runs again: health counting resumed");
  }
  if (stalled) return;
  sync_from_dataplane(mono_ms);
  health_.tick(mono_ms, &changes_);
  handle_changes(mono_ms, epoch_ms);
  flush_commands(mono_ms);
  link_.write_report(health_.status(), health_.params(), mono_ms);
  log_intake(mono_ms);
}

void Controller::check_interval(Endpoint backend, const hb::Load& load) {
  // The next heartbeat comes after the announced interval plus the next probe, which
  // takes about as long as this one did. A broker for which that is later than the
  // warning time goes warning between its beats. That is the paper's rule for a slow
  // node, but when it happens for a fast one the thresholds are too tight: say so once
  // per backend and episode.
  const HealthParams& p = health_.params();
  uint64_t warning_ms = uint64_t{p.warning_ticks} * p.tick_ms;
  uint64_t response_ms = (uint64_t{load.response_us} + 999) / 1000;
  uint64_t next_beat_ms = uint64_t{load.interval_ms} + response_ms;
  bool beyond = next_beat_ms > warning_ms;
  bool known = slow_brokers_.count(backend) != 0;
  if (beyond && !known) {
    slow_brokers_.insert(backend);
    logger("health")->warn("{}: its broker announces the next probe in {} ms, and its probe took {} ms: the next "
                           "heartbeat comes after the warning time of {} ms, so it will go warning between "
                           "heartbeats (slow node, or interval.max_ms plus the probe time above the warning time)",
                           to_string(backend), load.interval_ms, response_ms, warning_ms);
  } else if (!beyond && known) {
    slow_brokers_.erase(backend);
    logger("health")->info("{}: its broker's probe interval and time ({} + {} ms) are within the warning time again",
                           to_string(backend), load.interval_ms, response_ms);
  }
}

void Controller::flush_commands(uint64_t mono_ms) {
  commands_dirty_ = false;
  for (const Command& command : health_.pending_commands()) {
    if (!link_.push(command)) {
      logger("shm")->debug("command ring full; the rest follows on the next poll");
      commands_dirty_ = true;
      return;
    }
    health_.confirm_pushed(command, mono_ms);
  }
}

std::string Controller::describe_backend(Endpoint backend, uint64_t mono_ms) const {
  std::string text;
  std::vector<Endpoint> vips = health_.vips_of(backend);
  if (!vips.empty()) {
    text += "Serves VIP(s):";
    for (Endpoint vip : vips) text.append(" ").append(to_string(vip));
    text += "\n";
  }
  if (auto status = health_.find(backend); status && status->last_heartbeat_ms != 0) {
    uint64_t age = mono_ms >= status->last_heartbeat_ms ? mono_ms - status->last_heartbeat_ms : 0;
    text += "Last valid heartbeat " + std::to_string(age) + " ms ago: " + load_text(status->load) + "\n";
  } else {
    text += "No valid heartbeat since lbcp started.\n";
  }
  return text;
}

void Controller::handle_changes(uint64_t mono_ms, uint64_t epoch_ms) {
  if (changes_.empty()) return;
  auto log = logger("health");
  for (const TrackedBackend& added : changes_.added)
    log->info("tracking {}: {} ({})", to_string(added.backend), shm::health_name(added.state), added.origin);
  for (Endpoint removed : changes_.removed) log->info("{}: no longer in lbdp's table; dropped", to_string(removed));
  const HealthParams& p = health_.params();
  for (const Transition& t : changes_.backends) {
    std::string name = to_string(t.backend);
    auto level = t.to == shm::Health::ok ? spdlog::level::info
                 : t.to == shm::Health::warning ? spdlog::level::warn
                                                : spdlog::level::err;
    log->log(level, "{}: {} -> {}: {}", name, shm::health_name(t.from), shm::health_name(t.to), t.reason);
    if (t.to == shm::Health::dead) {
      std::string detail = "Backend " + name + " was declared dead: " + t.reason + ".\n" +
                           "It receives no new connections until its broker sends valid heartbeats again " +
                           "(dead after more than " + std::to_string(p.dead_ticks) + " ticks of " +
                           std::to_string(p.tick_ms) + " ms without one).\n" + describe_backend(t.backend, mono_ms);
      raise(AlertKind::dead, name, "backend " + name + " is dead", detail, mono_ms, epoch_ms);
    } else if (t.from == shm::Health::dead && t.to == shm::Health::ok) {
      std::string detail = "Backend " + name + " is back: " + t.reason + ".\n" +
                           (p.slow_start_ms > 0 ? "Its weight ramps up over " + std::to_string(p.slow_start_ms / 1000) +
                                                      " s (slow start).\n"
                                                : std::string()) +
                           describe_backend(t.backend, mono_ms);
      raise(AlertKind::recovered, name, "backend " + name + " recovered", detail, mono_ms, epoch_ms);
    }
  }
  for (const VipTransition& v : changes_.vips) {
    std::string name = to_string(v.vip);
    if (v.down) {
      log->error("VIP {}: down: {}", name, v.reason);
      raise(AlertKind::vip_down, name, "VIP " + name + " has no usable backend",
            "VIP " + name + " cannot take new connections: " + v.reason + ".\n", mono_ms, epoch_ms);
    } else {
      log->info("VIP {}: recovered: {}", name, v.reason);
      raise(AlertKind::vip_recovered, name, "VIP " + name + " has usable backends again",
            "VIP " + name + " takes new connections again: " + v.reason + ".\n", mono_ms, epoch_ms);
    }
  }
  changes_.clear();
}

void Controller::raise(AlertKind kind, const std::string& target, std::string summary, std::string detail,
                       uint64_t mono_ms, uint64_t epoch_ms) {
  Alert alert;
  alert.kind = kind;
  alert.target = target;
  alert.summary = std::move(summary);
  alert.detail = std::move(detail);
  alert.time_ms = epoch_ms;
  auto log = logger("alerts");
  switch (policy_.offer(alert, mono_ms)) {
    case AlertPolicy::Verdict::send:
      log->info("alert {} {}: {}{}", alert_kind_name(kind), target, alert.summary,
                alert.suppressed_duplicates + alert.suppressed_rate_limited
                    ? " (" + std::to_string(alert.suppressed_duplicates + alert.suppressed_rate_limited) +
                          " suppressed before it)"
                    : std::string());
      sender_.enqueue(std::move(alert));
      break;
    case AlertPolicy::Verdict::duplicate:
      log->info("alert {} {} suppressed: the same alert went out within dedup_window_s", alert_kind_name(kind),
                target);
      break;
    case AlertPolicy::Verdict::rate_limited:
      log->warn("alert {} {} suppressed: more than max_per_window alerts in window_s", alert_kind_name(kind),
                target);
      break;
  }
}

void Controller::log_intake(uint64_t mono_ms) {
  if (mono_ms - last_intake_log_ms_ < kIntakeLogIntervalMs) return;
  last_intake_log_ms_ = mono_ms;
  uint64_t rejects = intake_.rejected_total();
  if (rejects != logged_rejects_) {
    logger("shm")->warn("heartbeats refused: {} new, totals: {} (accepted {})", rejects - logged_rejects_,
                        intake_.summary(), intake_.accepted());
    logged_rejects_ = rejects;
  }
  if (unknown_backend_beats_ != logged_unknown_) {
    logger("health")->warn("{} valid heartbeat(s) from nodes that are no backend in lbdp's table",
                           unknown_backend_beats_ - logged_unknown_);
    logged_unknown_ = unknown_backend_beats_;
  }
}

bool Controller::reload(const Config& next, hb::Key key, std::vector<std::string>* errors) {
  std::vector<std::string> restart = restart_only_changes(config_, next);
  if (!restart.empty()) {
    errors->insert(errors->end(), restart.begin(), restart.end());
    return false;
  }
  intake_.set_key(std::move(key));
  health_.set_params(health_params(next.health));
  policy_.set_params(alert_policy_params(next.alerts));
  sender_.reconfigure(next.alerts);
  config_ = next;
  return true;
}

}  // namespace lb::cp
