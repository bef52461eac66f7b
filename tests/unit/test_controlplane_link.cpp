// lbdp's end of the shared-memory segment (dataplane/controlplane_link.hpp), driven from
// a SegmentClient as lbcp would: heartbeats checked and queued, health commands
// validated and applied, frames to transmit handed over, events and the stats area.
// No EAL: the link uses no DPDK call.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "controlplane_link.hpp"
#include "heartbeat.hpp"

namespace lb {
namespace {

std::string name() { return "/lbtest-link-" + std::to_string(getpid()); }

struct Linked : ::testing::Test {
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(link.open(name(), &error)) << error;
    ASSERT_EQ(client.attach(name(), &error), shm::SegmentClient::Attach::ok) << error;
  }
  ControlPlaneLink link;
  shm::SegmentClient client;
  LcoreCounters counters{};
};

std::vector<uint8_t> plausible_heartbeat() {
  std::vector<uint8_t> d(hb::kWireSize, 0);
  d[0] = 'L', d[1] = 'B', d[2] = 'H', d[3] = 'B', d[4] = hb::kVersion;
  return d;
}

TEST_F(Linked, HeartbeatsArePassedOnOrCountedAsMalformed) {
  auto good = plausible_heartbeat();
  link.heartbeat(good.data(), static_cast<uint32_t>(good.size()), 0x0b0112c6, 0x409c, counters);
  auto bad_magic = good;
  bad_magic[3] = 'X';
  link.heartbeat(bad_magic.data(), static_cast<uint32_t>(bad_magic.size()), 0x0b0112c6, 0x409c, counters);
  link.heartbeat(good.data(), static_cast<uint32_t>(good.size() - 1), 0x0b0112c6, 0x409c, counters);
  std::vector<uint8_t> huge(shm::kMaxHeartbeat + 1, 0);
  std::memcpy(huge.data(), good.data(), good.size());
  link.heartbeat(huge.data(), static_cast<uint32_t>(huge.size()), 0x0b0112c6, 0x409c, counters);
  EXPECT_EQ(counters.get(Event::heartbeats), 1u);
  EXPECT_EQ(counters.get(Drop::heartbeat_malformed), 3u);
  shm::HeartbeatRecord r{};
  ASSERT_TRUE(client.get()->heartbeats.pop(r));
  EXPECT_EQ(r.length, hb::kWireSize);
  EXPECT_EQ(r.src_addr_be, 0x0b0112c6u);
  EXPECT_EQ(r.src_port_be, 0x409c);
  EXPECT_EQ(std::memcmp(r.data, good.data(), good.size()), 0);
  EXPECT_NE(r.rx_ms, 0u);
  EXPECT_FALSE(client.get()->heartbeats.pop(r)) << "only the good one was queued";
}

TEST_F(Linked, HealthCommandsAreValidatedAndChangeTheMapOnlyWhenTheyChangeSomething) {
  auto push = [&](shm::CommandOp op, uint32_t addr, uint16_t port, shm::Health h, uint16_t pct) {
    shm::CommandRecord c{};
    c.op = op;
    c.backend_addr = addr;
    c.backend_port = port;
    c.health = h;
    c.weight_percent = pct;
    ASSERT_TRUE(client.get()->commands.push(c));
  };
  HealthMap health;
  push(shm::CommandOp::set_health, 0xc612010b, 80, shm::Health::dead, 100);
  push(shm::CommandOp::set_health, 0xc612010c, 80, shm::Health::ok, 0);              // percent 0: refused
  push(shm::CommandOp::set_health, 0xc612010c, 80, static_cast<shm::Health>(9), 100);  // no such state
  push(static_cast<shm::CommandOp>(77), 0xc612010c, 80, shm::Health::ok, 100);         // no such op
  EXPECT_TRUE(link.take_commands(health, counters));
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health.at({0xc612010b, 80}).health, shm::Health::dead);
  EXPECT_EQ(counters.get(Event::health_commands), 1u);

  push(shm::CommandOp::set_health, 0xc612010b, 80, shm::Health::dead, 100);  // no change
  EXPECT_FALSE(link.take_commands(health, counters)) << "nothing to republish";
  push(shm::CommandOp::set_health, 0xc612010b, 80, shm::Health::ok, 30);
  EXPECT_TRUE(link.take_commands(health, counters));
  EXPECT_EQ(health.at({0xc612010b, 80}).weight_percent, 30);
  push(shm::CommandOp::set_health, 0xc612010b, 80, shm::Health::unknown, 100);  // back to the default
  EXPECT_TRUE(link.take_commands(health, counters));
  EXPECT_TRUE(health.empty()) << "the default needs no entry";
}

TEST_F(Linked, FramesToTransmitAreHandedOverAndBadOnesSkipped) {
  shm::TxRecord frame{};
  frame.port_index = 1;
  frame.length = 60;
  for (int i = 0; i < 60; ++i) frame.frame[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(client.get()->transmit.push(frame));
  shm::TxRecord runt{};
  runt.length = 10;  // shorter than an Ethernet header
  ASSERT_TRUE(client.get()->transmit.push(runt));
  shm::TxRecord oversized{};
  oversized.length = shm::kMaxFrame + 1;
  ASSERT_TRUE(client.get()->transmit.push(oversized));
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> sent;
  link.take_transmits([&](uint16_t port, const uint8_t* data, uint16_t len) {
    sent.push_back({port, std::vector<uint8_t>(data, data + len)});
  }, counters);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, 1);
  ASSERT_EQ(sent[0].second.size(), 60u);
  EXPECT_EQ(sent[0].second[59], 59);
  EXPECT_EQ(counters.get(Event::cp_transmits), 1u);
}

TEST_F(Linked, EventsAndLivenessReachTheControlPlane) {
  client.get()->header.dataplane_alive_ms.store(0);
  link.post_event(shm::EventKind::snapshot_published, 42);
  link.alive();
  shm::EventRecord e{};
  ASSERT_TRUE(client.get()->events.pop(e));
  EXPECT_EQ(e.kind, shm::EventKind::snapshot_published);
  EXPECT_EQ(e.value, 42u);
  EXPECT_NE(client.get()->header.dataplane_alive_ms.load(), 0u) << "alive() stamps the header";
  link.close();
  EXPECT_TRUE(client.superseded()) << "closing tells lbcp";
  ASSERT_TRUE(client.get()->events.pop(e));
  EXPECT_EQ(e.kind, shm::EventKind::stopping);
}

TEST(ControlPlaneLinkOff, WithoutASegmentEverythingIsANoOp) {
  ControlPlaneLink link;
  LcoreCounters counters{};
  HealthMap health;
  auto good = plausible_heartbeat();
  link.heartbeat(good.data(), static_cast<uint32_t>(good.size()), 1, 2, counters);
  EXPECT_FALSE(link.take_commands(health, counters));
  shm::HealthReport report;
  EXPECT_FALSE(link.health_report(&report));
  EXPECT_FALSE(link.active());
  EXPECT_EQ(counters.get(Event::heartbeats), 0u);
}

}  // namespace
}  // namespace lb
