// lbcp's health state machine (controlplane/health.hpp), the heartbeat intake in front of
// it, and the [health]/[heartbeat] config keys. Time is passed in; nothing sleeps.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "config.hpp"
#include "health.hpp"
#include "heartbeat.hpp"
#include "heartbeat_intake.hpp"

namespace {

using lb::cp::Changes;
using lb::cp::Command;
using lb::cp::Endpoint;
using lb::cp::HealthMachine;
using lb::cp::HealthParams;
using lb::shm::BackendEntry;
using lb::shm::Health;

constexpr uint32_t ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return (a << 24) | (b << 16) | (c << 8) | d; }

const Endpoint kVip{ip(198, 18, 0, 100), 80};
const Endpoint kVip2{ip(198, 18, 0, 101), 443};
const Endpoint kB1{ip(198, 18, 1, 11), 80};
const Endpoint kB2{ip(198, 18, 1, 12), 80};
const Endpoint kB3{ip(198, 18, 1, 13), 8080};

BackendEntry entry(Endpoint vip, Endpoint backend, Health health = Health::unknown, uint8_t admin = 0,
                   uint32_t weight = 1, uint16_t percent = 100) {
  BackendEntry e{};
  e.vip_addr = vip.addr;
  e.vip_port = vip.port;
  e.addr = backend.addr;
  e.port = backend.port;
  e.admin_state = admin;
  e.health = health;
  e.weight = weight;
  e.weight_percent = percent;
  return e;
}

HealthParams params(uint32_t warning = 3, uint32_t dead = 6) {
  HealthParams p;
  p.tick_ms = 100;
  p.warning_ticks = warning;
  p.dead_ticks = dead;
  p.slow_start_ms = 0;
  p.slow_start_steps = 4;
  p.repush_after_ms = 2000;
  return p;
}

class HealthTest : public ::testing::Test {
 protected:
  explicit HealthTest(HealthParams p = params()) : machine(p) {}

  void sync(const std::vector<BackendEntry>& entries) { machine.sync(entries.data(), entries.size(), now, &changes); }
  void tick(int n = 1) {
    for (int i = 0; i < n; ++i) {
      now += machine.params().tick_ms;
      machine.tick(now, &changes);
    }
  }
  HealthMachine::Beat beat(Endpoint b, uint8_t flags = 0) {
    lb::hb::Load load;
    load.response_us = 1500;
    load.connections = 7;
    return machine.heartbeat(b, flags, load, now, &changes);
  }
  Health state(Endpoint b) const { return machine.find(b).value().state; }
  uint32_t counter(Endpoint b) const { return machine.find(b).value().counter; }
  // Pretend every pending command reached lbdp.
  std::vector<Command> push_all() {
    std::vector<Command> commands = machine.pending_commands();
    for (const Command& c : commands) machine.confirm_pushed(c, now);
    return commands;
  }

  HealthMachine machine;
  Changes changes;
  uint64_t now = 100000;
};

TEST_F(HealthTest, NewBackendsStartOkWithCounterZeroAndArePushedOnce) {
  sync({entry(kVip, kB1), entry(kVip, kB2)});
  ASSERT_EQ(changes.added.size(), 2u);
  EXPECT_TRUE(changes.backends.empty());
  EXPECT_EQ(state(kB1), Health::ok);
  EXPECT_EQ(counter(kB1), 0u);
  std::vector<Command> commands = push_all();
  ASSERT_EQ(commands.size(), 2u);  // lbdp shows them unknown: tell it ok
  EXPECT_EQ(commands[0], (Command{kB1, Health::ok, 100}));
  EXPECT_TRUE(machine.pending_commands().empty());
}

TEST_F(HealthTest, CounterCountsTicksAndHeartbeatResetsIt) {
  sync({entry(kVip, kB1)});
  tick(3);
  EXPECT_EQ(counter(kB1), 3u);
  EXPECT_EQ(beat(kB1), HealthMachine::Beat::accepted);
  EXPECT_EQ(counter(kB1), 0u);
  tick(2);
  EXPECT_EQ(counter(kB1), 2u);
  EXPECT_EQ(state(kB1), Health::ok);
  EXPECT_TRUE(changes.backends.empty());
  EXPECT_EQ(machine.find(kB1)->load.connections, 7u);
}

TEST_F(HealthTest, WarningAndDeadHappenOnTheExactTick) {
  // warning_ticks 3, dead_ticks 6: warning on tick 4 (counter 4 > 3), dead on tick 7.
  sync({entry(kVip, kB1)});
  push_all();
  tick(3);
  EXPECT_EQ(state(kB1), Health::ok);
  EXPECT_TRUE(changes.backends.empty());
  tick();
  ASSERT_EQ(changes.backends.size(), 1u);
  EXPECT_EQ(changes.backends[0].from, Health::ok);
  EXPECT_EQ(changes.backends[0].to, Health::warning);
  EXPECT_EQ(changes.backends[0].counter, 4u);
  EXPECT_EQ(machine.pending_commands(), (std::vector<Command>{{kB1, Health::warning, 100}}));
  push_all();
  changes.clear();
  tick(2);
  EXPECT_EQ(state(kB1), Health::warning);
  EXPECT_TRUE(changes.backends.empty());
  EXPECT_TRUE(machine.pending_commands().empty());
  tick();
  ASSERT_EQ(changes.backends.size(), 1u);
  EXPECT_EQ(changes.backends[0].from, Health::warning);
  EXPECT_EQ(changes.backends[0].to, Health::dead);
  EXPECT_EQ(changes.backends[0].counter, 7u);
  EXPECT_NE(changes.backends[0].reason.find("7 ticks"), std::string::npos) << changes.backends[0].reason;
  EXPECT_EQ(machine.pending_commands(), (std::vector<Command>{{kB1, Health::dead, 100}}));
  changes.clear();
  tick(100);
  EXPECT_EQ(state(kB1), Health::dead);
  EXPECT_TRUE(changes.backends.empty());  // no repeated transitions
}

TEST_F(HealthTest, HeartbeatBringsADeadBackendBackAtOnce) {
  sync({entry(kVip, kB1)});
  tick(7);
  ASSERT_EQ(state(kB1), Health::dead);
  push_all();
  changes.clear();
  EXPECT_EQ(beat(kB1), HealthMachine::Beat::accepted);
  ASSERT_EQ(changes.backends.size(), 1u);
  EXPECT_EQ(changes.backends[0].from, Health::dead);
  EXPECT_EQ(changes.backends[0].to, Health::ok);
  EXPECT_EQ(counter(kB1), 0u);
  EXPECT_EQ(machine.pending_commands(), (std::vector<Command>{{kB1, Health::ok, 100}}));
}

TEST_F(HealthTest, HeartbeatDuringWarningReturnsToOk) {
  sync({entry(kVip, kB1)});
  tick(4);
  ASSERT_EQ(state(kB1), Health::warning);
  changes.clear();
  beat(kB1);
  ASSERT_EQ(changes.backends.size(), 1u);
  EXPECT_EQ(changes.backends[0].to, Health::ok);
  EXPECT_EQ(state(kB1), Health::ok);
}

TEST_F(HealthTest, DrainingHeartbeatCountsAsNone) {
  sync({entry(kVip, kB1)});
  tick(3);
  EXPECT_EQ(beat(kB1, lb::hb::kFlagDraining), HealthMachine::Beat::draining);
  EXPECT_EQ(counter(kB1), 3u);
  EXPECT_EQ(machine.find(kB1)->last_heartbeat_ms, 0u);
  tick();
  ASSERT_EQ(changes.backends.size(), 1u);
  EXPECT_EQ(changes.backends[0].to, Health::warning);
  EXPECT_NE(changes.backends[0].reason.find("draining"), std::string::npos);
}

TEST_F(HealthTest, HeartbeatFromAnUnknownBackendChangesNothing) {
  sync({entry(kVip, kB1)});
  EXPECT_EQ(beat(kB2), HealthMachine::Beat::unknown_backend);
  EXPECT_EQ(machine.size(), 1u);
  EXPECT_FALSE(machine.find(kB2).has_value());
}

TEST_F(HealthTest, LowerThresholdsApplyFromTheNextTick) {
  sync({entry(kVip, kB1)});
  tick(3);
  machine.set_params(params(1, 2));
  tick();  // counter 4 > 2: straight to dead
  ASSERT_EQ(changes.backends.size(), 1u);
  EXPECT_EQ(changes.backends[0].from, Health::ok);
  EXPECT_EQ(changes.backends[0].to, Health::dead);
}

TEST(SlowStart, PercentRampsInEqualStepsOverTheDuration) {
  // 4 steps over 900 ms: 25 at 0, 50 from 300, 75 from 600, 100 from 900.
  EXPECT_EQ(lb::cp::slow_start_percent(0, 900, 4), 25);
  EXPECT_EQ(lb::cp::slow_start_percent(299, 900, 4), 25);
  EXPECT_EQ(lb::cp::slow_start_percent(300, 900, 4), 50);
  EXPECT_EQ(lb::cp::slow_start_percent(599, 900, 4), 50);
  EXPECT_EQ(lb::cp::slow_start_percent(600, 900, 4), 75);
  EXPECT_EQ(lb::cp::slow_start_percent(899, 900, 4), 75);
  EXPECT_EQ(lb::cp::slow_start_percent(900, 900, 4), 100);
  EXPECT_EQ(lb::cp::slow_start_percent(5, 0, 4), 100);      // off
  EXPECT_EQ(lb::cp::slow_start_percent(0, 900, 1), 100);    // one step: full at once
  EXPECT_EQ(lb::cp::slow_start_percent(0, 1000, 200), 1);   // never 0
}

TEST_F(HealthTest, SlowStartRampsTheWeightAfterRecovery) {
  HealthParams p = params();
  p.slow_start_ms = 900;
  p.slow_start_steps = 4;
  machine.set_params(p);
  sync({entry(kVip, kB1)});
  tick(7);
  ASSERT_EQ(state(kB1), Health::dead);
  push_all();
  beat(kB1);
  EXPECT_EQ(machine.pending_commands(), (std::vector<Command>{{kB1, Health::ok, 25}}));
  push_all();
  std::vector<uint16_t> seen;
  for (int i = 0; i < 10; ++i) {
    tick();
    beat(kB1);
    for (const Command& c : push_all()) seen.push_back(c.weight_percent);
  }
  EXPECT_EQ(seen, (std::vector<uint16_t>{50, 75, 100}));
  EXPECT_EQ(machine.find(kB1)->weight_percent, 100);
}

TEST_F(HealthTest, WithoutSlowStartRecoveryIsFullWeight) {
  sync({entry(kVip, kB1)});
  tick(7);
  beat(kB1);
  EXPECT_EQ(machine.pending_commands(), (std::vector<Command>{{kB1, Health::ok, 100}}));
}

TEST_F(HealthTest, AFailureDuringSlowStartEndsIt) {
  HealthParams p = params();
  p.slow_start_ms = 10000;
  machine.set_params(p);
  sync({entry(kVip, kB1)});
  tick(7);
  beat(kB1);
  ASSERT_EQ(machine.find(kB1)->weight_percent, 25);
  tick(4);
  EXPECT_EQ(state(kB1), Health::warning);
  EXPECT_EQ(machine.pending_commands(), (std::vector<Command>{{kB1, Health::warning, 100}}));
}

TEST_F(HealthTest, VipGoesDownWhenItsLastBackendDiesAndComesBack) {
  sync({entry(kVip, kB1), entry(kVip, kB2), entry(kVip2, kB3)});
  EXPECT_EQ(machine.vip_down(kVip), false);  // baseline, no event
  EXPECT_TRUE(changes.vips.empty());
  tick(4);
  beat(kB2);
  beat(kB3);
  tick(3);  // kB1 dead (counter 7); kB2 and kB3 at counter 3
  ASSERT_EQ(state(kB1), Health::dead);
  EXPECT_TRUE(changes.vips.empty());
  beat(kB3);
  tick(4);  // kB2 dead now as well; kB3 only warning
  ASSERT_EQ(state(kB2), Health::dead);
  ASSERT_EQ(state(kB3), Health::warning);
  ASSERT_EQ(changes.vips.size(), 1u);
  EXPECT_EQ(changes.vips[0].vip, kVip);
  EXPECT_TRUE(changes.vips[0].down);
  EXPECT_NE(changes.vips[0].reason.find("2 of 2 dead"), std::string::npos) << changes.vips[0].reason;
  changes.clear();
  tick(10);  // kVip stays down (no second event); kVip2 loses kB3
  ASSERT_EQ(changes.vips.size(), 1u);
  EXPECT_EQ(changes.vips[0].vip, kVip2);
  changes.clear();
  beat(kB2);
  ASSERT_EQ(changes.vips.size(), 1u);
  EXPECT_EQ(changes.vips[0].vip, kVip);
  EXPECT_FALSE(changes.vips[0].down);
  EXPECT_EQ(machine.vip_down(kVip), false);
}

TEST_F(HealthTest, WarningBackendsStillCountAsUsableForTheVip) {
  sync({entry(kVip, kB1), entry(kVip, kB2)});
  tick(5);
  ASSERT_EQ(state(kB1), Health::warning);
  ASSERT_EQ(state(kB2), Health::warning);
  EXPECT_TRUE(changes.vips.empty());
  EXPECT_EQ(machine.vip_down(kVip), false);
}

TEST_F(HealthTest, AdministrativelyOutBackendsAreNotUsable) {
  // kB2 in maintenance (admin 2), kB3 at weight 0: only kB1 serves the VIP.
  sync({entry(kVip, kB1), entry(kVip, kB2, Health::unknown, 2), entry(kVip, kB3, Health::unknown, 0, 0)});
  tick(7);
  // kB2 and kB3 heartbeat again, but being out of service they do not bring the VIP back.
  beat(kB2);
  beat(kB3);
  ASSERT_EQ(state(kB1), Health::dead);
  ASSERT_EQ(changes.vips.size(), 1u);
  EXPECT_TRUE(changes.vips[0].down);
  EXPECT_NE(changes.vips[0].reason.find("1 of 3 dead, 2 drained"), std::string::npos) << changes.vips[0].reason;
}

TEST_F(HealthTest, RebuildFromTheDataplaneDoesNotFlap) {
  // A restarted lbcp: lbdp applies dead, warning, ok (one in slow start at 50%), unknown.
  HealthParams p = params(3, 6);
  p.slow_start_ms = 900;
  p.slow_start_steps = 4;
  machine.set_params(p);
  const Endpoint kB4{ip(198, 18, 1, 14), 80};
  sync({entry(kVip, kB1, Health::dead), entry(kVip, kB2, Health::warning), entry(kVip2, kB3, Health::ok, 0, 1, 50),
        entry(kVip2, kB4, Health::unknown)});
  EXPECT_TRUE(changes.backends.empty());
  EXPECT_TRUE(changes.vips.empty());
  EXPECT_EQ(state(kB1), Health::dead);
  EXPECT_EQ(counter(kB1), 7u);  // just past dead_ticks
  EXPECT_EQ(state(kB2), Health::warning);
  EXPECT_EQ(counter(kB2), 4u);  // just past warning_ticks
  EXPECT_EQ(state(kB3), Health::ok);
  EXPECT_EQ(counter(kB3), 0u);
  EXPECT_EQ(machine.find(kB3)->weight_percent, 50);
  EXPECT_EQ(state(kB4), Health::ok);
  // Only what lbdp does not apply yet is pushed: kB4 (unknown -> ok).
  EXPECT_EQ(machine.pending_commands(), (std::vector<Command>{{kB4, Health::ok, 100}}));
  push_all();
  // The warning backend goes dead after the remaining dead_ticks - warning_ticks ticks.
  tick(2);
  beat(kB3);
  beat(kB4);
  EXPECT_EQ(state(kB2), Health::warning);
  EXPECT_TRUE(changes.backends.empty());
  tick();
  ASSERT_EQ(changes.backends.size(), 1u);
  EXPECT_EQ(changes.backends[0].backend, kB2);
  EXPECT_EQ(changes.backends[0].to, Health::dead);
  ASSERT_EQ(changes.vips.size(), 1u);  // kVip: both backends dead now
  EXPECT_TRUE(changes.vips[0].down);
  // kB3's slow start went on from 50%, placed 300 ms into the 900 ms ramp; 300 ms later
  // it is at the next step.
  EXPECT_EQ(machine.find(kB3)->weight_percent, 75);
}

TEST_F(HealthTest, RebuildWithAVipAlreadyDownIsQuiet) {
  sync({entry(kVip, kB1, Health::dead), entry(kVip, kB2, Health::dead)});
  EXPECT_EQ(machine.vip_down(kVip), true);
  EXPECT_TRUE(changes.vips.empty());
  tick(10);
  EXPECT_TRUE(changes.vips.empty());
  beat(kB1);
  ASSERT_EQ(changes.vips.size(), 1u);
  EXPECT_FALSE(changes.vips[0].down);
}

TEST_F(HealthTest, ANewLbdpGetsEveryStateAgain) {
  sync({entry(kVip, kB1), entry(kVip, kB2)});
  tick(7);
  beat(kB2);
  push_all();
  EXPECT_TRUE(machine.pending_commands().empty());
  machine.forget_pushed();
  EXPECT_EQ(machine.pending_commands(),
            (std::vector<Command>{{kB1, Health::dead, 100}, {kB2, Health::ok, 100}}));
  // The new lbdp's table shows them unknown: state is kept, nothing is re-added.
  changes.clear();
  sync({entry(kVip, kB1), entry(kVip, kB2)});
  EXPECT_TRUE(changes.added.empty());
  EXPECT_EQ(state(kB1), Health::dead);
}

TEST_F(HealthTest, ACommandLbdpDidNotApplyIsSentAgainAfterTheGraceTime) {
  sync({entry(kVip, kB1)});
  push_all();  // ok
  now += 1000;
  sync({entry(kVip, kB1, Health::unknown)});  // not applied yet: within the grace time
  EXPECT_TRUE(machine.pending_commands().empty());
  now += 1000;
  sync({entry(kVip, kB1, Health::unknown)});
  EXPECT_EQ(machine.pending_commands(), (std::vector<Command>{{kB1, Health::ok, 100}}));
  push_all();
  now += 5000;
  sync({entry(kVip, kB1, Health::ok)});  // applied
  EXPECT_TRUE(machine.pending_commands().empty());
}

TEST_F(HealthTest, BackendsFollowTheDataplaneTable) {
  // kB1 in two VIPs is one backend.
  sync({entry(kVip, kB1), entry(kVip2, kB1), entry(kVip, kB2)});
  EXPECT_EQ(machine.size(), 2u);
  EXPECT_EQ(machine.vips_of(kB1), (std::vector<Endpoint>{kVip, kVip2}));
  changes.clear();
  sync({entry(kVip2, kB1), entry(kVip2, kB3)});  // kB2 removed, kB3 added by the CLI
  ASSERT_EQ(changes.removed, (std::vector<Endpoint>{kB2}));
  ASSERT_EQ(changes.added.size(), 1u);
  EXPECT_EQ(changes.added[0].backend, kB3);
  EXPECT_EQ(machine.size(), 2u);
  EXPECT_FALSE(machine.vip_down(kVip).has_value());  // the VIP is gone
  EXPECT_EQ(lb::cp::to_string(kB3), "198.18.1.13:8080");
}

// ---- heartbeat intake: MAC, source address, replay -------------------------------------

class IntakeTest : public ::testing::Test {
 protected:
  lb::hb::Key key = lb::hb::Key(32, 0x5a);
  lb::cp::HeartbeatIntake intake{key, 30000};
  uint64_t epoch = 1700000000000;
  uint64_t sequence = 0;

  lb::shm::HeartbeatRecord record(uint32_t node, uint32_t source, const lb::hb::Key& signing_key, uint8_t flags = 0) {
    lb::hb::Message m;
    m.node_addr = node;
    m.service_port = 80;
    m.flags = flags;
    m.boot_id = 42;
    m.sequence = ++sequence;
    m.sent_ms = epoch;
    m.load.response_us = 900;
    lb::shm::HeartbeatRecord r{};
    lb::hb::encode(m, signing_key, r.data);
    r.length = lb::hb::kWireSize;
    r.src_addr_be = htonl(source);
    r.src_port_be = htons(40000);
    return r;
  }
};

TEST_F(IntakeTest, AValidHeartbeatPasses) {
  auto m = intake.check(record(kB1.addr, kB1.addr, key), epoch);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->node_addr, kB1.addr);
  EXPECT_EQ(m->service_port, 80);
  EXPECT_EQ(m->load.response_us, 900u);
  EXPECT_EQ(intake.accepted(), 1u);
  EXPECT_EQ(intake.rejected_total(), 0u);
}

TEST_F(IntakeTest, EachRefusalIsCountedByReason) {
  EXPECT_FALSE(intake.check(record(kB1.addr, kB1.addr, lb::hb::Key(32, 0x11)), epoch));
  EXPECT_EQ(intake.rejected(lb::hb::Reject::bad_mac), 1u);

  EXPECT_FALSE(intake.check(record(kB1.addr, kB2.addr, key), epoch));  // speaks for another node
  EXPECT_EQ(intake.rejected(lb::cp::HeartbeatIntake::Extra::source_mismatch), 1u);

  auto truncated = record(kB1.addr, kB1.addr, key);
  truncated.length = 40;
  EXPECT_FALSE(intake.check(truncated, epoch));
  EXPECT_EQ(intake.rejected(lb::hb::Reject::truncated), 1u);

  auto oversized = record(kB1.addr, kB1.addr, key);
  oversized.length = 60000;
  EXPECT_FALSE(intake.check(oversized, epoch));
  EXPECT_EQ(intake.rejected(lb::cp::HeartbeatIntake::Extra::oversized), 1u);

  auto good = record(kB1.addr, kB1.addr, key);
  EXPECT_TRUE(intake.check(good, epoch));
  EXPECT_FALSE(intake.check(good, epoch));  // the same datagram again
  EXPECT_EQ(intake.rejected(lb::hb::Reject::replay), 1u);

  EXPECT_FALSE(intake.check(record(kB1.addr, kB1.addr, key), epoch + 60000));  // 60 s old
  EXPECT_EQ(intake.rejected(lb::hb::Reject::stale), 1u);

  EXPECT_EQ(intake.accepted(), 1u);
  EXPECT_EQ(intake.rejected_total(), 6u);
  std::string summary = intake.summary();
  EXPECT_NE(summary.find("bad_mac=1"), std::string::npos) << summary;
  EXPECT_NE(summary.find("source_mismatch=1"), std::string::npos) << summary;
}

TEST_F(IntakeTest, AMismatchedSourceDoesNotAdvanceTheReplayState) {
  auto forged = record(kB1.addr, kB2.addr, key);  // sequence 1, from the wrong host
  EXPECT_FALSE(intake.check(forged, epoch));
  sequence = 0;
  EXPECT_TRUE(intake.check(record(kB1.addr, kB1.addr, key), epoch));  // sequence 1 from the node itself
}

TEST_F(IntakeTest, ANewKeyTakesEffect) {
  lb::hb::Key next(32, 0x77);
  intake.set_key(next);
  EXPECT_FALSE(intake.check(record(kB1.addr, kB1.addr, key), epoch));
  EXPECT_TRUE(intake.check(record(kB1.addr, kB1.addr, next), epoch));
}

// ---- [health] and [heartbeat] config ---------------------------------------------------

TEST(ControlplaneConfig, DefaultsNeedOnlyTheKeyFile) {
  auto r = lb::cp::parse_config("[heartbeat]\nkey_file = \"/etc/lb/hb.key\"\n", "lbcp.toml");
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_EQ(r.config->dataplane.shm, "/lbdp");
  EXPECT_EQ(r.config->health.tick_ms, 100u);
  // 5 s and 15 s: above lbbroker's longest gap between beats (interval.max_ms 1 s plus
  // limits.max_response_ms 1 s), even with one heartbeat lost.
  EXPECT_EQ(r.config->health.warning_ticks, 50u);
  EXPECT_EQ(r.config->health.dead_ticks, 150u);
  EXPECT_EQ(r.config->health.slow_start_s, 0u);
  EXPECT_EQ(r.config->heartbeat.max_skew_ms, 30000u);
  EXPECT_EQ(r.config->heartbeat.key_file_line, 2);
  EXPECT_TRUE(r.config->alerts.smtp_url.empty());
  EXPECT_EQ(r.config->log.level, "info");
}

TEST(ControlplaneConfig, EveryErrorIsReportedWithFileAndLine) {
  const char* text =
      "[dataplane]\n"
      "shm = \"lbdp\"\n"                  // 2: no leading '/'
      "[health]\n"
      "tick_ms = 5\n"                     // 4: below 10
      "warning_ticks = 20\n"
      "dead_ticks = 20\n"                 // 6: not above warning
      "tik_ms = 100\n"                    // 7: unknown key
      "[heartbeat]\n"
      "max_skew_ms = \"30s\"\n"           // 9: not an integer
      "[log]\n"
      "level = \"loud\"\n";               // 11
  auto r = lb::cp::parse_config(text, "bad.toml");
  EXPECT_FALSE(r.config);
  std::vector<std::string> expected_prefixes = {
      "bad.toml:2: dataplane.shm: ", "bad.toml:4: health.tick_ms: 5 out of range [10, 60000]",
      "bad.toml:6: health.dead_ticks: 20 must be greater than warning_ticks (20)", "bad.toml:7: health.tik_ms: unknown key",
      "bad.toml:9: heartbeat.max_skew_ms: must be an integer", "bad.toml:8: heartbeat.key_file: missing",
      "bad.toml:11: log.level: "};
  for (const std::string& prefix : expected_prefixes) {
    bool found = std::any_of(r.errors.begin(), r.errors.end(),
                             [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
    EXPECT_TRUE(found) << "no error starting with: " << prefix;
  }
  EXPECT_EQ(r.errors.size(), expected_prefixes.size());
}

TEST(ControlplaneConfig, SyntaxErrorsAndUnknownTables) {
  auto r = lb::cp::parse_config("[heartbeat]\nkey_file = \n", "x.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].rfind("x.toml:2: syntax: ", 0), 0u) << r.errors[0];
  r = lb::cp::parse_config("[heartbeat]\nkey_file = \"k\"\n[helth]\ntick_ms = 1\n", "x.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "x.toml:3: helth: unknown table");
}

TEST(ControlplaneConfig, ARelativeKeyFileIsRelativeToTheConfigFile) {
  auto r = lb::cp::parse_config("[heartbeat]\nkey_file = \"hb.key\"\n", "/etc/lbcp/lbcp.toml");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->heartbeat.key_file, "/etc/lbcp/hb.key");
}

TEST(ControlplaneConfig, RestartOnlyKeys) {
  auto a = lb::cp::parse_config("[heartbeat]\nkey_file = \"k\"\n", "a.toml");
  auto b = lb::cp::parse_config(
      "[dataplane]\nshm = \"/other\"\n[health]\ntick_ms = 50\n[heartbeat]\nkey_file = \"k2\"\n", "b.toml");
  ASSERT_TRUE(a.config && b.config);
  EXPECT_EQ(lb::cp::restart_only_changes(*a.config, *b.config),
            (std::vector<std::string>{"b.toml:2: dataplane.shm: changing \"/lbdp\" to \"/other\" needs a restart"}));
  b.config->dataplane.shm = "/lbdp";
  EXPECT_TRUE(lb::cp::restart_only_changes(*a.config, *b.config).empty());
}

}  // namespace
