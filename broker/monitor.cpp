#include "monitor.hpp"

#include <spdlog/spdlog.h>

#include <array>

namespace lb::broker {

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    if (auto existing = spdlog::get("monitor")) return existing;
    auto l = spdlog::default_logger()->clone("monitor");
    spdlog::register_logger(l);
    return l;
  }();
  return logger;
}

}  // namespace

void StopSignal::request_stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
}

bool StopSignal::stop_requested() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stop_;
}

bool StopSignal::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return stop_; });
}

uint64_t system_wall_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

Monitor::Monitor(const BrokerConfig& config, Prober& prober, LoadSource& load, HeartbeatSink& sink, WallClockMs wall_ms,
                 uint64_t boot_id)
    : config_(config),
      prober_(prober),
      load_source_(load),
      sink_(sink),
      wall_ms_(std::move(wall_ms)),
      boot_id_(boot_id),
      interval_(IntervalRule{config.interval.multiplier, config.interval.min_ms, config.interval.max_ms}) {}

StepReport Monitor::step(bool send) {
  StepReport report;
  report.probe = prober_.probe();
  LoadSample load;
  std::string load_error;
  if (load_source_.sample(&load, &load_error)) report.load = load;
  report.verdict = judge(report.probe, report.load ? &*report.load : nullptr, load_error, config_.limits);
  report.interval_ms = interval_.next(report.probe.response_us);
  log_state(report);
  if (send && report.verdict.health == Health::healthy)
    report.sent = send_heartbeat(0, *report.load, report.probe.response_us, report.interval_ms, &report.sequence);

  log()->debug("probe: {} in {} us, status {}, cpu {} permille, connections {}, next in {} ms{}{}",
               health_name(report.verdict.health), report.probe.response_us, report.probe.http_status,
               report.load ? report.load->cpu_permille : 0, report.load ? report.load->connections : 0,
               report.interval_ms, report.verdict.reason.empty() ? "" : ": ", report.verdict.reason);
  last_report_ = report;
  return report;
}

void Monitor::run(StopSignal& stop) {
  log()->info("probing {} every {}..{} ms (x{}); heartbeats for {}:{} to {}:{}", config_.probe.url,
              config_.interval.min_ms, config_.interval.max_ms, config_.interval.multiplier,
              ipv4_to_string(config_.heartbeat.node_addr), config_.heartbeat.service_port,
              ipv4_to_string(config_.heartbeat.target_addr), config_.heartbeat.target_port);
  while (!stop.stop_requested()) {
    StepReport report = step();
    if (stop.wait_for(std::chrono::milliseconds(report.interval_ms))) break;
  }
  if (last_health_ == Health::healthy && last_report_.load) {
    uint64_t sequence = 0;
    if (send_heartbeat(hb::kFlagDraining, *last_report_.load, last_report_.probe.response_us,
                       last_report_.interval_ms, &sequence))
      log()->info("stopping: sent a draining heartbeat (sequence {})", sequence);
  }
}

bool Monitor::send_heartbeat(uint8_t flags, const LoadSample& load, uint32_t response_us, uint32_t interval_ms,
                             uint64_t* sequence) {
  hb::Message m;
  m.node_addr = config_.heartbeat.node_addr;
  m.service_port = config_.heartbeat.service_port;
  m.flags = flags;
  m.boot_id = boot_id_;
  m.sequence = ++last_sequence_;  // a failed send still uses its number: gaps are harmless
  m.sent_ms = wall_ms_();
  m.load = hb::Load{response_us, load.cpu_permille, load.connections, interval_ms};
  std::array<uint8_t, hb::kWireSize> datagram;
  hb::encode(m, config_.heartbeat.key, datagram.data());
  std::string error;
  bool ok = sink_.send(datagram.data(), datagram.size(), &error);
  // Like state changes, a send failure is logged when it starts and when it ends.
  if (!ok && !send_failing_) log()->error("heartbeat not sent: {}", error);
  if (ok && send_failing_) log()->info("heartbeats are being sent again");
  send_failing_ = !ok;
  *sequence = m.sequence;
  return ok;
}

void Monitor::log_state(const StepReport& report) {
  Health now = report.verdict.health;
  if (last_health_ == now) return;
  if (now == Health::healthy)
    log()->info("healthy: heartbeats to {}:{}", ipv4_to_string(config_.heartbeat.target_addr),
                config_.heartbeat.target_port);
  else
    log()->warn("{}, no heartbeats: {}", health_name(now), report.verdict.reason);
  last_health_ = now;
}

}  // namespace lb::broker
