// lbcp's Controller (controlplane/controller.hpp) against a shared-memory segment the
// test creates in lbdp's place: it publishes the backend table, queues heartbeats and
// events, marks lbdp alive or not, and reads back the commands and the health report.
// The controller gets every time as an argument, so lbdp's liveness and the health
// ticks are chosen here, not waited for (only the stop test waits, for a sender thread).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "controller.hpp"
#include "heartbeat.hpp"
#include "shm_segment.hpp"

namespace {

using lb::cp::Controller;
using lb::shm::Health;

constexpr uint32_t ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return (a << 24) | (b << 16) | (c << 8) | d; }

const lb::cp::Endpoint kVip{ip(198, 18, 0, 100), 80};
const lb::cp::Endpoint kB1{ip(198, 18, 1, 11), 80};
const lb::cp::Endpoint kB2{ip(198, 18, 1, 12), 80};
constexpr uint64_t kEpochMs = 1700000000000;

// Counts attempts; each one hangs (a mail server that never answers) until the sender
// cancels it, or for 8 s.
class HangingTransport : public lb::cp::AlertTransport {
 public:
  bool send_mail(const lb::cp::AlertsConfig&, const std::string&, const std::atomic<bool>& cancel,
                 std::string* error) override {
    return hang(cancel, error);
  }
  bool post_json(const lb::cp::AlertsConfig&, const std::string&, const std::atomic<bool>& cancel,
                 std::string* error) override {
    return hang(cancel, error);
  }
  std::atomic<int> attempts{0};
  std::atomic<bool> saw_cancel{false};

 private:
  bool hang(const std::atomic<bool>& cancel, std::string* error) {
    ++attempts;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
    while (!cancel.load() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (cancel.load()) saw_cancel = true;
    *error = "no answer";
    return false;
  }
};

class ControllerTest : public ::testing::Test {
 protected:
  ControllerTest() {
    config.dataplane.shm = "/lbtest-cp-" + std::to_string(getpid());
    config.health.tick_ms = 100;
    config.health.warning_ticks = 8;  // warning after 0.8 s
    config.health.dead_ticks = 20;    // dead after 2 s
  }
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(owner.create(config.dataplane.shm, &error)) << error;
    // Times are the test's, on the same clock lbdp and lbcp use.
    now = lb::shm::monotonic_ms();
  }

  std::unique_ptr<Controller> make(std::unique_ptr<lb::cp::AlertTransport> transport =
                                       std::make_unique<HangingTransport>()) {
    return std::make_unique<Controller>(config, key, std::move(transport), "lb1");
  }

  // lbdp's side.
  lb::shm::Segment& segment() { return *owner.get(); }
  void dataplane_alive(uint64_t at_ms) { segment().header.dataplane_alive_ms.store(at_ms); }
  void publish(const std::vector<lb::cp::Endpoint>& backends) {
    segment().stats.write([&](lb::shm::DataplaneStats& stats) {
      stats.updated_ms = now;
      stats.backend_count = static_cast<uint32_t>(backends.size());
      for (size_t i = 0; i < backends.size(); ++i) {
        lb::shm::BackendEntry& e = stats.backends[i];
        e = lb::shm::BackendEntry{};
        e.vip_addr = kVip.addr;
        e.vip_port = kVip.port;
        e.id = static_cast<uint16_t>(i);
        e.addr = backends[i].addr;
        e.port = backends[i].port;
        e.health = Health::ok;
        e.weight = 1;
        e.weight_percent = 100;
      }
    });
  }
  lb::shm::HeartbeatRecord heartbeat(lb::cp::Endpoint backend, uint64_t rx_ms) {
    lb::hb::Message m;
    m.node_addr = backend.addr;
    m.service_port = backend.port;
    m.boot_id = 42;
    m.sequence = ++sequence;
    m.sent_ms = kEpochMs;
    m.load.response_us = 900;
    m.load.interval_ms = 200;
    lb::shm::HeartbeatRecord r{};
    lb::hb::encode(m, key, r.data);
    r.length = lb::hb::kWireSize;
    r.src_addr_be = htonl(backend.addr);
    r.src_port_be = htons(40000);
    r.rx_ms = rx_ms;
    return r;
  }
  std::vector<lb::shm::CommandRecord> commands() {
    std::vector<lb::shm::CommandRecord> out;
    lb::shm::CommandRecord c;
    while (segment().commands.pop(c)) out.push_back(c);
    return out;
  }
  // lbcp's report about one backend (fails the test when it is not there).
  lb::shm::HealthEntry report_of(lb::cp::Endpoint backend) {
    auto report = std::make_unique<lb::shm::HealthReport>();
    EXPECT_TRUE(segment().health.read(report.get()));
    for (uint32_t i = 0; i < report->count; ++i)
      if (report->entries[i].addr == backend.addr && report->entries[i].port == backend.port)
        return report->entries[i];
    ADD_FAILURE() << lb::cp::to_string(backend) << " is not in the health report";
    return lb::shm::HealthEntry{};
  }

  lb::cp::Config config;
  lb::hb::Key key = lb::hb::Key(32, 0x5a);
  lb::shm::SegmentOwner owner;
  uint64_t now = 0;
  uint64_t sequence = 0;
};

TEST(DataplaneStall, AQuarterOfTheWarningTimeBetween50And250Ms) {
  auto params = [](uint32_t tick_ms, uint32_t warning_ticks) {
    lb::cp::HealthParams p;
    p.tick_ms = tick_ms;
    p.warning_ticks = warning_ticks;
    return p;
  };
  EXPECT_EQ(lb::cp::dataplane_stall_ms(params(100, 8)), 200u);     // warning 0.8 s
  EXPECT_EQ(lb::cp::dataplane_stall_ms(params(100, 50)), 250u);    // the defaults: warning 5 s
  EXPECT_EQ(lb::cp::dataplane_stall_ms(params(10, 1)), 50u);      // not below lbdp's own rhythm
  EXPECT_EQ(lb::cp::dataplane_stall_ms(params(1, 1)), 50u);
  // 65536 x 65536 = 2^32: 0 in 32-bit arithmetic, which would pause counting at once.
  EXPECT_EQ(lb::cp::dataplane_stall_ms(params(65536, 65536)), 250u);
  EXPECT_EQ(lb::cp::dataplane_stall_ms(params(60000, 100000)), 250u);
}

TEST_F(ControllerTest, AStalledDataplaneChangesNoBackend) {
  auto controller = make();
  publish({kB1, kB2});
  dataplane_alive(now);
  controller->poll(now, kEpochMs);
  ASSERT_TRUE(controller->attached());
  EXPECT_TRUE(commands().empty()) << "ok in lbdp and in lbcp: nothing to push";

  // lbdp stops marking itself alive at `now` (killed, or hung) and stays silent for 6 s,
  // three times the dead time. Counting pauses once it has been silent for 200 ms.
  uint64_t silent_from = now;
  for (int i = 0; i < 60; ++i) {
    now += config.health.tick_ms;
    controller->poll(now, kEpochMs);
    controller->tick(now, kEpochMs);
  }
  for (const lb::shm::CommandRecord& c : commands())
    ADD_FAILURE() << "command while lbdp was silent: " << lb::cp::to_string({c.backend_addr, c.backend_port})
                  << " -> " << lb::shm::health_name(c.health);

  // lbdp runs again: counting resumes where it paused, far below warning.
  now += config.health.tick_ms;
  dataplane_alive(now);
  controller->tick(now, kEpochMs);
  EXPECT_TRUE(commands().empty());
  for (lb::cp::Endpoint b : {kB1, kB2}) {
    lb::shm::HealthEntry e = report_of(b);
    EXPECT_EQ(e.state, Health::ok) << lb::cp::to_string(b);
    // Ticks at +100 and +200 ms counted (silent for at most 200 ms), then this one.
    EXPECT_EQ(e.counter, 3u) << lb::cp::to_string(b);
  }
  EXPECT_GT(now - silent_from, uint64_t{config.health.dead_ticks} * config.health.tick_ms);
}

TEST_F(ControllerTest, AHeartbeatCountsFromWhenLbdpReceivedIt) {
  auto controller = make();
  publish({kB1, kB2});
  dataplane_alive(now);
  controller->poll(now, kEpochMs);
  ASSERT_TRUE(controller->attached());

  // kB1's heartbeat waited 70 ms in the ring; kB2's record carries no time (0).
  uint64_t received = now + 30;
  ASSERT_TRUE(segment().heartbeats.push(heartbeat(kB1, received)));
  ASSERT_TRUE(segment().heartbeats.push(heartbeat(kB2, 0)));
  now += 100;
  dataplane_alive(now);
  controller->tick(now, kEpochMs);  // drains the ring, then counts
  EXPECT_EQ(report_of(kB1).last_heartbeat_ms, received);
  EXPECT_EQ(report_of(kB2).last_heartbeat_ms, now);

  // A time ahead of lbcp's own (lbdp queued it after lbcp read its clock) is taken as now.
  ASSERT_TRUE(segment().heartbeats.push(heartbeat(kB1, now + 150)));
  now += 100;
  dataplane_alive(now);
  controller->tick(now, kEpochMs);
  EXPECT_EQ(report_of(kB1).last_heartbeat_ms, now);
}

// A heartbeat that waited in the ring longer than the warning time (lbcp was down) says
// nothing about now and must not reset a backend that has been silent since.
TEST_F(ControllerTest, AHeartbeatOlderThanTheWarningTimeIsIgnored) {
  auto controller = make();
  publish({kB1});
  dataplane_alive(now);
  controller->poll(now, kEpochMs);
  ASSERT_TRUE(controller->attached());
  const uint64_t warning_ms = 8 * 100;  // the fixture's tick and warning_ticks
  ASSERT_TRUE(segment().heartbeats.push(heartbeat(kB1, now)));
  now += warning_ms + 100;
  dataplane_alive(now);
  controller->tick(now, kEpochMs);
  EXPECT_EQ(report_of(kB1).last_heartbeat_ms, 0u) << "the stale beat was not taken";
  EXPECT_GT(report_of(kB1).counter, 0u);
  ASSERT_TRUE(segment().heartbeats.push(heartbeat(kB1, now)));
  now += 10;
  dataplane_alive(now);
  controller->poll(now, kEpochMs);
  controller->tick(now, kEpochMs);
  EXPECT_EQ(report_of(kB1).last_heartbeat_ms, now - 10) << "a fresh one is";
}

TEST_F(ControllerTest, StaleSnapshotEventsCauseOneTableReadPerPoll) {
  auto controller = make();
  publish({kB1});
  dataplane_alive(now);
  // What a new lbcp finds: the event ring full of old announcements.
  lb::shm::EventRecord event{};
  event.kind = lb::shm::EventKind::snapshot_published;
  size_t queued = 0;
  while (segment().events.push(event)) event.value = ++queued;
  ASSERT_GT(queued, 100u);
  controller->poll(now, kEpochMs);
  ASSERT_TRUE(controller->attached());
  // One read on attach, one for all the events.
  EXPECT_EQ(controller->table_syncs(), 2u);
  controller->poll(now + 5, kEpochMs);
  EXPECT_EQ(controller->table_syncs(), 2u) << "no event, no read";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(segment().events.push(event));
  controller->poll(now + 10, kEpochMs);
  EXPECT_EQ(controller->table_syncs(), 3u);
}

TEST_F(ControllerTest, StopLeavesTheSegmentBeforeWaitingForTheMailServer) {
  config.health.warning_ticks = 1;
  config.health.dead_ticks = 2;
  config.alerts.smtp_url = "smtp://127.0.0.1:2525";
  config.alerts.mail_from = "lbcp@appliance.example";
  config.alerts.mail_to = {"ops@example.com"};
  auto transport = std::make_unique<HangingTransport>();
  HangingTransport* mail = transport.get();
  auto controller = make(std::move(transport));
  controller->start();
  publish({kB1});
  dataplane_alive(now);
  controller->poll(now, kEpochMs);
  ASSERT_TRUE(controller->attached());
  EXPECT_EQ(segment().header.controlplane_pid.load(), getpid());
  for (int i = 0; i < 3; ++i) {  // no heartbeat: dead on the third tick, and mailed
    now += config.health.tick_ms;
    dataplane_alive(now);
    controller->tick(now, kEpochMs);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (mail->attempts.load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(mail->attempts.load(), 1) << "the dead alert should be on its way";

  // The mail server does not answer; stop gives it 1 s of grace. The segment is left
  // at once, not after the grace.
  auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] { controller->stop(std::chrono::milliseconds(1000)); });
  while (segment().header.controlplane_pid.load() != 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::milliseconds(700))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(segment().header.controlplane_pid.load(), 0) << "still attached while waiting for the mail server";
  stopper.join();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(controller->attached());
  // The grace, then the attempt in progress is cancelled.
  EXPECT_LT(took, std::chrono::milliseconds(2500));
  EXPECT_TRUE(mail->saw_cancel.load());
}

}  // namespace
