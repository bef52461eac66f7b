#include "app.hpp"

#include <getopt.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "arp.hpp"
#include "packet.hpp"
#include "telemetry.hpp"
#include "stats.hpp"

namespace lb {

namespace {

volatile std::sig_atomic_t g_quit = 0;
volatile std::sig_atomic_t g_print_stats = 0;
volatile std::sig_atomic_t g_reload = 0;

void on_signal(int sig) {
  if (sig == SIGUSR1) g_print_stats = 1;
  else if (sig == SIGHUP) g_reload = 1;
  else g_quit = 1;
}

uint64_t now_ms() { return rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000); }

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto l = spdlog::default_logger()->clone("lbdp");
    return l;
  }();
  return logger;
}

[[noreturn]] void usage(const char* prog, const char* error) {
  if (error) std::fprintf(stderr, "%s: %s\n", prog, error);
  std::fprintf(stderr,
               "usage: %s [EAL options] -- -c FILE [-i] [--socket PATH] [--idle-exit MS] [--duration S]\n"
               "       [--warmup S]\n"
               "       %s --check-config FILE\n"
               "  -c, --config FILE   dataplane configuration (TOML, docs/configuration.md)\n"
               "  -i, --interactive   a command prompt on the terminal (type help)\n"
               "  --socket PATH       command socket for lbctl (default /run/lbdp.sock; \"\" for none)\n"
               "  --idle-exit MS      exit once no packet has arrived for MS ms (pcap replay)\n"
               "  --duration S        exit after S seconds\n"
               "  --warmup S          clear the statistics after S seconds; --duration starts then\n"
               "  --check-config FILE validate FILE, print its errors, exit (no EAL needed)\n",
               prog, prog);
  std::exit(2);
}

uint32_t parse_number(const char* prog, const char* text, const char* what) {
  char* end = nullptr;
  unsigned long v = std::strtoul(text, &end, 10);
  if (!*text || *end || v > 0xffffffffu) usage(prog, (std::string(what) + " needs a number").c_str());
  return static_cast<uint32_t>(v);
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  static const option longopts[] = {{"config", required_argument, nullptr, 'c'},
                                    {"interactive", no_argument, nullptr, 'i'},
                                    {"socket", required_argument, nullptr, 'S'},
                                    {"idle-exit", required_argument, nullptr, 'I'},
                                    {"duration", required_argument, nullptr, 'D'},
                                    {"warmup", required_argument, nullptr, 'W'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "c:ih", longopts, nullptr)) != -1) {
    switch (c) {
      case 'c': o.config_path = optarg; break;
      case 'i': o.interactive = true; break;
      case 'S': o.socket_path = optarg; break;
      case 'I': o.idle_exit_ms = parse_number(argv[0], optarg, "--idle-exit"); break;
      case 'D': o.duration_s = parse_number(argv[0], optarg, "--duration"); break;
      case 'W': o.warmup_s = parse_number(argv[0], optarg, "--warmup"); break;
      case 'h': usage(argv[0], nullptr);
      default: usage(argv[0], "unknown option");
    }
  }
  if (optind != argc) usage(argv[0], "unexpected argument");
  if (o.config_path.empty()) usage(argv[0], "-c FILE is required");
  return o;
}

const App::Step App::kSteps[] = {
    {"config", &App::init_config, &App::noop},
    {"mbuf pool", &App::init_mempool, &App::fini_mempool},
    {"ports", &App::init_ports, &App::fini_ports},
    {"shared state", &App::init_shared, &App::fini_shared},
    {"snapshot", &App::init_snapshot, &App::fini_snapshot},
    {"workers", &App::init_workers, &App::fini_workers},
    {"control plane link", &App::init_controlplane, &App::fini_controlplane},
    {"launch", &App::launch_workers, &App::stop_workers},
};

bool App::start() {
  // A step counts as begun before its init runs, so a step that fails half-way is torn
  // down too (every fini copes with partial state).
  for (const Step& step : kSteps) {
    ++steps_done_;
    if (!(this->*step.init)()) {
      log()->error("start-up failed at step '{}'", step.name);
      return false;
    }
  }
  return true;
}

App::~App() {
  while (steps_done_ > 0) {
    --steps_done_;
    (this->*kSteps[steps_done_].fini)();
  }
}

bool App::init_config() {
  ConfigResult r = load_config(options_.config_path);
  for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!r.config) return false;
  config_ = std::move(*r.config);
  worker_lcores_ = options_.worker_lcores;
  if (worker_lcores_.empty()) {
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) worker_lcores_.push_back(lcore);
  }
  size_t workers = worker_lcores_.size();
  if (workers == 0 || workers > kMaxWorkers) {
    log()->error("need 2 to {} lcores (one main, the rest workers); EAL gave {} (use -l or --lcores)",
                 kMaxWorkers + 1, rte_lcore_count());
    return false;
  }
  return true;
}

bool App::init_mempool() {
  pool_ = rte_pktmbuf_pool_create("lbdp_mbufs", config_.dataplane.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                  static_cast<int>(rte_socket_id()));
  if (!pool_)
    log()->error("{}: dataplane.mbufs: cannot create a pool of {} mbufs: {} (lower it or reserve more hugepages)",
                 config_.source, config_.dataplane.mbufs, rte_strerror(rte_errno));
  return pool_ != nullptr;
}

void App::fini_mempool() { rte_mempool_free(pool_); }

bool App::init_ports() {
  const uint16_t workers = static_cast<uint16_t>(worker_lcores_.size());
  const auto& dp = config_.dataplane;
  for (const PortConfig& pc : config_.ports) {
    uint16_t id;
    if (rte_eth_dev_get_port_by_name(pc.device.c_str(), &id) != 0) {
      log()->error("{}:{}: port '{}': DPDK device '{}' not found (give it to EAL with --vdev or -a)",
                   config_.source, pc.line, pc.name, pc.device);
      return false;
    }
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(id, &info) != 0) return false;
    uint16_t rxq = std::min<uint16_t>(workers, info.max_rx_queues);
    if (info.max_tx_queues < workers) {
      log()->error("{}:{}: port '{}' ({}) has {} TX queues; {} workers need one each (af_packet: add qpairs={}; "
                   "pcap: one tx_pcap per worker)",
                   config_.source, pc.line, pc.name, pc.device, info.max_tx_queues, workers, workers);
      return false;
    }
    rte_eth_conf conf{};
    if (rxq > 1 && info.flow_type_rss_offloads) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
    }
    bool rx_csum = info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    if (rx_csum) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    int rc = rte_eth_dev_configure(id, rxq, workers, &conf);
    if (rc != 0) {
      log()->error("port '{}': configure failed: {}", pc.name, rte_strerror(-rc));
      return false;
    }
    uint16_t nb_rxd = dp.rx_descriptors, nb_txd = dp.tx_descriptors;
    rte_eth_dev_adjust_nb_rx_tx_desc(id, &nb_rxd, &nb_txd);
    for (uint16_t q = 0; q < rxq; ++q)
      if ((rc = rte_eth_rx_queue_setup(id, q, nb_rxd, rte_eth_dev_socket_id(id), nullptr, pool_)) != 0) {
        log()->error("port '{}': rx queue {} setup failed: {}", pc.name, q, rte_strerror(-rc));
        return false;
      }
    for (uint16_t q = 0; q < workers; ++q)
      if ((rc = rte_eth_tx_queue_setup(id, q, nb_txd, rte_eth_dev_socket_id(id), nullptr)) != 0) {
        log()->error("port '{}': tx queue {} setup failed: {}", pc.name, q, rte_strerror(-rc));
        return false;
      }
    dpdk_ports_.push_back(id);
    port_rx_queues_.push_back(rxq);
    port_started_.push_back(false);
    if ((rc = rte_eth_dev_start(id)) != 0) {
      log()->error("port '{}': start failed: {}", pc.name, rte_strerror(-rc));
      return false;
    }
    port_started_.back() = true;
    rte_ether_addr mac;
    rte_eth_macaddr_get(id, &mac);
    Mac m;
    std::copy(std::begin(mac.addr_bytes), std::end(mac.addr_bytes), m.bytes.begin());
    port_macs_.push_back(m.pack());
    log()->info("port '{}' = dpdk port {} ({}), mac {}, {} rx / {} tx queues, {} {}", pc.name, id, pc.device,
                to_string(m), rxq, workers, to_string(pc.address.addr), rx_csum ? "(rx ip checksum offload)" : "");
  }
  return true;
}

void App::fini_ports() {
  for (size_t i = 0; i < dpdk_ports_.size(); ++i) {
    if (port_started_[i]) rte_eth_dev_stop(dpdk_ports_[i]);
    rte_eth_dev_close(dpdk_ports_[i]);  // also flushes pcap writers
  }
}

bool App::init_shared() {
  shared_ = new DataplaneShared();
  shared_->workers = static_cast<uint16_t>(worker_lcores_.size());
  shared_->burst = config_.dataplane.burst;
  shared_->idle_sleep_us = config_.dataplane.idle_sleep_us;
  size_t qsbr_size = rte_rcu_qsbr_get_memsize(shared_->workers);
  shared_->qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc("lbdp_qsbr", qsbr_size, RTE_CACHE_LINE_SIZE));
  if (!shared_->qsbr || rte_rcu_qsbr_init(shared_->qsbr, shared_->workers) != 0) {
    log()->error("cannot set up RCU");
    return false;
  }
  neighbour_macs_ = new NeighbourMacs();
  for (auto& s : neighbour_macs_->slot) s.store(0);
  shared_->neighbour_macs = neighbour_macs_;
  neighbours_ = std::make_unique<NeighbourTable>(neighbour_macs_, config_.dataplane.neighbour_lifetime_s * 1000);
  for (const NeighbourConfig& n : config_.neighbours) {
    auto route = route_to(config_, n.address, true);
    if (!route || route->next_hop != n.address) {
      log()->error("{}:{}: neighbour {} is on no port's subnet", config_.source, n.line, to_string(n.address));
      return false;
    }
    try {
      neighbours_->add_static(n.address, route->port_index, n.mac);
    } catch (const std::exception& e) {
      log()->error("{}:{}: neighbour: {}", config_.source, n.line, e.what());
      return false;
    }
  }
  return true;
}

void App::fini_shared() {
  if (shared_) rte_free(shared_->qsbr);
  delete shared_;
  delete neighbour_macs_;
  shared_ = nullptr;
}

bool App::init_snapshot() {
  ids_ = std::make_unique<BackendIds>([this](uint16_t id) { return backend_totals(*shared_, id, nullptr).open; });
  try {
    ids_->begin_build();
    auto snap = build_snapshot(config_, shared_->workers, dpdk_ports_, port_macs_, *neighbours_, *ids_,
                               ++generation_, accepting_);
    ids_->end_build();
    shared_->snapshot.store(snap.release(), std::memory_order_release);
  } catch (const std::exception& e) {
    log()->error("building the configuration snapshot: {}", e.what());
    return false;
  }
  return true;
}

ControlResult App::publish(Config next, bool accepting) {
  BackendIds trial = *ids_;
  std::unique_ptr<Snapshot> snap;
  try {
    trial.begin_build();
    snap = build_snapshot(next, shared_->workers, dpdk_ports_, port_macs_, *neighbours_, trial, generation_ + 1,
                          accepting, &health_);
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
  ++generation_;
  const Snapshot* old = shared_->snapshot.exchange(snap.release(), std::memory_order_acq_rel);
  // Every worker passes a quiescent state once per loop pass; after that none can still
  // be reading the old snapshot.
  rte_rcu_qsbr_synchronize(shared_->qsbr, RTE_QSBR_THRID_INVALID);
  delete old;
  trial.end_build();
  *ids_ = std::move(trial);
  config_ = std::move(next);
  accepting_ = accepting;
  // A new backend's next hop is unresolved: ask for its MAC now rather than at the next
  // tick, so its first SYNs are not dropped as neighbour_unresolved.
  neighbours_->poll(now_ms(), [&](uint16_t port_index, Ipv4 target) {
    if (rte_mbuf* m = arp_request(pool_, *shared_->snapshot.load(), port_index, target)) send_control(m);
  });
  cp_link_.post_event(shm::EventKind::snapshot_published, generation_);
  cp_stats_ms_ = 0;  // lbcp sees the new backend table at the next tick
  return {true, ""};
}

ControlResult App::change(const std::function<std::string(Config&)>& edit) {
  Config next = config_;
  if (std::string refused = edit(next); !refused.empty()) return {false, refused};
  std::vector<std::string> errors = validate_config(next);
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
    return {false, all};
  }
  return publish(std::move(next), accepting_);
}

ControlResult App::set_accepting(bool accepting) {
  if (accepting == accepting_) return {true, accepting ? "already started" : "already stopped"};
  return publish(config_, accepting);
}

ControlResult App::reload() {
  ConfigResult r = load_config(options_.config_path);
  if (!r.config) {
    std::string all;
    for (const auto& e : r.errors) all += (all.empty() ? "" : "\n") + e;
    return {false, all + "\nreload refused; the running configuration stays"};
  }
  Config& next = *r.config;
  std::string restart;
  if (next.ports.size() != config_.ports.size()) restart = "the ports";
  for (size_t i = 0; restart.empty() && i < next.ports.size(); ++i) {
    const PortConfig &a = next.ports[i], &b = config_.ports[i];
    if (a.name != b.name || a.device != b.device || a.role != b.role || !(a.address.addr == b.address.addr) ||
        a.address.len != b.address.len || a.gateway != b.gateway)
      restart = "port '" + b.name + "'";
  }
  const DataplaneConfig &d = next.dataplane, &o = config_.dataplane;
  if (restart.empty() && (d.flows_per_worker != o.flows_per_worker || d.mbufs != o.mbufs ||
                          d.rx_descriptors != o.rx_descriptors || d.tx_descriptors != o.tx_descriptors ||
                          d.burst != o.burst || d.idle_sleep_us != o.idle_sleep_us ||
                          d.neighbour_lifetime_s != o.neighbour_lifetime_s || d.syn_timeout_s != o.syn_timeout_s ||
                          d.established_timeout_s != o.established_timeout_s ||
                          d.closing_timeout_s != o.closing_timeout_s))
    restart = "[dataplane] or [timeouts]";
  if (restart.empty() && (next.controlplane.shm != config_.controlplane.shm ||
                          next.controlplane.heartbeat_port != config_.controlplane.heartbeat_port))
    restart = "[controlplane]";
  if (!restart.empty())
    return {false, next.source + ": " + restart + " changed; that needs a restart of lbdp. reload refused; the "
                   "running configuration stays"};
  if (next.neighbours.size() + neighbours_->entries().size() > kMaxNeighbours)
    return {false, next.source + ": too many neighbours in all; reload refused"};
  const std::vector<NeighbourConfig> old_statics = config_.neighbours, new_statics = next.neighbours;
  ControlResult published = publish(std::move(next), accepting_);
  if (!published.ok) return published;
  // Static neighbours change only once the new configuration is in force.
  for (const NeighbourConfig& o : old_statics) {
    bool kept = false;
    for (const NeighbourConfig& n : new_statics) kept |= n.address == o.address;
    auto route = route_to(config_, o.address, true);
    if (!kept && route) neighbours_->forget_static(o.address, route->port_index);
  }
  for (const NeighbourConfig& n : new_statics) {
    auto route = route_to(config_, n.address, true);
    if (route && route->next_hop == n.address) neighbours_->add_static(n.address, route->port_index, n.mac);
  }
  return published;
}

void App::print_stats(std::FILE* out) const {
  lb::print_stats(out, config_, *shared_, *shared_->snapshot.load(), main_counters_, &baseline_);
}

void App::clear_stats() {
  baseline_ = take_baseline(*shared_, main_counters_);
  for (uint16_t p : dpdk_ports_) rte_eth_stats_reset(p);
}

void App::fini_snapshot() {
  if (shared_) delete shared_->snapshot.exchange(nullptr);
}

bool App::init_workers() {
  const uint16_t n = shared_->workers;
  const auto& dp = config_.dataplane;
  FlowTable::Timeouts timeouts{dp.syn_timeout_s * 1000, dp.established_timeout_s * 1000,
                               dp.closing_timeout_s * 1000};
  const size_t table_bytes = FlowTable::memory_bytes(dp.flows_per_worker);  // each worker's
  for (uint16_t w = 0; w < n; ++w) {
    int socket = static_cast<int>(rte_lcore_to_socket_id(worker_lcores_[w]));
    auto* wk = static_cast<Worker*>(rte_zmalloc_socket("lbdp_worker", sizeof(Worker), 64, socket));
    if (!wk) return false;
    new (wk) Worker();
    workers_.push_back(wk);
    shared_->worker[w] = wk;
    wk->index = w;
    wk->shared = shared_;
    wk->tx_queue = w;
    for (size_t p = 0; p < dpdk_ports_.size(); ++p)
      if (w < port_rx_queues_[p]) wk->rx[wk->rx_count++] = Worker::RxQueue{dpdk_ports_[p], w};
    void* mem = rte_malloc_socket("lbdp_flows", table_bytes, 64, socket);
    void* table = rte_malloc_socket("lbdp_flow_table", sizeof(FlowTable), 64, socket);
    wk->backends = static_cast<BackendCounters*>(
        rte_zmalloc_socket("lbdp_backend_counters", sizeof(BackendCounters) * kMaxBackends, 64, socket));
    if (!mem || !table || !wk->backends) {
      log()->error("cannot allocate the flow table of worker {} ({} flows, {} MiB); lower flows_per_worker or "
                   "reserve more hugepages",
                   w, dp.flows_per_worker, table_bytes >> 20);
      rte_free(mem);
      rte_free(table);
      return false;
    }
    wk->flows = new (table) FlowTable(mem, dp.flows_per_worker, timeouts, worker_flow_remove_hook(), wk);
    char name[RTE_RING_NAMESIZE];
    std::snprintf(name, sizeof name, "lbdp_slow_%u", w);
    wk->slowpath_out = rte_ring_create(name, 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!wk->slowpath_out) return false;
    rings_.push_back(wk->slowpath_out);
    std::snprintf(name, sizeof name, "lbdp_beat_%u", w);
    wk->heartbeat_out = rte_ring_create(name, 256, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!wk->heartbeat_out) return false;
    rings_.push_back(wk->heartbeat_out);
  }
  for (uint16_t from = 0; from < n && n > 1; ++from)
    for (uint16_t to = 0; to < n; ++to) {
      if (from == to) continue;
      char name[RTE_RING_NAMESIZE];
      std::snprintf(name, sizeof name, "lbdp_ho_%u_%u", from, to);
      rte_ring* r = rte_ring_create(name, 4096, rte_lcore_to_socket_id(worker_lcores_[to]),
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!r) return false;
      rings_.push_back(r);
      workers_[from]->handoff_out[to] = r;
      workers_[to]->handoff_in[from] = r;
    }
  control_tx_ = rte_ring_create("lbdp_control_tx", 1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (!control_tx_) return false;
  rings_.push_back(control_tx_);
  workers_[0]->control_tx = control_tx_;
  log()->info("{} worker lcore(s), {} flows each ({} bytes per flow, {}-byte entries, {} MiB per table)", n,
              dp.flows_per_worker, table_bytes / dp.flows_per_worker, sizeof(Flow), table_bytes >> 20);
  return true;
}

void App::fini_workers() {
  for (rte_ring* r : rings_) {
    void* m;
    while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    rte_ring_free(r);
  }
  for (Worker* wk : workers_) {
    if (wk->flows && wk->flows->capacity() > 0) {
      // The entries' memory starts at the table's first flow.
      void* mem = const_cast<Flow*>(&wk->flows->entry(0));
      wk->flows->~FlowTable();
      rte_free(mem);
      rte_free(wk->flows);
    }
    rte_free(wk->backends);
    wk->~Worker();
    rte_free(wk);
  }
}

bool App::launch_workers() {
  launched_ = true;  // even a partial launch must be stopped (stop_workers)
  register_telemetry(shared_, &main_counters_);
  for (size_t w = 0; w < workers_.size(); ++w)
    if (rte_eal_remote_launch(Worker::main_loop, workers_[w], worker_lcores_[w]) != 0) return false;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGUSR1, on_signal);
  std::signal(SIGHUP, on_signal);
  log()->info("forwarding: {} VIP(s); SIGUSR1 prints statistics", config_.vips.size());
  return true;
}

// Stops RX, lets every worker finish what is in its hand-off rings and TX buffers
// (three more passes each), then ends the loops.
void App::stop_workers() {
  if (!launched_) return;
  register_telemetry(nullptr, &main_counters_);  // the telemetry thread must not read what teardown frees
  shared_->stop_rx.store(true);
  // Phase 1: every worker has begun a pass after stop_rx, so none receives any more and
  // no new hand-offs start. Phase 2: every worker completes two more passes, draining
  // whatever was handed to it in the meantime.
  uint64_t deadline = now_ms() + 2000;
  auto passes = [&](uint64_t extra) {
    std::vector<uint64_t> seen;
    for (Worker* wk : workers_) seen.push_back(wk->iterations.load());
    for (size_t w = 0; w < workers_.size(); ++w)
      while (workers_[w]->iterations.load() < seen[w] + extra && now_ms() < deadline) rte_pause();
  };
  passes(1);
  passes(2);
  shared_->quit.store(true, std::memory_order_release);
  rte_eal_mp_wait_lcore();
  print_stats(stdout);
  launched_ = false;
}

void App::send_control(rte_mbuf* m) {
  if (rte_ring_sp_enqueue(control_tx_, m) != 0) rte_pktmbuf_free(m);
}

void App::poll_slowpath(uint64_t now) {
  const Snapshot& snap = *shared_->snapshot.load(std::memory_order_acquire);
  for (Worker* wk : workers_) {
    void* pkts[32];
    unsigned n = rte_ring_sc_dequeue_burst(wk->slowpath_out, pkts, 32, nullptr);
    for (unsigned i = 0; i < n; ++i)
      if (rte_mbuf* reply = arp_input(static_cast<rte_mbuf*>(pkts[i]), snap, *neighbours_, now)) {
        main_counters_.count(Event::arp_replies_sent);
        send_control(reply);
      }
    n = rte_ring_sc_dequeue_burst(wk->heartbeat_out, pkts, 32, nullptr);
    for (unsigned i = 0; i < n; ++i) slowpath_heartbeat(static_cast<rte_mbuf*>(pkts[i]));
  }
  neighbours_->poll(now, [&](uint16_t port_index, Ipv4 target) {
    if (rte_mbuf* m = arp_request(pool_, snap, port_index, target)) send_control(m);
  });
}

// A heartbeat datagram a worker steered here (it parsed it: IPv4 without options, UDP);
// parsed again for the offsets, trusting the checksum the worker checked.
void App::slowpath_heartbeat(rte_mbuf* m) {
  const auto* frame = rte_pktmbuf_mtod(m, const uint8_t*);
  Parsed p;
  Drop why;
  if (parse_frame(frame, rte_pktmbuf_data_len(m), IpChecksum::trusted_good, &p, &why) && p.l3 == L3::ipv4 &&
      p.proto == kProtoUdp) {
    const auto* ip = reinterpret_cast<const Ipv4Hdr*>(frame + p.l3_offset);
    const auto* udp = reinterpret_cast<const UdpHdr*>(frame + p.l4_offset);
    uint32_t udp_len = ntoh16(udp->len_be);
    uint32_t room = p.ip_len - (p.l4_offset - p.l3_offset);
    if (udp_len >= sizeof(UdpHdr) && udp_len <= room)
      cp_link_.heartbeat(frame + p.l4_offset + sizeof(UdpHdr), udp_len - sizeof(UdpHdr), ip->saddr_be, udp->sport_be,
                         main_counters_);
    else
      main_counters_.drop(Drop::heartbeat_malformed);
  } else {
    main_counters_.drop(Drop::heartbeat_malformed);
  }
  rte_pktmbuf_free(m);
}

// Commands and frames from lbcp; the stats area for it every 100 ms.
void App::poll_controlplane(uint64_t now) {
  if (!cp_link_.active()) return;
  cp_link_.alive();
  if (cp_link_.take_commands(health_, main_counters_)) {
    ControlResult r = publish(config_, accepting_);
    if (!r.ok) log()->error("applying backend health from lbcp: {}", r.message);
  }
  cp_link_.take_transmits(
      [&](uint16_t port_index, const uint8_t* data, uint16_t length) {
        if (port_index >= dpdk_ports_.size()) return;
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        if (!m) return;
        char* dst = rte_pktmbuf_append(m, length);
        if (!dst) return rte_pktmbuf_free(m);
        std::memcpy(dst, data, length);
        m->port = dpdk_ports_[port_index];
        send_control(m);
      },
      main_counters_);
  if (now - cp_stats_ms_ >= 100) {
    cp_stats_ms_ = now;
    cp_link_.publish_stats(snapshot(), totals(), [&](uint16_t id) {
      return static_cast<uint32_t>(backend_totals(*shared_, id, nullptr).open);
    });
  }
}

bool App::init_controlplane() {
  const std::string& name = config_.controlplane.shm;
  if (name.empty()) return true;
  std::string error;
  if (!cp_link_.open(name, &error)) {
    log()->error("control plane link: {}", error);
    return false;
  }
  cp_link_.post_event(shm::EventKind::started, generation_);
  poll_controlplane(now_ms());
  log()->info("control plane link: shared memory {}, heartbeats to UDP port {}", name,
              config_.controlplane.heartbeat_port);
  return true;
}

void App::fini_controlplane() { cp_link_.close(); }

LcoreCounters App::totals() const {
  LcoreCounters sum = main_counters_;
  for (const Worker* wk : workers_) {
    for (unsigned i = 0; i < kEventCount; ++i) sum.events[i] += wk->counters.events[i];
    for (unsigned i = 0; i < kDropCount; ++i) sum.drops[i] += wk->counters.drops[i];
  }
  return sum;
}

uint64_t App::total_rx() const {
  uint64_t sum = 0;
  for (const Worker* wk : workers_) sum += wk->counters.get(Event::rx);
  return sum;
}

bool App::tick() {
  uint64_t now = now_ms();
  if (run_started_ms_ == 0) run_started_ms_ = last_rx_change_ms_ = now;
  poll_slowpath(now);
  poll_controlplane(now);
  if (g_print_stats) {
    g_print_stats = 0;
    print_stats(stdout);
  }
  if (g_reload) {
    g_reload = 0;
    ControlResult r = reload();
    if (r.ok) log()->info("SIGHUP: reloaded {}", options_.config_path);
    else log()->error("SIGHUP: {}", r.message);
  }
  if (g_quit) return false;
  if (options_.warmup_s && !warmed_up_ && now - run_started_ms_ >= options_.warmup_s * 1000ull) {
    // A replay's first pass creates the flows; what follows is the steady state.
    clear_stats();
    warmed_up_ = true;
    run_started_ms_ = now;
  }
  if (options_.duration_s && (warmed_up_ || !options_.warmup_s) &&
      now - run_started_ms_ >= options_.duration_s * 1000ull)
    return false;
  if (options_.idle_exit_ms) {
    uint64_t rx = total_rx();
    if (rx != last_rx_) last_rx_ = rx, last_rx_change_ms_ = now;
    else if (now - last_rx_change_ms_ >= options_.idle_exit_ms) return false;
  }
  return true;
}

void App::run() {
  while (tick()) rte_delay_us_sleep(1000);
  log()->info("stopping");
}

}  // namespace lb
