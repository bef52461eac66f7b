#include "dataplane_link.hpp"

#include <algorithm>

#include "logging.hpp"

namespace lb::cp {

namespace {
// Attaching is a shm_open, a header read and a lock attempt: cheap enough to retry often,
// and a restarted lbdp schedules with every backend 'unknown' until lbcp re-pushes.
constexpr uint64_t kAttachRetryMs = 50;

const char* attach_name(shm::SegmentClient::Attach result) {
  switch (result) {
    case shm::SegmentClient::Attach::ok: return "ok";
    case shm::SegmentClient::Attach::absent: return "absent";
    case shm::SegmentClient::Attach::not_ready: return "not ready";
    case shm::SegmentClient::Attach::mismatch: return "layout mismatch";
    case shm::SegmentClient::Attach::locked: return "in use by another lbcp";
    case shm::SegmentClient::Attach::error: return "error";
  }
  return "?";
}
}  // namespace

DataplaneLink::DataplaneLink(std::string name) : name_(std::move(name)) {}

DataplaneLink::~DataplaneLink() { detach(); }

void DataplaneLink::detach() {
  // SegmentClient gives header.controlplane_pid back and releases the lock.
  client_.detach();
}

bool DataplaneLink::maintain(uint64_t now_ms) {
  auto log = logger("shm");
  bool retry_now = false;
  if (attached()) {
    if (!client_.superseded()) return false;
    log->warn("segment {} (generation {}) was closed or replaced: lbdp stopped or restarted; detaching", name_,
              client_.generation());
    detach();
    retry_now = true;
  }
  if (!retry_now && attempted_ && now_ms - last_attempt_ms_ < kAttachRetryMs) return false;
  attempted_ = true;
  last_attempt_ms_ = now_ms;

  std::string error;
  shm::SegmentClient::Attach result = client_.attach(name_, &error);
  if (result != shm::SegmentClient::Attach::ok) {
    std::string failure = std::string(attach_name(result)) + (error.empty() ? "" : ": " + error);
    if (failure != last_failure_) {
      auto level = (result == shm::SegmentClient::Attach::absent || result == shm::SegmentClient::Attach::not_ready)
                       ? spdlog::level::info
                       : spdlog::level::err;
      log->log(level, "cannot attach to segment {} ({}); retrying every {} ms", name_, failure, kAttachRetryMs);
      last_failure_ = failure;
    }
    return false;
  }
  last_failure_.clear();
  // SegmentClient::attach has set header.controlplane_pid and controlplane_alive_ms.
  log->info("attached to segment {}: generation {}, lbdp pid {}", name_, client_.generation(),
            client_.get()->header.dataplane_pid);
  return true;
}

bool DataplaneLink::read_stats(shm::DataplaneStats* out) const {
  if (!attached()) return false;
  if (!client_.get()->stats.read(out)) return false;
  return out->updated_ms != 0;
}

bool DataplaneLink::push(const Command& command) {
  if (!attached()) return false;
  shm::CommandRecord record{};
  record.sequence = sequence_ + 1;
  record.op = shm::CommandOp::set_health;
  record.backend_addr = command.backend.addr;
  record.backend_port = command.backend.port;
  record.health = command.health;
  record.weight_percent = command.weight_percent;
  if (!client_.get()->commands.push(record)) return false;
  ++sequence_;
  logger("shm")->debug("command {}: {} health {} weight {}%", record.sequence, to_string(command.backend),
                       shm::health_name(command.health), command.weight_percent);
  return true;
}

void DataplaneLink::write_report(const std::vector<BackendStatus>& backends, const HealthParams& params,
                                 uint64_t now_ms) {
  if (!attached()) return;
  size_t count = std::min<size_t>(backends.size(), shm::kMaxHealthEntries);
  if (count < backends.size() && !report_truncation_logged_) {
    logger("shm")->warn("health report holds {} of {} backends (kMaxHealthEntries)", count, backends.size());
    report_truncation_logged_ = true;
  }
  client_.get()->health.write([&](shm::HealthReport& report) {
    report.updated_ms = now_ms;
    report.tick_ms = params.tick_ms;
    report.warning_ticks = params.warning_ticks;
    report.dead_ticks = params.dead_ticks;
    report.count = static_cast<uint32_t>(count);
    for (size_t i = 0; i < count; ++i) {
      const BackendStatus& b = backends[i];
      shm::HealthEntry& e = report.entries[i];
      e = shm::HealthEntry{};
      e.addr = b.backend.addr;
      e.port = b.backend.port;
      e.state = b.state;
      e.counter = b.counter;
      e.weight_percent = b.weight_percent;
      e.load = b.load;
      e.last_heartbeat_ms = b.last_heartbeat_ms;
    }
  });
}

void DataplaneLink::alive(uint64_t now_ms) {
  if (attached()) client_.get()->header.controlplane_alive_ms.store(now_ms, std::memory_order_relaxed);
}

bool DataplaneLink::dataplane_stalled(uint64_t now_ms, uint64_t stall_ms) const {
  if (!attached()) return false;
  uint64_t alive = client_.get()->header.dataplane_alive_ms.load(std::memory_order_relaxed);
  return alive != 0 && now_ms > alive && now_ms - alive > stall_ms;
}

}  // namespace lb::cp
