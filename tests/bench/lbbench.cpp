// lbbench: lbdp fed by a generator lcore, for flow counts too large to replay from a
// pcap held in memory (10 million flows cost nothing here: packets are built from
// templates, the 5-tuple derived from the flow index; workload.hpp).
//
// The generator lcore (the last EAL lcore) fills one rte_ring per worker; the rings are
// the RX queues of a net_ring port ("net_ring_gen", rte_eth_from_rings) that lbdp uses as
// its client port; replies lbdp sends back out of it are freed by the generator. The
// server port is whatever the config names (net_null in the benchmark).
//
//   lbbench [EAL options] -- -c CONFIG -w WORKLOAD [--duration S] [--warmup S] [--mbuf-priv BYTES]
//
// --mbuf-priv gives the generator's mbufs a private area of BYTES (a multiple of 8;
// default 0), so that their data is not where lbdp's receive path guesses it
// (prefetch.hpp) and lbdp takes its other way of prefetching packet data (the burst's
// own offset from mbuf to data): a pool of another layout, as some PMDs and
// applications use, for the smoke test.
//
// After the warm-up (for mix=established: until the generator has sent every flow's
// SYN and WARMUP seconds passed) it measures for DURATION seconds and prints one line:
//   lbbench mpps=.. cycles_per_packet=.. rx_cycles_per_packet=.. capacity_mpps=.. offered_mpps=.. busy=..%
//           flows=.. drops=.. bytes_per_flow=..
// then a "lbbench drop REASON N" line per drop reason of that window, and, once the
// generator has stopped and lbdp has drained its rings, the whole run's accounting:
//   lbbench totals sent=.. rx=.. tx=.. drops=.. flows=..
// (sent = rx = tx + drops when nothing was lost).
#include <getopt.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "app.hpp"
#include "flow_table.hpp"
#include "prefetch.hpp"
#include "workload.hpp"

namespace {

constexpr unsigned kRingSize = 4096;  // each worker's RX ring (and TX ring) on the generator port

struct Generator {
  lb::bench::WorkloadSpec spec;
  uint16_t port = 0;
  rte_mempool* pool = nullptr;
  uint32_t data_offset = 0;    // from an mbuf's address to its data, in this pool
  std::vector<rte_ring*> rx;   // lbdp's RX queues
  std::vector<rte_ring*> tx;   // lbdp's TX queues on the generator port
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> ring_full{0};
};

int generator_loop(void* arg) {
  auto* g = static_cast<Generator*>(arg);
  lb::bench::PacketCursor cursor(g->spec);
  constexpr unsigned kBurst = 32;
  rte_mbuf* pkts[kBurst];
  uint64_t sent = 0, full = 0;
  size_t queue = 0;
  while (!g->stop.load(std::memory_order_relaxed)) {
    for (rte_ring* r : g->tx) {  // what lbdp sent back out of this port
      void* back[kBurst];
      unsigned n = rte_ring_sc_dequeue_burst(r, back, kBurst, nullptr);
      if (n) rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(back), n);
    }
    rte_ring* ring = g->rx[queue];
    queue = (queue + 1) % g->rx.size();
    if (rte_ring_free_count(ring) < kBurst) {
      ++full;
      rte_pause();  // the worker is behind: spin politely
      continue;
    }
    // The mbufs come back from the worker's transmit (net_null frees them on its lcore),
    // so their lines sit in the other core's cache: request all of them for writing
    // first, so that the burst's transfers overlap instead of following one another
    // (rte_pktmbuf_alloc_bulk would write each header as it takes it). A pool object
    // is an mbuf with refcnt 1, as rte_pktmbuf_alloc_bulk takes it too.
    if (rte_mempool_get_bulk(g->pool, reinterpret_cast<void**>(pkts), kBurst) != 0) continue;
    for (unsigned i = 0; i < kBurst; ++i) {
      lb::prefetch_for_write(pkts[i]);
      lb::prefetch_for_write(RTE_PTR_ADD(pkts[i], RTE_CACHE_LINE_SIZE));
      lb::prefetch_for_write(RTE_PTR_ADD(pkts[i], g->data_offset));  // without reading the header
    }
    for (unsigned i = 0; i < kBurst; ++i) {
      rte_pktmbuf_reset(pkts[i]);
      uint8_t* data = rte_pktmbuf_mtod(pkts[i], uint8_t*);
      uint16_t len = cursor.next(data);
      pkts[i]->data_len = pkts[i]->pkt_len = len;
      pkts[i]->port = g->port;  // what a NIC's RX would set; the ring PMD does not
    }
    unsigned n = rte_ring_sp_enqueue_burst(ring, reinterpret_cast<void**>(pkts), kBurst, nullptr);
    if (n < kBurst) rte_pktmbuf_free_bulk(pkts + n, kBurst - n);
    sent += n;
    g->sent.store(sent, std::memory_order_relaxed);
    g->ring_full.store(full, std::memory_order_relaxed);
  }
  return 0;
}

[[noreturn]] void usage(const char* error) {
  if (error) std::fprintf(stderr, "lbbench: %s\n", error);
  std::fprintf(stderr, "usage: lbbench [EAL options] -- -c CONFIG -w WORKLOAD [--duration S] [--warmup S]\n"
                       "       [--mbuf-priv BYTES]\n"
                       "  the last EAL lcore generates; the others between main and it are lbdp workers;\n"
                       "  the config's client port must be device \"net_ring_gen\"\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int consumed = rte_eal_init(argc, argv);
  if (consumed < 0) {
    std::fprintf(stderr, "lbbench: EAL: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  argc -= consumed;
  argv += consumed;
  std::string config, workload;
  unsigned duration = 3, warmup = 1, mbuf_priv = 0;
  static const option longopts[] = {{"duration", required_argument, nullptr, 'd'},
                                    {"warmup", required_argument, nullptr, 'W'},
                                    {"mbuf-priv", required_argument, nullptr, 'P'},
                                    {nullptr, 0, nullptr, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:w:", longopts, nullptr)) != -1) {
    if (c == 'c') config = optarg;
    else if (c == 'w') workload = optarg;
    else if (c == 'd') duration = static_cast<unsigned>(std::atoi(optarg));
    else if (c == 'W') warmup = static_cast<unsigned>(std::atoi(optarg));
    else if (c == 'P') mbuf_priv = static_cast<unsigned>(std::atoi(optarg));
    else usage(nullptr);
  }
  if (config.empty() || workload.empty() || duration == 0) usage("-c and -w are required");
  if (mbuf_priv % RTE_MBUF_PRIV_ALIGN != 0 || mbuf_priv > 1024) usage("--mbuf-priv: a multiple of 8, at most 1024");
  std::string error;
  auto spec = lb::bench::parse_workload(workload, &error);
  if (!spec) usage(error.c_str());

  std::vector<unsigned> lcores;
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) lcores.push_back(lcore);
  if (lcores.size() < 2) usage("needs at least 3 lcores: main, worker(s), generator");
  unsigned gen_lcore = lcores.back();
  lcores.pop_back();

  Generator gen;
  gen.spec = *spec;
  // The pool a NIC's receive would draw from is lbdp's own (8191 mbufs in the
  // benchmark's configuration), so the generator's is about as small: a full ring per
  // worker and one ring more for what is in flight and in the lcores' caches (8191 with
  // one worker). A pool of 65535 (150 MB) cycled every mbuf through memory far from both
  // cores, and the generator could not keep lbdp's bursts full (docs/performance.md).
  const unsigned pool_size = kRingSize * static_cast<unsigned>(lcores.size() + 1) - 1;
  gen.pool = rte_pktmbuf_pool_create("gen_pool", pool_size, 256, static_cast<uint16_t>(mbuf_priv),
                                     RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (!gen.pool) usage("cannot create the generator's mbuf pool");
  gen.data_offset = static_cast<uint32_t>(sizeof(rte_mbuf) + mbuf_priv + RTE_PKTMBUF_HEADROOM);
  for (size_t q = 0; q < lcores.size(); ++q) {
    gen.rx.push_back(rte_ring_create(("gen_rx" + std::to_string(q)).c_str(), kRingSize, rte_socket_id(),
                                     RING_F_SP_ENQ | RING_F_SC_DEQ));
    gen.tx.push_back(rte_ring_create(("gen_tx" + std::to_string(q)).c_str(), kRingSize, rte_socket_id(),
                                     RING_F_SP_ENQ | RING_F_SC_DEQ));
  }
  int gen_port = rte_eth_from_rings("gen", gen.rx.data(), static_cast<unsigned>(gen.rx.size()), gen.tx.data(),
                                    static_cast<unsigned>(gen.tx.size()), rte_socket_id());
  char gen_name[RTE_ETH_NAME_MAX_LEN];
  if (gen_port < 0 || rte_eth_dev_get_name_by_port(static_cast<uint16_t>(gen_port), gen_name) != 0)
    usage("cannot create the generator port");
  gen.port = static_cast<uint16_t>(gen_port);

  int status = 0;
  {
    lb::Options options;
    options.config_path = config;
    options.worker_lcores = lcores;
    lb::App app(options);
    if (!app.start()) return 1;
    rte_eal_remote_launch(generator_loop, &gen, gen_lcore);
    const uint64_t hz = rte_get_tsc_hz();
    auto now_s = [&] { return static_cast<double>(rte_get_tsc_cycles()) / hz; };
    const uint64_t prefix = spec->mix == lb::bench::Mix::established ? spec->flows : 0;
    double warm_until = now_s() + warmup;
    bool running = true;
    while (running && (now_s() < warm_until || gen.sent.load() < prefix)) {
      running = app.tick();
      rte_delay_us_sleep(1000);
    }
    lb::LcoreCounters before = app.totals();
    uint64_t sent_before = gen.sent.load();
    double t0 = now_s(), t_end = t0 + duration;
    while (running && now_s() < t_end) {
      running = app.tick();
      rte_delay_us_sleep(1000);
    }
    lb::LcoreCounters after = app.totals();
    double dt = now_s() - t0;
    uint64_t sent_after = gen.sent.load();
    gen.stop.store(true);
    rte_eal_wait_lcore(gen_lcore);
    // Drain: once the workers have emptied the rings, every packet the generator sent
    // has been received and then transmitted or dropped. The totals line is what the
    // generator path's smoke test checks (tests/pipeline); waiting is bounded, and a
    // run that never balances prints its last reading.
    const uint64_t sent_total = gen.sent.load();
    lb::LcoreCounters end = app.totals();
    auto balanced = [&] {
      return end.get(lb::Event::rx) == sent_total && end.get(lb::Event::tx) + end.total_drops() == sent_total;
    };
    for (double give_up = now_s() + 3; running && !balanced() && now_s() < give_up; end = app.totals()) {
      running = app.tick();
      rte_delay_us_sleep(1000);
    }
    auto delta = [&](lb::Event e) { return after.get(e) - before.get(e); };
    uint64_t rx = delta(lb::Event::rx), busy = delta(lb::Event::busy_cycles);
    uint64_t drops = after.total_drops() - before.total_drops();
    double cpp = rx ? static_cast<double>(busy) / rx : 0;
    uint64_t passes = delta(lb::Event::busy_passes);
    const double rx_cpp = rx ? static_cast<double>(delta(lb::Event::rx_cycles)) / rx : 0;
    std::printf("lbbench workload=%s workers=%u mpps=%.3f cycles_per_packet=%.1f rx_cycles_per_packet=%.1f "
                "capacity_mpps=%.3f offered_mpps=%.3f busy=%.0f%% burst_fill=%.1f flows=%u drops=%lu evicted=%lu "
                "bytes_per_flow=%zu tsc_hz=%lu\n",
                lb::bench::describe(*spec).c_str(), app.workers(), rx / dt / 1e6, cpp, rx_cpp,
                cpp > 0 ? hz / cpp / 1e6 * app.workers() : 0.0, (sent_after - sent_before) / dt / 1e6,
                100.0 * busy / (dt * hz * app.workers()), passes ? static_cast<double>(rx) / passes : 0.0,
                app.flows_in_tables(), drops,
                delta(lb::Event::flows_evicted), lb::FlowTable::memory_bytes(1u << 20) >> 20,
                hz);
    for (unsigned i = 0; i < lb::kDropCount; ++i)
      if (after.drops[i] != before.drops[i])
        std::printf("lbbench drop %s %lu\n", lb::kDropNames[i], after.drops[i] - before.drops[i]);
    std::printf("lbbench totals sent=%lu rx=%lu tx=%lu drops=%lu flows=%u\n", sent_total, end.get(lb::Event::rx),
                end.get(lb::Event::tx), end.total_drops(), app.flows_in_tables());
    std::fflush(stdout);
  }
  rte_eal_cleanup();
  return status;
}
