#include "verdict.hpp"

#include <cmath>
#include <cstdio>

namespace lb::broker {

const char* health_name(Health health) {
  switch (health) {
    case Health::healthy: return "healthy";
    case Health::overloaded: return "overloaded";
    case Health::failing: return "failing";
  }
  return "?";
}

namespace {

// n/1000 with three decimals: permille as a fraction, microseconds as milliseconds.
std::string thousandths(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%03llu", static_cast<unsigned long long>(n / 1000),
                static_cast<unsigned long long>(n % 1000));
  return buf;
}

}  // namespace

Verdict judge(const ProbeResult& probe, const LoadSample* load, const std::string& load_error,
              const LimitsConfig& limits) {
  Verdict v;
  if (!probe.ok) {
    v.health = Health::failing;
    v.reason = "probe: " + probe.reason;
    return v;
  }
  if (!load) {
    v.health = Health::failing;
    v.reason = "load figures: " + load_error;
    return v;
  }
  auto exceeded = [&v](const std::string& what) {
    if (!v.reason.empty()) v.reason += "; ";
    v.reason += what;
  };
  uint64_t max_response_us = uint64_t{limits.max_response_ms} * 1000;
  if (probe.response_us > max_response_us)
    exceeded("response " + thousandths(probe.response_us) + " ms > " + std::to_string(limits.max_response_ms) + " ms");
  auto max_cpu_permille = static_cast<uint64_t>(std::llround(limits.max_cpu_load * 1000.0));
  if (load->cpu_permille > max_cpu_permille)
    exceeded("cpu load " + thousandths(load->cpu_permille) + " > " + thousandths(max_cpu_permille) + " per CPU");
  if (load->connections > limits.max_connections)
    exceeded("connections " + std::to_string(load->connections) + " > " + std::to_string(limits.max_connections));
  v.health = v.reason.empty() ? Health::healthy : Health::overloaded;
  return v;
}

}  // namespace lb::broker
