// lbcp: the appliance's control plane (backend health from heartbeats, alerts). See
// docs/controlplane.md. One thread runs a Boost.Asio event loop with two timers (ring
// poll, health tick) and the signals; the alert sender has its own thread.
//
//   lbcp -c FILE              run
//   lbcp --check-config FILE  validate FILE (and read its key file), print every error
//
// Start-up, in order: config, key, logging, libcurl, controller (alert thread), timers
// and signals, event loop. Shut-down (SIGINT/SIGTERM) in reverse.
#include <curl/curl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "controller.hpp"
#include "logging.hpp"

namespace {

namespace asio = boost::asio;
using lb::cp::Config;

uint64_t epoch_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void usage(FILE* out) {
  std::fprintf(out,
               "usage: lbcp -c FILE              run the control plane\n"
               "       lbcp --check-config FILE  validate FILE and its key file, print every error\n");
}

// The config and the key it names, or the errors ("file:line: key: reason").
struct Loaded {
  std::optional<Config> config;
  lb::hb::Key key;
  std::vector<std::string> errors;
};

Loaded load(const std::string& path) {
  Loaded out;
  lb::cp::ConfigResult result = lb::cp::load_config(path);
  out.errors = std::move(result.errors);
  if (!result.config) return out;
  std::string error;
  out.key = lb::hb::load_key(result.config->heartbeat.key_file, &error);
  if (out.key.empty()) {
    out.errors.push_back(path + ":" + std::to_string(result.config->heartbeat.key_file_line) +
                         ": heartbeat.key_file: " + error);
    return out;
  }
  out.config = std::move(result.config);
  return out;
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

// A periodic timer that keeps its phase: the next expiry is the previous one plus the
// period, except after a stall longer than a period, when missed expiries are skipped
// instead of run back to back (a burst of health ticks would count time in which lbcp
// could not see heartbeats either).
class Periodic {
 public:
  Periodic(asio::io_context& io, std::function<uint32_t()> period_ms, std::function<void()> fn)
      : timer_(io), period_ms_(std::move(period_ms)), fn_(std::move(fn)) {}
  void start() {
    next_ = std::chrono::steady_clock::now();
    arm();
  }
  void cancel() { timer_.cancel(); }

 private:
  void arm() {
    auto period = std::chrono::milliseconds(period_ms_());
    next_ += period;
    auto now = std::chrono::steady_clock::now();
    if (next_ < now - period) next_ = now + period;
    timer_.expires_at(next_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled
      fn_();
      arm();
    });
  }
  asio::steady_timer timer_;
  std::function<uint32_t()> period_ms_;
  std::function<void()> fn_;
  std::chrono::steady_clock::time_point next_;
};

int run(const std::string& path) {
  Loaded loaded = load(path);
  for (const std::string& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!loaded.config) return 1;
  lb::cp::set_log_level(loaded.config->log.level);
  auto log = lb::cp::logger("lbcp");

  std::signal(SIGPIPE, SIG_IGN);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    log->critical("libcurl initialisation failed");
    return 1;
  }
  {
    lb::cp::Controller controller(*loaded.config, std::move(loaded.key), lb::cp::make_curl_transport(), host_name());
    controller.start();
    log->info("lbcp {} (pid {}): segment {}, tick {} ms, warning after {} ticks, dead after {} ticks; mail {}, "
              "webhook {}",
              path, getpid(), loaded.config->dataplane.shm, loaded.config->health.tick_ms,
              loaded.config->health.warning_ticks, loaded.config->health.dead_ticks,
              loaded.config->alerts.smtp_url.empty() ? "off" : loaded.config->alerts.smtp_url,
              loaded.config->alerts.webhook_url.empty() ? "off" : loaded.config->alerts.webhook_url);

    asio::io_context io;
    Periodic poll(io, [&] { return controller.config().dataplane.poll_ms; },
                  [&] { controller.poll(lb::shm::monotonic_ms(), epoch_ms()); });
    Periodic tick(io, [&] { return controller.config().health.tick_ms; },
                  [&] { controller.tick(lb::shm::monotonic_ms(), epoch_ms()); });
    asio::signal_set stop_signals(io, SIGINT, SIGTERM);
    asio::signal_set reload_signal(io, SIGHUP);

    stop_signals.async_wait([&](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      log->info("signal {}: stopping", signo);
      poll.cancel();
      tick.cancel();
      reload_signal.cancel();
    });
    std::function<void()> wait_reload = [&] {
      reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        Loaded next = load(path);
        if (!next.config) {
          log->error("reload of {} refused; the running configuration stays:", path);
          for (const std::string& e : next.errors) log->error("  {}", e);
        } else {
          std::vector<std::string> errors;
          if (controller.reload(*next.config, std::move(next.key), &errors)) {
            lb::cp::set_log_level(next.config->log.level);
            log->info("reloaded {}", path);
          } else {
            log->error("reload of {} refused; the running configuration stays:", path);
            for (const std::string& e : errors) log->error("  {}", e);
          }
        }
        wait_reload();
      });
    };
    wait_reload();

    controller.poll(lb::shm::monotonic_ms(), epoch_ms());
    poll.start();
    tick.start();
    io.run();
    controller.stop();
    log->info("stopped");
  }
  curl_global_cleanup();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--check-config") == 0) {
    Loaded loaded = load(argv[2]);
    for (const std::string& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (!loaded.config) return 1;
    const Config& c = *loaded.config;
    // Both factors go up to millions: the products need 64 bits.
    unsigned long long warning_ms = static_cast<unsigned long long>(c.health.warning_ticks) * c.health.tick_ms;
    unsigned long long dead_ms = static_cast<unsigned long long>(c.health.dead_ticks) * c.health.tick_ms;
    std::printf("%s: ok (segment %s; tick %u ms, warning after %llu ms, dead after %llu ms; mail %s; webhook %s)\n",
                argv[2], c.dataplane.shm.c_str(), c.health.tick_ms, warning_ms, dead_ms,
                c.alerts.smtp_url.empty() ? "off" : "on", c.alerts.webhook_url.empty() ? "off" : "on");
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "-c") == 0) return run(argv[2]);
  if (argc == 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
    usage(stdout);
    return 0;
  }
  usage(stderr);
  return 2;
}
