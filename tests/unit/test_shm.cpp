// The lbdp <-> lbcp shared-memory segment: create/attach, the layout check, one control
// plane at a time, noticing a restarted dataplane, the rings across two mappings, and
// the sequence lock.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

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
}

// A segment made by hand: `header` written at offset 0, byte 0 locked like a live lbdp
// (the returned fd holds the lock until closed).
int fake_segment(const std::string& name, const Header& header) {
  int fd = shm_open(name.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, sizeof(Segment)) != 0) return -1;
  if (pwrite(fd, &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return -1;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  if (fcntl(fd, F_OFD_SETLK, &fl) != 0) return -1;
  return fd;
}

TEST(Shm, ALayoutMismatchIsRefusedWithAReason) {
  const std::string name = test_name() + "-bad";
  Header h{};
  h.magic = kMagic;
  h.layout_version = kLayoutVersion + 1;
  h.header_size = sizeof(Header);
  h.layout = this_layout();
  h.state.store(static_cast<uint32_t>(SegmentState::ready));
  int fd = fake_segment(name, h);
  ASSERT_GE(fd, 0);
  SegmentClient client;
  std::string error;
  EXPECT_EQ(client.attach(name, &error), SegmentClient::Attach::mismatch);
  EXPECT_NE(error.find("layout mismatch"), std::string::npos) << error;
  close(fd);
  shm_unlink(name.c_str());
  EXPECT_EQ(client.attach(name, &error), SegmentClient::Attach::absent);
}

// Another build's segment is a mismatch whatever state it is in (not "not ready", which
// would be retried quietly forever).
TEST(Shm, AnotherBuildsSegmentIsAMismatchEvenWhenNotReady) {
  const std::string name = test_name() + "-old";
  Header h{};
  h.magic = kMagic;
  h.layout_version = kLayoutVersion - 1;
  h.header_size = sizeof(Header);
  int fd = fake_segment(name, h);  // state 0 (creating)
  ASSERT_GE(fd, 0);
  close(fd);                       // and no lbdp holding it
  SegmentClient client;
  std::string error;
  EXPECT_EQ(client.attach(name, &error), SegmentClient::Attach::mismatch) << error;
  shm_unlink(name.c_str());
}

// Between lbdp's shm_open and its header writes the segment is zeros: not ready, not a
// mismatch (which would log an error about builds).
TEST(Shm, ASegmentBeingCreatedIsNotReadyRatherThanAMismatch) {
  const std::string name = test_name() + "-new";
  Header zeros{};
  int fd = fake_segment(name, zeros);
  ASSERT_GE(fd, 0);
  SegmentClient client;
  std::string error;
  EXPECT_EQ(client.attach(name, &error), SegmentClient::Attach::not_ready) << error;
  close(fd);
  shm_unlink(name.c_str());
}

TEST(Shm, ASecondDataplaneCannotTakeALiveOnesName) {
  SegmentOwner first, second;
  std::string error;
  ASSERT_TRUE(first.create(test_name(), &error)) << error;
  EXPECT_FALSE(second.create(test_name(), &error));
  EXPECT_NE(error.find("running lbdp"), std::string::npos) << error;
  SegmentClient client;
  ASSERT_EQ(client.attach(test_name(), &error), SegmentClient::Attach::ok) << "the first one still serves it";
  EXPECT_EQ(client.generation(), first.get()->header.generation);
}

// An lbdp killed with SIGKILL never marks its segment closed: its lock going away is
// what lbcp notices, and a new lbdp may take the name.
TEST(Shm, ADataplaneKilledWithoutCleanupIsNoticedAndReplaced) {
  const std::string name = test_name();  // the parent's pid, for both processes
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    SegmentOwner owner;
    std::string e;
    char ok = owner.create(name, &e) ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    pause();  // until killed
    _exit(0);
  }
  struct Reaper {  // the child never outlives the test, whatever fails
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{child};
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  ASSERT_EQ(ok, 'y');
  SegmentClient client;
  std::string error;
  ASSERT_EQ(client.attach(name, &error), SegmentClient::Attach::ok) << error;
  EXPECT_FALSE(client.superseded());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  reaper.pid = 0;
  EXPECT_TRUE(client.superseded()) << "its lock went with it";
  SegmentClient late;
  EXPECT_EQ(late.attach(name, &error), SegmentClient::Attach::not_ready) << "nothing serves it";
  SegmentOwner next;
  ASSERT_TRUE(next.create(name, &error)) << error;
  ASSERT_EQ(late.attach(name, &error), SegmentClient::Attach::ok) << error;
  close(ready[0]);
  close(ready[1]);
}

// A reader racing a writer never sees a half-written value.
TEST(Seqlock, ConcurrentReadsAreNeverTorn) {
  struct Pair {
    uint64_t a[64];
  };
  Seqlocked<Pair> area{};  // zeroed, like the segment (a read may come before any write)
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (uint64_t i = 1; !stop.load(std::memory_order_relaxed); ++i)
      area.write([&](Pair& p) {
        for (auto& x : p.a) x = i;
      });
  });
  uint64_t reads = 0, torn = 0;
  for (int i = 0; i < 200000; ++i) {
    Pair copy;
    if (!area.read(&copy)) continue;
    ++reads;
    for (uint64_t x : copy.a) torn += x != copy.a[0];
  }
  stop = true;
  writer.join();
  EXPECT_GT(reads, 0u);
  EXPECT_EQ(torn, 0u);
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
