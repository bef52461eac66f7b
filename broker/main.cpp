// lbbroker: runs on every backend node. The monitor thread probes the local web
// server and heartbeats to the appliance while the node is healthy (monitor.hpp);
// see docs/broker.md for how to run it.
//
// Start-up order: options, config (refused whole on any error), logging, libcurl, the
// signal mask, the monitor thread; shut-down in reverse. SIGTERM, SIGINT and SIGHUP are
// blocked in every thread and taken by the main thread with sigwait (signals.hpp), so
// no work happens in a signal handler; SIGHUP is logged and changes nothing, SIGPIPE is
// ignored. On SIGTERM or SIGINT the main thread wakes the monitor through its
// StopSignal.
#include <spdlog/spdlog.h>
#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "config.hpp"
#include "load.hpp"
#include "monitor.hpp"
#include "probe.hpp"
#include "sender.hpp"
#include "signals.hpp"

namespace {

using namespace lb::broker;

enum ExitCode { kOk = 0, kError = 1, kOverloaded = 2, kFailing = 3 };

struct Options {
  std::string config_path;
  bool check_only = false;
  bool once = false;
  std::string log_level;  // empty: info, or error with --once (its report goes to stdout)
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: lbbroker -c FILE [--log-level LEVEL]   probe and heartbeat until SIGTERM/SIGINT\n"
               "       lbbroker --once -c FILE                one probe, print the result, send nothing;\n"
               "                                              exit 0 healthy, 2 overloaded, 3 failing\n"
               "       lbbroker --check-config FILE           validate FILE, print every error, exit 0/1\n"
               "LEVEL: trace, debug, info, warn, error, off (default info; error with --once).\n"
               "See docs/broker.md.\n");
}

// Returns false (after printing why) when the command line is not usable.
bool parse_options(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "lbbroker: %s needs a value\n", arg.c_str());
        return false;
      }
      *out = argv[++i];
      return true;
    };
    if (arg == "-c" || arg == "--config") {
      if (!value(&o->config_path)) return false;
    } else if (arg == "--check-config") {
      if (!value(&o->config_path)) return false;
      o->check_only = true;
    } else if (arg == "--once") {
      o->once = true;
    } else if (arg == "--log-level") {
      if (!value(&o->log_level)) return false;
      if (spdlog::level::from_str(o->log_level) == spdlog::level::off && o->log_level != "off") {
        std::fprintf(stderr, "lbbroker: unknown log level \"%s\"\n", o->log_level.c_str());
        return false;
      }
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      std::exit(kOk);
    } else {
      std::fprintf(stderr, "lbbroker: unknown argument \"%s\"\n", arg.c_str());
      return false;
    }
  }
  if (o->config_path.empty()) {
    std::fprintf(stderr, "lbbroker: no configuration file (-c FILE)\n");
    return false;
  }
  if (o->check_only && o->once) {
    std::fprintf(stderr, "lbbroker: --check-config and --once exclude each other\n");
    return false;
  }
  return true;
}

uint64_t boot_id_now() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count());
}

int probe_once(const BrokerConfig& config) {
  HttpProber prober(config.probe);
  ProcLoadSource load(config.heartbeat.service_port);
  UdpSender sender(config.heartbeat.target_addr, config.heartbeat.target_port);
  Monitor monitor(config, prober, load, sender, system_wall_ms, boot_id_now());
  StepReport r = monitor.step(false);
  std::printf("%s\n", health_name(r.verdict.health));
  if (!r.verdict.reason.empty()) std::printf("  reason       %s\n", r.verdict.reason.c_str());
  std::printf("  url          %s\n", config.probe.url.c_str());
  std::printf("  status       %ld (expected %ld)\n", r.probe.http_status, config.probe.expect_status);
  std::printf("  response     %.3f ms (limit %u ms)\n", r.probe.response_us / 1000.0, config.limits.max_response_ms);
  if (r.load) {
    std::printf("  cpu load     %.3f per CPU (limit %.3f)\n", r.load->cpu_permille / 1000.0, config.limits.max_cpu_load);
    std::printf("  connections  %u on port %u (limit %u)\n", r.load->connections, config.heartbeat.service_port,
                config.limits.max_connections);
  }
  std::printf("  next probe   in %u ms\n", r.interval_ms);
  switch (r.verdict.health) {
    case Health::healthy: return kOk;
    case Health::overloaded: return kOverloaded;
    case Health::failing: return kFailing;
  }
  return kFailing;
}

int run(const BrokerConfig& config) {
  // Before any thread starts, so every thread inherits the mask.
  block_process_signals();

  HttpProber prober(config.probe);
  ProcLoadSource load(config.heartbeat.service_port);
  UdpSender sender(config.heartbeat.target_addr, config.heartbeat.target_port);
  Monitor monitor(config, prober, load, sender, system_wall_ms, boot_id_now());
  StopSignal stop;
  std::thread monitor_thread([&] { monitor.run(stop); });

  int signal_number = wait_for_stop_signal();
  spdlog::get("broker")->info("{}: stopping", strsignal(signal_number));
  stop.request_stop();
  monitor_thread.join();
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, &options)) {
    usage(stderr);
    return kError;
  }
  ConfigResult loaded = load_config(options.config_path);
  for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (options.check_only) {
    if (loaded.config) std::printf("%s: ok\n", options.config_path.c_str());
    return loaded.config ? kOk : kError;
  }
  if (!loaded.config) return kError;

  if (options.log_level.empty()) options.log_level = options.once ? "error" : "info";
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  spdlog::register_logger(spdlog::default_logger()->clone("broker"));
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    spdlog::get("broker")->error("libcurl initialisation failed");
    return kError;
  }
  int status = options.once ? probe_once(*loaded.config) : run(*loaded.config);
  curl_global_cleanup();
  return status;
}
