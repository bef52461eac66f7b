// The backend health state machine (the paper's heartbeat counters), pure: no clock, no
// I/O, no logging. The caller feeds it the dataplane's backend table, valid heartbeats
// and ticks, each with the time, and gets back what changed and what to tell lbdp.
//
// Per backend (address:port, the same in every VIP that lists it):
//
//   every tick            counter += 1
//   valid heartbeat       counter = 0; warning/dead -> ok (slow start begins)
//   heartbeat "draining"  ignored: the broker is going away, so it counts as a missed beat
//   counter > warning     ok -> warning: lbdp gives it no new flows, existing ones go on
//   counter > dead        -> dead: out of scheduling; alert
//
// So with a heartbeat at time t and ticks every T ms, warning comes on the
// (warning_ticks+1)-th tick after t: more than warning_ticks*T and at most
// (warning_ticks+1)*T ms later; the same for dead. States only go down by the counter
// and only come back by a heartbeat (a dead backend whose counter is reset by a reload
// stays dead until it beats).
//
// Slow start: on a return to ok (from warning or dead) the backend's weight goes
// 100/steps percent, then 2*100/steps, ..., in equal steps, reaching 100 percent exactly
// slow_start_ms after the heartbeat.
//
// A VIP is down when none of its backends is usable: usable means lbcp's health is ok
// or warning (warning is the short, non-alerting step before dead, so the VIP alert
// follows the same dead threshold as the backend alert), the admin state is up and the
// weight is not 0. The first evaluation of a VIP sets its baseline without an event, so
// a restarted lbcp does not announce what its predecessor already did.
//
// Commands: the machine remembers what it last told lbdp per backend (confirm_pushed)
// and pending_commands() returns every backend whose (health, weight percent) differs.
// forget_pushed() makes everything pending again (a new lbdp). sync() also re-sends a
// backend whose state in lbdp's table still differs repush_after_ms after the push
// (a lost or refused command).
//
// Thread-safety: not thread-safe; one thread (lbcp's event loop) owns an instance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "heartbeat.hpp"
#include "shm_layout.hpp"

namespace lb::cp {

// An IPv4 address and port, host order: a backend or a VIP.
struct Endpoint {
  uint32_t addr = 0;
  uint16_t port = 0;
  auto operator<=>(const Endpoint&) const = default;
};
std::string to_string(Endpoint endpoint);   // "a.b.c.d:port"
std::string ipv4_string(uint32_t addr);     // "a.b.c.d"

struct HealthParams {
  uint32_t tick_ms = 100;
  uint32_t warning_ticks = 10;
  uint32_t dead_ticks = 30;
  uint32_t slow_start_ms = 0;        // 0 = no slow start
  uint32_t slow_start_steps = 10;    // >= 1
  uint32_t repush_after_ms = 2000;
};

// A backend's state change.
struct Transition {
  Endpoint backend;
  shm::Health from = shm::Health::unknown;
  shm::Health to = shm::Health::unknown;
  uint32_t counter = 0;              // the counter when it happened (before a reset)
  std::string reason;
};

// A VIP that lost its last usable backend (down) or got one back (!down).
struct VipTransition {
  Endpoint vip;
  bool down = false;
  std::string reason;
};

struct TrackedBackend {
  Endpoint backend;
  shm::Health state = shm::Health::ok;
  std::string origin;                // why it starts in that state
};

// What one call changed. The calls append; the caller clears it.
struct Changes {
  std::vector<Transition> backends;
  std::vector<VipTransition> vips;
  std::vector<TrackedBackend> added;
  std::vector<Endpoint> removed;
  bool empty() const { return backends.empty() && vips.empty() && added.empty() && removed.empty(); }
  void clear() { *this = Changes{}; }
};

// One set_health command for lbdp.
struct Command {
  Endpoint backend;
  shm::Health health = shm::Health::ok;
  uint16_t weight_percent = 100;
  bool operator==(const Command&) const = default;
};

// A backend as lbcp sees it (for the health report and the logs).
struct BackendStatus {
  Endpoint backend;
  shm::Health state = shm::Health::ok;
  uint32_t counter = 0;
  uint16_t weight_percent = 100;
  hb::Load load;
  uint64_t last_heartbeat_ms = 0;    // the caller's clock; 0 = none since lbcp started
};

// The weight percent of a slow start `elapsed_ms` after it began (100 when over or off).
uint16_t slow_start_percent(uint64_t elapsed_ms, uint32_t slow_start_ms, uint32_t steps);

class HealthMachine {
 public:
  explicit HealthMachine(const HealthParams& params = {});

  // New thresholds apply from the next tick; states are not re-evaluated.
  void set_params(const HealthParams& params);
  const HealthParams& params() const { return params_; }

  // lbdp's backend table (DataplaneStats.backends). A backend not tracked yet starts
  // from the health lbdp applies, so a restarted lbcp changes nothing: dead and warning
  // start in that state with the counter just past the threshold, anything else starts
  // ok with counter 0 (a slow start in progress continues). Backends no longer listed
  // are dropped. The VIP -> backends map is taken from here.
  void sync(const shm::BackendEntry* entries, size_t count, uint64_t now_ms, Changes* out);

  enum class Beat { accepted, draining, unknown_backend };
  // A heartbeat that passed authentication and the replay check.
  Beat heartbeat(Endpoint backend, uint8_t flags, const hb::Load& load, uint64_t now_ms, Changes* out);

  // One health tick.
  void tick(uint64_t now_ms, Changes* out);

  std::vector<Command> pending_commands() const;
  void confirm_pushed(const Command& command, uint64_t now_ms);
  void forget_pushed();

  size_t size() const { return backends_.size(); }
  std::optional<BackendStatus> find(Endpoint backend) const;
  std::vector<BackendStatus> status() const;  // sorted by address:port
  // The VIPs that list this backend.
  std::vector<Endpoint> vips_of(Endpoint backend) const;
  // nullopt for a VIP not known or not evaluated yet.
  std::optional<bool> vip_down(Endpoint vip) const;

 private:
  struct Backend {
    shm::Health state = shm::Health::ok;
    uint32_t counter = 0;
    uint16_t weight_percent = 100;
    bool ramping = false;
    uint64_t ramp_start_ms = 0;
    hb::Load load;
    uint64_t last_heartbeat_ms = 0;
    bool draining_seen = false;      // a draining beat since the last valid one
    // What lbdp was last told.
    bool pushed = false;
    shm::Health pushed_health = shm::Health::unknown;
    uint16_t pushed_percent = 100;
    uint64_t pushed_ms = 0;
  };
  struct Member {
    Endpoint backend;
    uint8_t admin_state = 0;
    uint32_t weight = 0;
  };
  struct Vip {
    std::vector<Member> members;
    bool evaluated = false;
    bool down = false;
  };

  void change_state(Endpoint key, Backend& b, shm::Health to, std::string reason, Changes* out);
  void evaluate_vips(Changes* out);
  bool usable(const Member& m) const;

  HealthParams params_;
  std::map<Endpoint, Backend> backends_;
  std::map<Endpoint, Vip> vips_;
};

}  // namespace lb::cp
