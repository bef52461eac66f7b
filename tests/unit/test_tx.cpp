// Worker::queue_tx / flush_tx against a real ethdev: a ring-backed port (net_ring,
// rte_eth_from_rings) whose TX ring is small and never drained, so a burst is only
// partly taken. Checks what the port took, what it refused (counted as tx_full and
// freed, not leaked), and that tx_bytes counts only the bytes the port took.
//
// Needs the EAL (no hugepages, no PCI): a global environment starts it once.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "snapshot.hpp"
#include "worker.hpp"

namespace lb {
namespace {

class EalEnvironment : public testing::Environment {
 public:
  void SetUp() override {
    // --no-huge excludes --in-memory; a prefix of our own keeps runtime files apart.
    prefix_ = "tx_tests" + std::to_string(getpid());
    const char* args[] = {"tx_tests", "--no-huge", "-m", "64", "--no-pci", "--no-telemetry", "-l", "0",
                          "--file-prefix", prefix_.c_str(), "--log-level=lib.eal:error"};
    int argc = static_cast<int>(sizeof(args) / sizeof(args[0]));
    ASSERT_GE(rte_eal_init(argc, const_cast<char**>(args)), 0) << "rte_eal_init: " << rte_strerror(rte_errno);
  }
  void TearDown() override {
    const std::string dir = rte_eal_get_runtime_dir();  // EAL leaves it behind
    rte_eal_cleanup();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

 private:
  std::string prefix_;
};
[[maybe_unused]] testing::Environment* const kEal = testing::AddGlobalTestEnvironment(new EalEnvironment);

constexpr unsigned kPoolSize = 255;

// One ring-backed port: TX into a ring of `tx_slots` (a DPDK ring of size N holds N - 1).
struct RingPort {
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;
  uint16_t port = 0;

  RingPort(const std::string& name, unsigned tx_slots, rte_mempool* pool) {
    rx = rte_ring_create((name + "_rx").c_str(), 16, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    tx = rte_ring_create((name + "_tx").c_str(), tx_slots, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    EXPECT_NE(rx, nullptr);
    EXPECT_NE(tx, nullptr);
    const int id = rte_eth_from_rings(name.c_str(), &rx, 1, &tx, 1, SOCKET_ID_ANY);
    EXPECT_GE(id, 0) << "rte_eth_from_rings " << name;
    port = static_cast<uint16_t>(id);
    // The fast-path functions are installed at start: until then tx_burst takes nothing.
    rte_eth_conf conf{};
    EXPECT_EQ(rte_eth_dev_configure(port, 1, 1, &conf), 0);
    EXPECT_EQ(rte_eth_rx_queue_setup(port, 0, 16, SOCKET_ID_ANY, nullptr, pool), 0);
    EXPECT_EQ(rte_eth_tx_queue_setup(port, 0, 16, SOCKET_ID_ANY, nullptr), 0);
    EXPECT_EQ(rte_eth_dev_start(port), 0);
  }
  // Frees what the port took, so the pool's count shows every mbuf came back.
  void drain() {
    void* m = nullptr;
    while (rte_ring_dequeue(tx, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
  }
  ~RingPort() {
    drain();
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_ring_free(rx);
    rte_ring_free(tx);
  }
};

class TxTest : public testing::Test {
 protected:
  void SetUp() override {
    static int serial = 0;
    pool_ = rte_pktmbuf_pool_create(("tx_test_" + std::to_string(serial++)).c_str(), kPoolSize, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr) << rte_strerror(rte_errno);
    worker_ = std::make_unique<Worker>();
  }
  void TearDown() override {
    worker_.reset();
    rte_mempool_free(pool_);
  }
  void add_port(const RingPort& p) { snap_.ports.push_back(PortSnap{0, p.port, false, 0}); }
  // A packet of `len` bytes (contents do not matter to TX).
  rte_mbuf* packet(uint16_t len) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    EXPECT_NE(rte_pktmbuf_append(m, len), nullptr);
    return m;
  }
  unsigned in_pool() const { return rte_mempool_avail_count(pool_); }
  uint64_t tx() const { return worker_->counters.get(Event::tx); }
  uint64_t tx_bytes() const { return worker_->counters.get(Event::tx_bytes); }
  uint64_t tx_full() const { return worker_->counters.get(Drop::tx_full); }

  rte_mempool* pool_ = nullptr;
  std::unique_ptr<Worker> worker_;
  Snapshot snap_;
};

TEST_F(TxTest, RefusedPacketsAreCountedFreedAndLeftOutOfTxBytes) {
  RingPort port("txfull", 16, pool_);  // takes 15
  add_port(port);
  std::vector<uint16_t> lens;
  for (uint16_t i = 0; i < 40; ++i) {
    lens.push_back(static_cast<uint16_t>(60 + 7 * i));  // all different: a wrong sum shows
    worker_->queue_tx(packet(lens.back()), 0, snap_);
  }
  ASSERT_EQ(worker_->tx_count[0], 40u) << "40 < kTxBufferSize: nothing sent yet";
  EXPECT_EQ(in_pool(), kPoolSize - 40);

  worker_->flush_tx(snap_);
  EXPECT_EQ(worker_->tx_count[0], 0u);
  EXPECT_EQ(tx(), 15u);
  EXPECT_EQ(tx_full(), 25u);
  EXPECT_EQ(tx_bytes(), std::accumulate(lens.begin(), lens.begin() + 15, uint64_t{0}))
      << "only the bytes of the packets the port took";
  EXPECT_EQ(rte_ring_count(port.tx), 15u);
  EXPECT_EQ(in_pool(), kPoolSize - 15) << "the 25 refused mbufs go back to the pool";

  // The port's 15 are the first 15 queued, in order.
  for (uint16_t i = 0; i < 15; ++i) {
    void* m = nullptr;
    ASSERT_EQ(rte_ring_dequeue(port.tx, &m), 0);
    EXPECT_EQ(rte_pktmbuf_pkt_len(static_cast<rte_mbuf*>(m)), lens[i]) << "packet " << i;
    rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
  }
  EXPECT_EQ(in_pool(), kPoolSize);
}

TEST_F(TxTest, FullQueueSendsEveryPortsQueue) {
  RingPort a("txa", 256, pool_), b("txb", 256, pool_);
  add_port(a);
  add_port(b);
  for (int i = 0; i < 5; ++i) worker_->queue_tx(packet(100), 1, snap_);
  for (uint16_t i = 0; i + 1 < kTxBufferSize; ++i) worker_->queue_tx(packet(64), 0, snap_);
  EXPECT_EQ(tx(), 0u) << "no queue full yet";
  worker_->queue_tx(packet(64), 0, snap_);  // port 0's queue is full: both go out

  EXPECT_EQ(worker_->tx_count[0], 0u);
  EXPECT_EQ(worker_->tx_count[1], 0u);
  EXPECT_EQ(rte_ring_count(a.tx), kTxBufferSize);
  EXPECT_EQ(rte_ring_count(b.tx), 5u);
  EXPECT_EQ(tx(), kTxBufferSize + 5u);
  EXPECT_EQ(tx_bytes(), 64u * kTxBufferSize + 500u);
  EXPECT_EQ(tx_full(), 0u);
  a.drain();
  b.drain();
  EXPECT_EQ(in_pool(), kPoolSize);
}

TEST_F(TxTest, PortThatTakesNothingLosesNoMbuf) {
  RingPort port("txnone", 1, pool_);  // a ring of size 1 holds nothing
  add_port(port);
  for (int i = 0; i < 10; ++i) worker_->queue_tx(packet(80), 0, snap_);
  worker_->flush_tx(snap_);
  EXPECT_EQ(tx(), 0u);
  EXPECT_EQ(tx_bytes(), 0u);
  EXPECT_EQ(tx_full(), 10u);
  EXPECT_EQ(in_pool(), kPoolSize);
}

}  // namespace
}  // namespace lb
