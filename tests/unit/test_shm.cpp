// The lbdp <-> lbcp shared-memory segment: create/attach, the layout check, one control
// plane at a time, noticing a restarted dataplane, the rings across two mappings, and
// the sequence lock.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "shm_segment.hpp"

namespace lb::shm {
namespace {

std::string test_name() { return "/lbtest-shm-" + std::to_string(getpid()); }

TEST(Shm, AttachSeesWhatTheOwnerWrote) {
  SegmentOwner owner;
  std::string error;
  ASSERT_TRUE(owner.create(test_name(), &error)) << error;
  SegmentClient client;
  ASSERT_EQ(client.attach(test_name(), &error), SegmentClient::Attach::ok) << error;
  EXPECT_EQ(client.generation(), owner.get()->header.generation);
  EXPECT_EQ(client.get()->header.dataplane_pid, getpid());
  EXPECT_EQ(owner.get()->header.controlplane_pid.load(), getpid());
  EXPECT_FALSE(client.superseded());

  // Two mappings of one segment: a record pushed through one pops out of the other.
  HeartbeatRecord hb{};
  hb.length = 3;
  hb.data[0] = 7;
  ASSERT_TRUE(owner.get()->heartbeats.push(hb));
  HeartbeatRecord got{};
  ASSERT_TRUE(client.get()->heartbeats.pop(got));
  EXPECT_EQ(got.length, 3);
  EXPECT_EQ(got.data[0], 7);
  EXPECT_FALSE(client.get()->heartbeats.pop(got)) << "exactly one record";

  CommandRecord cmd{};
  cmd.op = CommandOp::set_health;
  cmd.health = Health::dead;
  cmd.backend_port = 80;
  ASSERT_TRUE(client.get()->commands.push(cmd));
  CommandRecord cmd_got{};
  ASSERT_TRUE(owner.get()->commands.pop(cmd_got));
  EXPECT_EQ(cmd_got.health, Health::dead);
  EXPECT_EQ(cmd_got.backend_port, 80);
}

TEST(Shm, RingsAreBounded) {
  SegmentOwner owner;
  std::string error;
  ASSERT_TRUE(owner.create(test_name(), &error)) << error;
  EventRecord e{};
  size_t pushed = 0;
  while (owner.get()->events.push(e) && pushed < 100000) ++pushed;
  EXPECT_GT(pushed, 0u);
  EXPECT_LT(pushed, 100000u) << "a full ring refuses instead of growing";
}

TEST(Shm, OneControlPlaneAtATime) {
  SegmentOwner owner;
  std::string error;
  ASSERT_TRUE(owner.create(test_name(), &error)) << error;
  SegmentClient first, second;
  ASSERT_EQ(first.attach(test_name(), &error), SegmentClient::Attach::ok) << error;
  EXPECT_EQ(second.attach(test_name(), &error), SegmentClient::Attach::locked);
  EXPECT_NE(error.find("another control plane"), std::string::npos) << error;
  first.detach();
  EXPECT_EQ(second.attach(test_name(), &error), SegmentClient::Attach::ok) << error;
}

TEST(Shm, ARestartedDataplaneSupersedesTheOldSegment) {
  std::string error;
  SegmentClient client;
  uint64_t old_generation;
  {
    SegmentOwner first;
    ASSERT_TRUE(first.create(test_name(), &error)) << error;
    ASSERT_EQ(client.attach(test_name(), &error), SegmentClient::Attach::ok) << error;
    old_generation = client.generation();
    EXPECT_FALSE(client.superseded());
  }  // lbdp stops: closed
  EXPECT_TRUE(client.superseded());
  EXPECT_EQ(client.attach(test_name(), &error), SegmentClient::Attach::absent) << "the name is gone";

  SegmentOwner second;
  ASSERT_TRUE(second.create(test_name(), &error)) << error;
  ASSERT_EQ(client.attach(test_name(), &error), SegmentClient::Attach::ok) << error;
  EXPECT_GT(client.generation(), old_generation);
  // A crashed lbdp never marks its segment closed; the new one replaces the name.
  SegmentOwner third;
  ASSERT_TRUE(third.create(test_name(), &error)) << error;
  EXPECT_TRUE(client.superseded()) << "the name now refers to another segment";
}

TEST(Shm, ALayoutMismatchIsRefusedWithAReason) {
  const std::string name = test_name() + "-bad";
  int fd = shm_open(name.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, sizeof(Segment)), 0);
  Header h{};
  h.magic = kMagic;
  h.layout_version = kLayoutVersion + 1;
  h.header_size = sizeof(Header);
  h.layout = this_layout();
  ASSERT_EQ(pwrite(fd, &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
  close(fd);
  SegmentClient client;
  std::string error;
  EXPECT_EQ(client.attach(name, &error), SegmentClient::Attach::mismatch);
  EXPECT_NE(error.find("layout mismatch"), std::string::npos) << error;
  shm_unlink(name.c_str());
  EXPECT_EQ(client.attach(name, &error), SegmentClient::Attach::absent);
}

TEST(Shm, BadNamesAreRefused) {
  SegmentOwner owner;
  std::string error;
  EXPECT_FALSE(owner.create("lbdp", &error));
  EXPECT_FALSE(owner.create("/a/b", &error));
  EXPECT_NE(error.find("must be '/'"), std::string::npos) << error;
}

TEST(Seqlock, ReaderGetsWhatTheWriterWrote) {
  Seqlocked<HealthReport> area;
  area.write([](HealthReport& r) {
    r.count = 2;
    r.entries[1].counter = 42;
  });
  HealthReport copy{};
  ASSERT_TRUE(area.read(&copy));
  EXPECT_EQ(copy.count, 2u);
  EXPECT_EQ(copy.entries[1].counter, 42u);
  EXPECT_EQ(area.sequence.load() % 2, 0u);
}

TEST(Seqlock, AWriterThatDiedMidWriteDoesNotWedgeTheArea) {
  Seqlocked<HealthReport> area;
  area.sequence.store(5);  // odd: a killed lbcp was writing
  HealthReport copy{};
  EXPECT_FALSE(area.read(&copy, 10)) << "an odd sequence is a write in progress";
  area.write([](HealthReport& r) { r.count = 1; });
  EXPECT_EQ(area.sequence.load() % 2, 0u);
  ASSERT_TRUE(area.read(&copy));
  EXPECT_EQ(copy.count, 1u);
}

}  // namespace
}  // namespace lb::shm
