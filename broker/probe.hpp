// The probe: fetch the configured URL from the local web server with libcurl's easy
// API and time it. The answer is right when the transfer completes within the timeout,
// the HTTP status is the expected one and, if configured, the body contains the
// expected text (searched in the first kBodyKept bytes).
//
// Every probe opens a fresh connection and closes it: the time then includes the
// connect, as a client's would, and no idle keep-alive connection of ours sits among
// the connections counted on the service port. Proxies from the environment
// (http_proxy, ...) are ignored: the probe is for this node's own server.
//
// Thread-safety: an HttpProber belongs to one thread. curl_global_init must have run
// (lbbroker's main does it) before one is made.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "config.hpp"

namespace lb::broker {

struct ProbeResult {
  bool ok = false;            // the answer was right
  long http_status = 0;       // 0 when no HTTP answer arrived
  uint32_t response_us = 0;   // start of the request to the end of the body (or failure)
  std::string reason;         // why it is not ok; empty when ok
};

// Where the monitor gets a probe result; faked in tests.
class Prober {
 public:
  virtual ~Prober() = default;
  virtual ProbeResult probe() = 0;
};

class HttpProber final : public Prober {
 public:
  static constexpr size_t kBodyKept = 64 * 1024;

  explicit HttpProber(const ProbeConfig& config);
  ~HttpProber() override;
  HttpProber(const HttpProber&) = delete;
  HttpProber& operator=(const HttpProber&) = delete;

  ProbeResult probe() override;

 private:
  ProbeConfig config_;
  void* curl_;  // CURL*, kept out of this header
  std::string body_;
};

}  // namespace lb::broker
