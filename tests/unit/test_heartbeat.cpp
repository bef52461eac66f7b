// Unit tests for heartbeat.hpp: the wire format, the MAC, each reason a datagram is
// refused, the replay guard and key loading.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "heartbeat.hpp"

namespace lb::hb {
namespace {

const Key kKey = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
constexpr uint64_t kNow = 1'700'000'000'000;  // ms since the epoch

Message sample_message() {
  Message m;
  m.node_addr = 0x0a000105;  // 10.0.1.5
  m.service_port = 8080;
  m.flags = 0;
  m.boot_id = 1'700'000'000'123'456'789ULL;
  m.sequence = 42;
  m.sent_ms = kNow;
  m.load = Load{1234, 870, 55, 300};
  return m;
}

using Datagram = std::array<uint8_t, kWireSize>;

Datagram encoded(const Message& m, const Key& key = kKey) {
  Datagram d{};
  encode(m, key, d.data());
  return d;
}

TEST(Heartbeat, RoundTripKeepsEveryField) {
  Message in = sample_message();
  in.flags = kFlagDraining;
  Datagram d = encoded(in);
  Message out;
  ASSERT_EQ(decode(d.data(), d.size(), kKey, &out), Reject::none);
  EXPECT_EQ(out.node_addr, in.node_addr);
  EXPECT_EQ(out.service_port, in.service_port);
  EXPECT_EQ(out.flags, kFlagDraining);
  EXPECT_EQ(out.boot_id, in.boot_id);
  EXPECT_EQ(out.sequence, in.sequence);
  EXPECT_EQ(out.sent_ms, in.sent_ms);
  EXPECT_EQ(out.load.response_us, in.load.response_us);
  EXPECT_EQ(out.load.cpu_permille, in.load.cpu_permille);
  EXPECT_EQ(out.load.connections, in.load.connections);
  EXPECT_EQ(out.load.interval_ms, in.load.interval_ms);
}

TEST(Heartbeat, FieldsAreBigEndianAtTheirOffsets) {
  Datagram d = encoded(sample_message());
  EXPECT_EQ(std::string(d.begin(), d.begin() + 4), "LBHB");
  EXPECT_EQ(d[4], kVersion);
  EXPECT_EQ(d[5], 0);
  EXPECT_EQ(d[6], 0);
  EXPECT_EQ(d[7], 0);
  EXPECT_EQ((std::array<uint8_t, 4>{d[8], d[9], d[10], d[11]}), (std::array<uint8_t, 4>{10, 0, 1, 5}));
  EXPECT_EQ(d[12], 8080 >> 8);
  EXPECT_EQ(d[13], 8080 & 0xff);
  EXPECT_EQ(d[14], 0);
  EXPECT_EQ(d[15], 0);
  EXPECT_EQ(d[31], 42);  // sequence, low byte last
  EXPECT_EQ(d[30], 0);
  EXPECT_EQ(d[42], 1234 >> 8);
  EXPECT_EQ(d[43], 1234 & 0xff);
  EXPECT_EQ(d[55], 300 & 0xff);
  EXPECT_TRUE(header_plausible(d.data(), d.size()));
}

TEST(Heartbeat, EncodingIsDeterministicAndKeyed) {
  Datagram a = encoded(sample_message());
  Datagram b = encoded(sample_message());
  EXPECT_EQ(a, b);
  Key other = kKey;
  other[0] ^= 1;
  Datagram c = encoded(sample_message(), other);
  EXPECT_TRUE(std::equal(a.begin(), a.begin() + kSignedSize, c.begin()));
  EXPECT_FALSE(std::equal(a.begin() + kSignedSize, a.end(), c.begin() + kSignedSize));
}

TEST(Heartbeat, TruncatedAndOversizeAreRefused) {
  Datagram d = encoded(sample_message());
  Message out;
  EXPECT_EQ(decode(d.data(), kWireSize - 1, kKey, &out), Reject::truncated);
  EXPECT_EQ(decode(d.data(), 0, kKey, &out), Reject::truncated);
  std::array<uint8_t, kWireSize + 1> longer{};
  std::copy(d.begin(), d.end(), longer.begin());
  EXPECT_EQ(decode(longer.data(), longer.size(), kKey, &out), Reject::truncated);
  EXPECT_FALSE(header_plausible(d.data(), kWireSize - 1));
}

TEST(Heartbeat, BadMagicIsRefused) {
  Datagram d = encoded(sample_message());
  d[0] = 'X';
  Message out;
  EXPECT_EQ(decode(d.data(), d.size(), kKey, &out), Reject::bad_magic);
  EXPECT_FALSE(header_plausible(d.data(), d.size()));
}

TEST(Heartbeat, WrongVersionIsRefused) {
  Datagram d = encoded(sample_message());
  d[4] = kVersion + 1;
  Message out;
  EXPECT_EQ(decode(d.data(), d.size(), kKey, &out), Reject::bad_version);
  EXPECT_FALSE(header_plausible(d.data(), d.size()));
}

TEST(Heartbeat, AnyFlippedBitInPayloadOrMacIsRefused) {
  const Datagram good = encoded(sample_message());
  // Every bit after magic and version: the payload bytes 5..55 and the MAC 56..87.
  for (size_t byte = 5; byte < kWireSize; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Datagram d = good;
      d[byte] ^= static_cast<uint8_t>(1u << bit);
      Message out;
      ASSERT_EQ(decode(d.data(), d.size(), kKey, &out), Reject::bad_mac) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(Heartbeat, WrongKeyIsRefused) {
  Datagram d = encoded(sample_message());
  Key other = kKey;
  other.back() ^= 0x20;
  Message out;
  EXPECT_EQ(decode(d.data(), d.size(), other, &out), Reject::bad_mac);
  Key longer = kKey;
  longer.push_back('x');
  EXPECT_EQ(decode(d.data(), d.size(), longer, &out), Reject::bad_mac);
}

TEST(Heartbeat, RejectNamesAreDistinct) {
  EXPECT_STREQ(reject_name(Reject::none), "none");
  EXPECT_STREQ(reject_name(Reject::bad_mac), "bad_mac");
  for (int a = 0; a < static_cast<int>(Reject::count_); ++a)
    for (int b = a + 1; b < static_cast<int>(Reject::count_); ++b)
      EXPECT_STRNE(reject_name(static_cast<Reject>(a)), reject_name(static_cast<Reject>(b)));
}

// ReplayGuard

TEST(ReplayGuard, AcceptsGrowingSequence) {
  ReplayGuard guard(30000);
  Message m = sample_message();
  EXPECT_EQ(guard.accept(m, kNow), Reject::none);
  m.sequence += 1;
  EXPECT_EQ(guard.accept(m, kNow), Reject::none);
  m.sequence += 10;  // lost heartbeats leave gaps
  EXPECT_EQ(guard.accept(m, kNow), Reject::none);
}

TEST(ReplayGuard, SameSequenceIsAReplay) {
  ReplayGuard guard;
  Message m = sample_message();
  ASSERT_EQ(guard.accept(m, kNow), Reject::none);
  EXPECT_EQ(guard.accept(m, kNow), Reject::replay);
}

TEST(ReplayGuard, LowerSequenceIsAReplay) {
  ReplayGuard guard;
  Message m = sample_message();
  ASSERT_EQ(guard.accept(m, kNow), Reject::none);
  m.sequence -= 1;
  EXPECT_EQ(guard.accept(m, kNow), Reject::replay);
}

TEST(ReplayGuard, RejectedMessagesAreNotRecorded) {
  ReplayGuard guard(1000);
  Message m = sample_message();
  ASSERT_EQ(guard.accept(m, kNow), Reject::none);
  Message stale = m;
  stale.sequence = m.sequence + 100;
  stale.sent_ms = kNow - 5000;
  ASSERT_EQ(guard.accept(stale, kNow), Reject::stale);
  m.sequence += 1;  // still above the last accepted one, though below the stale one's
  EXPECT_EQ(guard.accept(m, kNow), Reject::none);
}

TEST(ReplayGuard, StaleBothWaysBeyondSkew) {
  ReplayGuard guard(30000);
  Message m = sample_message();
  m.sent_ms = kNow - 30001;
  EXPECT_EQ(guard.accept(m, kNow), Reject::stale);
  m.sent_ms = kNow + 30001;  // from the future: a clock far ahead
  EXPECT_EQ(guard.accept(m, kNow), Reject::stale);
  m.sent_ms = kNow - 30000;  // at the edge: accepted
  EXPECT_EQ(guard.accept(m, kNow), Reject::none);
  Message ahead = m;
  ahead.sequence += 1;
  ahead.sent_ms = kNow + 30000;
  EXPECT_EQ(guard.accept(ahead, kNow), Reject::none);
}

TEST(ReplayGuard, OlderBootIdIsRefusedNewerAccepted) {
  ReplayGuard guard;
  Message m = sample_message();
  ASSERT_EQ(guard.accept(m, kNow), Reject::none);

  Message older = m;
  older.boot_id -= 1;
  older.sequence = m.sequence + 1000;
  EXPECT_EQ(guard.accept(older, kNow), Reject::replay);

  Message restarted = m;
  restarted.boot_id += 1;
  restarted.sequence = 1;  // a new boot starts again at 1
  EXPECT_EQ(guard.accept(restarted, kNow), Reject::none);
  // The old boot's messages can no longer be replayed, whatever their sequence.
  m.sequence += 1;
  EXPECT_EQ(guard.accept(m, kNow), Reject::replay);
  restarted.sequence = 2;
  EXPECT_EQ(guard.accept(restarted, kNow), Reject::none);
}

// A broker restarted after its clock stepped back has a smaller boot id. While a replay
// of the old boot could still be fresh it is refused; once the node has been silent for
// 2 x skew, every old message is stale, so the new boot is taken.
TEST(ReplayGuard, ABootIdFromAClockThatSteppedBackIsTakenAfterSilence) {
  ReplayGuard guard(30000);
  Message m = sample_message();
  ASSERT_EQ(guard.accept(m, kNow), Reject::none);
  Message stepped_back = m;
  stepped_back.boot_id -= 5;
  stepped_back.sequence = 1;
  stepped_back.sent_ms = kNow + 59000;
  EXPECT_EQ(guard.accept(stepped_back, kNow + 59000), Reject::replay) << "not silent long enough";
  stepped_back.sent_ms = kNow + 60001;
  EXPECT_EQ(guard.accept(stepped_back, kNow + 60001), Reject::none) << "silent for more than 2 x skew";
  Message old_boot = m;
  old_boot.sequence += 1;
  old_boot.sent_ms = kNow + 60002;
  EXPECT_EQ(guard.accept(old_boot, kNow + 60002), Reject::none)
      << "a larger boot id is always a restart (its own freshness is checked)";
}

TEST(ReplayGuard, NodesAreTrackedApart) {
  ReplayGuard guard;
  Message a = sample_message();
  ASSERT_EQ(guard.accept(a, kNow), Reject::none);
  Message other_port = a;
  other_port.service_port += 1;
  EXPECT_EQ(guard.accept(other_port, kNow), Reject::none);
  Message other_node = a;
  other_node.node_addr += 1;
  EXPECT_EQ(guard.accept(other_node, kNow), Reject::none);
  EXPECT_EQ(guard.accept(a, kNow), Reject::replay);
}

// load_key

class KeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "hbkey" + std::string(6, 'X');  // mkstemp template
    int fd = mkstemp(pattern.data());
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = pattern;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(const std::string& content) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << content;
  }
  std::string path_;
};

TEST_F(KeyFile, WhitespaceAroundTheKeyIsRemoved) {
  write("  \t0123456789abcdefgh\n\n");
  std::string error;
  Key key = load_key(path_, &error);
  EXPECT_EQ(key, kKey) << error;
  EXPECT_TRUE(error.empty());
}

TEST_F(KeyFile, InnerBytesAreKept) {
  write("abc def\x01ghijklmnop\n");
  std::string error;
  Key key = load_key(path_, &error);
  EXPECT_EQ(std::string(key.begin(), key.end()), "abc def\x01ghijklmnop");
}

TEST_F(KeyFile, TooShortIsRefused) {
  write("0123456789abcde\n");  // 15 bytes once the newline is gone
  std::string error;
  Key key = load_key(path_, &error);
  EXPECT_TRUE(key.empty());
  EXPECT_NE(error.find(path_), std::string::npos) << error;
  EXPECT_NE(error.find("15"), std::string::npos) << error;
  EXPECT_NE(error.find("16"), std::string::npos) << error;
}

TEST_F(KeyFile, ExactlyMinimumIsAccepted) {
  write("0123456789abcdef");
  std::string error;
  EXPECT_EQ(load_key(path_, &error).size(), kMinKeySize) << error;
}

TEST(KeyFileMissing, IsRefusedWithTheReason) {
  std::string path = ::testing::TempDir() + "no-such-dir-hb/key";
  std::string error;
  Key key = load_key(path, &error);
  EXPECT_TRUE(key.empty());
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

}  // namespace
}  // namespace lb::hb
