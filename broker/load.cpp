#include "load.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>

namespace lb::broker {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// The n-th (0-based) blank-separated field of line, or empty.
std::string_view field(std::string_view line, int n) {
  size_t pos = 0;
  for (int i = 0;; ++i) {
    while (pos < line.size() && is_blank(line[pos])) ++pos;
    size_t end = pos;
    while (end < line.size() && !is_blank(line[end])) ++end;
    if (pos == end) return {};
    if (i == n) return line.substr(pos, end - pos);
    pos = end;
  }
}

// /proc files report a size of 0, so they are read to the end rather than by size.
bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

std::optional<uint32_t> cpu_permille_from_loadavg(std::string_view text, unsigned cpus) {
  if (cpus == 0) return std::nullopt;
  size_t end = 0;
  while (end < text.size() && !is_blank(text[end]) && text[end] != '\n') ++end;
  double load = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, load);
  if (ec != std::errc() || ptr != text.data() + end || end == 0 || !(load >= 0)) return std::nullopt;
  double permille = std::round(load * 1000.0 / cpus);
  if (permille >= static_cast<double>(std::numeric_limits<uint32_t>::max())) return std::numeric_limits<uint32_t>::max();
  return static_cast<uint32_t>(permille);
}

uint32_t count_established(std::string_view text, uint16_t local_port) {
  // A row: "  sl  local_address rem_address   st ...", e.g.
  //   "   0: 0100007F:1F90 0100007F:C35A 01 00000000:00000000 ..."
  // with addresses and ports in hex; tcp6 rows have 32 hex digits of address.
  constexpr std::string_view kEstablished = "01";
  uint32_t count = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    std::string_view local = field(line, 1);
    if (field(line, 3) != kEstablished) continue;  // the header's 4th field is "st"
    size_t colon = local.rfind(':');
    if (colon == std::string_view::npos) continue;
    std::string_view port_hex = local.substr(colon + 1);
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_hex.data(), port_hex.data() + port_hex.size(), port, 16);
    if (ec != std::errc() || ptr != port_hex.data() + port_hex.size() || port_hex.empty()) continue;
    if (port == local_port) ++count;
  }
  return count;
}

unsigned online_cpus() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

ProcLoadSource::ProcLoadSource(uint16_t service_port, std::string proc_root)
    : service_port_(service_port), proc_root_(std::move(proc_root)) {}

bool ProcLoadSource::sample(LoadSample* out, std::string* error) {
  std::string text;
  std::string path = proc_root_ + "/loadavg";
  if (!read_file(path, &text)) {
    *error = "cannot read " + path;
    return false;
  }
  auto permille = cpu_permille_from_loadavg(text, online_cpus());
  if (!permille) {
    *error = path + " does not start with a load average";
    return false;
  }
  out->cpu_permille = *permille;

  path = proc_root_ + "/net/tcp";
  if (!read_file(path, &text)) {
    *error = "cannot read " + path;
    return false;
  }
  out->connections = count_established(text, service_port_);
  // tcp6 is absent when the kernel has no IPv6; then there are no IPv6 connections.
  if (read_file(proc_root_ + "/net/tcp6", &text)) out->connections += count_established(text, service_port_);
  return true;
}

}  // namespace lb::broker
