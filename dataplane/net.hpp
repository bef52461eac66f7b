// Small value types shared by the dataplane's pure parts: IPv4 addresses, MAC
// addresses and byte-order helpers. No DPDK here, so the pure parts (parser,
// checksum, flow table, schedulers, config) build and test without EAL.
//
// Convention: fields named *_be hold network byte order exactly as on the wire;
// the hot path never swaps bytes except where it must do arithmetic.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace lb {

constexpr uint16_t bswap16(uint16_t v) { return static_cast<uint16_t>((v << 8) | (v >> 8)); }
constexpr uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }
// Host <-> network order (x86 and every platform we build on are little-endian).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host assumed");
constexpr uint16_t hton16(uint16_t v) { return bswap16(v); }
constexpr uint16_t ntoh16(uint16_t v) { return bswap16(v); }
constexpr uint32_t hton32(uint32_t v) { return bswap32(v); }
constexpr uint32_t ntoh32(uint32_t v) { return bswap32(v); }

// An IPv4 address in host byte order (for config, printing, prefix arithmetic).
struct Ipv4 {
  uint32_t host = 0;
  constexpr uint32_t be() const { return hton32(host); }
  static constexpr Ipv4 from_be(uint32_t be) { return Ipv4{ntoh32(be)}; }
  bool operator==(const Ipv4&) const = default;
  auto operator<=>(const Ipv4&) const = default;
};

std::optional<Ipv4> parse_ipv4(std::string_view text);
std::string to_string(Ipv4 addr);

struct Prefix {
  Ipv4 addr;
  uint8_t len = 32;
  bool contains(Ipv4 a) const {
    if (len == 0) return true;
    uint32_t mask = len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
    return (a.host & mask) == (addr.host & mask);
  }
};
// "a.b.c.d/len"; a bare address is /32.
std::optional<Prefix> parse_prefix(std::string_view text);

struct Mac {
  std::array<uint8_t, 6> bytes{};
  bool operator==(const Mac&) const = default;
  bool is_zero() const { return bytes == std::array<uint8_t, 6>{}; }
  // Packed into the low 48 bits of a u64, so it can be stored and loaded atomically.
  uint64_t pack() const {
    uint64_t v = 0;
    std::memcpy(&v, bytes.data(), 6);
    return v;
  }
  static Mac unpack(uint64_t v) {
    Mac m;
    std::memcpy(m.bytes.data(), &v, 6);
    return m;
  }
};
std::optional<Mac> parse_mac(std::string_view text);
std::string to_string(const Mac& mac);

}  // namespace lb
