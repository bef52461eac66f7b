#include "net.hpp"

#include <charconv>
#include <cstdio>

namespace lb {

std::optional<Ipv4> parse_ipv4(std::string_view text) {
  uint32_t value = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    if (p == end || *p < '0' || *p > '9') return std::nullopt;
    unsigned part = 0;
    auto [next, ec] = std::from_chars(p, end, part);
    if (ec != std::errc() || part > 255 || next - p > 3) return std::nullopt;
    if (next - p > 1 && *p == '0') return std::nullopt;  // no octal-looking octets
    value = (value << 8) | part;
    p = next;
  }
  if (p != end) return std::nullopt;
  return Ipv4{value};
}

std::string to_string(Ipv4 addr) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", addr.host >> 24, (addr.host >> 16) & 255,
                (addr.host >> 8) & 255, addr.host & 255);
  return buf;
}

std::optional<Prefix> parse_prefix(std::string_view text) {
  auto slash = text.find('/');
  auto addr = parse_ipv4(text.substr(0, slash));
  if (!addr) return std::nullopt;
  if (slash == std::string_view::npos) return Prefix{*addr, 32};
  auto len_text = text.substr(slash + 1);
  unsigned len = 0;
  auto [next, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc() || next != len_text.data() + len_text.size() || len > 32 || len_text.empty())
    return std::nullopt;
  return Prefix{*addr, static_cast<uint8_t>(len)};
}

std::optional<Mac> parse_mac(std::string_view text) {
  Mac mac;
  if (text.size() != 17) return std::nullopt;
  for (int i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return std::nullopt;
    unsigned byte = 0;
    auto first = text.data() + i * 3;
    auto [next, ec] = std::from_chars(first, first + 2, byte, 16);
    if (ec != std::errc() || next != first + 2) return std::nullopt;
    mac.bytes[i] = static_cast<uint8_t>(byte);
  }
  return mac;
}

std::string to_string(const Mac& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac.bytes[0], mac.bytes[1],
                mac.bytes[2], mac.bytes[3], mac.bytes[4], mac.bytes[5]);
  return buf;
}

}  // namespace lb
