#include "health.hpp"

#include <algorithm>
#include <limits>

namespace lb::cp {

std::string ipv4_string(uint32_t addr) {
  return std::to_string(addr >> 24) + "." + std::to_string((addr >> 16) & 0xff) + "." +
         std::to_string((addr >> 8) & 0xff) + "." + std::to_string(addr & 0xff);
}

std::string to_string(Endpoint endpoint) { return ipv4_string(endpoint.addr) + ":" + std::to_string(endpoint.port); }

uint16_t slow_start_percent(uint64_t elapsed_ms, uint32_t slow_start_ms, uint32_t steps) {
  if (slow_start_ms == 0 || steps <= 1 || elapsed_ms >= slow_start_ms) return 100;
  // Step k (1..steps) begins at (k-1)/(steps-1) of the ramp, so the last (100%) begins
  // exactly at slow_start_ms.
  uint64_t step = 1 + elapsed_ms * (steps - 1) / slow_start_ms;
  return static_cast<uint16_t>(std::max<uint64_t>(1, 100 * step / steps));
}

HealthMachine::HealthMachine(const HealthParams& params) : params_(params) {}

void HealthMachine::set_params(const HealthParams& params) { params_ = params; }

void HealthMachine::change_state(Endpoint key, Backend& b, shm::Health to, std::string reason, Changes* out) {
  out->backends.push_back(Transition{key, b.state, to, b.counter, std::move(reason)});
  b.state = to;
}

void HealthMachine::sync(const shm::BackendEntry* entries, size_t count, uint64_t now_ms, Changes* out) {
  std::map<Endpoint, Vip> vips;
  std::map<Endpoint, bool> listed;
  for (size_t i = 0; i < count; ++i) {
    const shm::BackendEntry& e = entries[i];
    Endpoint key{e.addr, e.port};
    Endpoint vip_key{e.vip_addr, e.vip_port};
    vips[vip_key].members.push_back(Member{key, e.admin_state, e.weight});
    listed[key] = true;

    auto it = backends_.find(key);
    if (it == backends_.end()) {
      Backend b;
      std::string origin;
      // Start from what lbdp applies, and remember that as what it was told, so that
      // nothing is pushed (or flaps) unless lbcp's view differs.
      b.pushed = true;
      b.pushed_health = e.health;
      b.pushed_percent = e.weight_percent;
      b.pushed_ms = now_ms;
      if (e.health == shm::Health::dead) {
        b.state = shm::Health::dead;
        b.counter = params_.dead_ticks + 1;
        origin = "dead in the dataplane";
      } else if (e.health == shm::Health::warning) {
        b.state = shm::Health::warning;
        b.counter = params_.warning_ticks + 1;
        origin = "warning in the dataplane";
      } else {
        b.state = shm::Health::ok;
        b.counter = 0;
        origin = e.health == shm::Health::ok ? "ok in the dataplane" : "new, not yet judged";
        if (e.health == shm::Health::ok && e.weight_percent >= 1 && e.weight_percent < 100 &&
            params_.slow_start_ms > 0 && params_.slow_start_steps > 1) {
          // A slow start in progress when the previous lbcp stopped: go on from its step.
          uint64_t steps = params_.slow_start_steps;
          uint64_t step = std::max<uint64_t>(1, (uint64_t{e.weight_percent} * steps + 99) / 100);  // 1..steps
          uint64_t elapsed = ((step - 1) * params_.slow_start_ms + steps - 2) / (steps - 1);  // where it begins
          b.ramping = true;
          b.ramp_start_ms = now_ms >= elapsed ? now_ms - elapsed : 0;
          b.weight_percent = slow_start_percent(elapsed, params_.slow_start_ms, params_.slow_start_steps);
          origin += ", slow start continues";
        }
      }
      backends_.emplace(key, b);
      out->added.push_back(TrackedBackend{key, b.state, std::move(origin)});
      continue;
    }
    // Known backend: lbdp should apply what it was told. If it still does not, well
    // after the push, the command was lost or refused (or lbdp restarted): send again.
    Backend& b = it->second;
    if (b.pushed && (e.health != b.pushed_health || e.weight_percent != b.pushed_percent) &&
        now_ms - b.pushed_ms >= params_.repush_after_ms)
      b.pushed = false;
  }
  for (auto it = backends_.begin(); it != backends_.end();) {
    if (listed.count(it->first)) {
      ++it;
    } else {
      out->removed.push_back(it->first);
      it = backends_.erase(it);
    }
  }
  for (auto& [key, vip] : vips) {
    auto old = vips_.find(key);
    if (old != vips_.end()) {
      vip.evaluated = old->second.evaluated;
      vip.down = old->second.down;
    }
  }
  vips_ = std::move(vips);
  evaluate_vips(out);
}

HealthMachine::Beat HealthMachine::heartbeat(Endpoint key, uint8_t flags, const hb::Load& load, uint64_t now_ms,
                                             Changes* out) {
  auto it = backends_.find(key);
  if (it == backends_.end()) return Beat::unknown_backend;
  Backend& b = it->second;
  if (flags & hb::kFlagDraining) {
    b.draining_seen = true;
    return Beat::draining;
  }
  b.load = load;
  b.last_heartbeat_ms = now_ms;
  if (b.state != shm::Health::ok) {
    change_state(key, b, shm::Health::ok,
                 "heartbeat after " + std::to_string(b.counter) + " ticks without one", out);
    b.ramping = params_.slow_start_ms > 0 && params_.slow_start_steps > 1;
    b.ramp_start_ms = now_ms;
    b.weight_percent = slow_start_percent(0, params_.slow_start_ms, params_.slow_start_steps);
    if (b.weight_percent == 100) b.ramping = false;
  }
  b.counter = 0;
  b.draining_seen = false;
  evaluate_vips(out);
  return Beat::accepted;
}

void HealthMachine::tick(uint64_t now_ms, Changes* out) {
  for (auto& [key, b] : backends_) {
    if (b.counter < std::numeric_limits<uint32_t>::max()) ++b.counter;
    shm::Health next = b.state;
    if (b.counter > params_.dead_ticks) next = shm::Health::dead;
    else if (b.counter > params_.warning_ticks && b.state == shm::Health::ok) next = shm::Health::warning;
    if (next != b.state) {
      std::string reason = "no valid heartbeat for " + std::to_string(b.counter) + " ticks (> " +
                           std::to_string(next == shm::Health::dead ? params_.dead_ticks : params_.warning_ticks) +
                           " x " + std::to_string(params_.tick_ms) + " ms)";
      if (b.draining_seen) reason += "; the broker announced it is draining";
      change_state(key, b, next, std::move(reason), out);
      b.ramping = false;
      b.weight_percent = 100;
      continue;
    }
    if (b.state == shm::Health::ok && b.ramping) {
      uint64_t elapsed = now_ms >= b.ramp_start_ms ? now_ms - b.ramp_start_ms : 0;
      b.weight_percent = slow_start_percent(elapsed, params_.slow_start_ms, params_.slow_start_steps);
      if (b.weight_percent == 100) b.ramping = false;
    }
  }
  evaluate_vips(out);
}

bool HealthMachine::usable(const Member& m) const {
  if (m.admin_state != 0 || m.weight == 0) return false;
  auto it = backends_.find(m.backend);
  return it != backends_.end() && it->second.state != shm::Health::dead;
}

void HealthMachine::evaluate_vips(Changes* out) {
  for (auto& [key, vip] : vips_) {
    size_t usable_count = 0, dead = 0, out_of_service = 0;
    for (const Member& m : vip.members) {
      if (usable(m)) ++usable_count;
      else if (m.admin_state != 0 || m.weight == 0) ++out_of_service;
      else ++dead;
    }
    bool down = usable_count == 0;
    if (!vip.evaluated) {
      vip.evaluated = true;
      vip.down = down;
      continue;
    }
    if (down == vip.down) continue;
    vip.down = down;
    std::string reason;
    size_t total = vip.members.size();
    if (down) {
      reason = "no usable backend: " + std::to_string(dead) + " of " + std::to_string(total) + " dead, " +
               std::to_string(out_of_service) + " drained, in maintenance or weight 0";
    } else {
      reason = std::to_string(usable_count) + " of " + std::to_string(total) + " backends usable again";
    }
    out->vips.push_back(VipTransition{key, down, std::move(reason)});
  }
}

std::vector<Command> HealthMachine::pending_commands() const {
  std::vector<Command> commands;
  for (const auto& [key, b] : backends_) {
    uint16_t percent = b.state == shm::Health::ok ? b.weight_percent : 100;
    if (!b.pushed || b.pushed_health != b.state || b.pushed_percent != percent)
      commands.push_back(Command{key, b.state, percent});
  }
  return commands;
}

void HealthMachine::confirm_pushed(const Command& command, uint64_t now_ms) {
  auto it = backends_.find(command.backend);
  if (it == backends_.end()) return;
  Backend& b = it->second;
  b.pushed = true;
  b.pushed_health = command.health;
  b.pushed_percent = command.weight_percent;
  b.pushed_ms = now_ms;
}

void HealthMachine::forget_pushed() {
  for (auto& [key, b] : backends_) b.pushed = false;
}

std::optional<BackendStatus> HealthMachine::find(Endpoint key) const {
  auto it = backends_.find(key);
  if (it == backends_.end()) return std::nullopt;
  const Backend& b = it->second;
  return BackendStatus{key, b.state, b.counter, b.state == shm::Health::ok ? b.weight_percent : uint16_t{100},
                       b.load, b.last_heartbeat_ms};
}

std::vector<BackendStatus> HealthMachine::status() const {
  std::vector<BackendStatus> all;
  all.reserve(backends_.size());
  for (const auto& [key, b] : backends_) all.push_back(*find(key));
  return all;
}

std::vector<Endpoint> HealthMachine::vips_of(Endpoint backend) const {
  std::vector<Endpoint> vips;
  for (const auto& [key, vip] : vips_)
    for (const Member& m : vip.members)
      if (m.backend == backend) {
        vips.push_back(key);
        break;
      }
  return vips;
}

std::optional<bool> HealthMachine::vip_down(Endpoint vip) const {
  auto it = vips_.find(vip);
  if (it == vips_.end() || !it->second.evaluated) return std::nullopt;
  return it->second.down;
}

}  // namespace lb::cp
