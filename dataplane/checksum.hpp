// Internet checksum arithmetic (RFC 1071) and incremental update (RFC 1624, eqn. 3:
// HC' = ~(~HC + ~m + m')). Used on the hot path to patch IPv4 and TCP checksums when
// addresses and ports are rewritten, so the payload is never re-summed.
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lb {

// One's-complement sum of a buffer, folded to 16 bits, not inverted. Bytes are read in
// network order pairs; the result is in the same (network) order as the buffer.
inline uint32_t csum_partial(const void* data, size_t len, uint32_t sum = 0) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (len > 1) {
    uint16_t word;
    __builtin_memcpy(&word, p, 2);
    sum += word;
    p += 2;
    len -= 2;
  }
  if (len) sum += *p;  // odd trailing byte, padded with zero (little-endian load)
  return sum;
}

inline uint16_t csum_fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// One's-complement sum of a 20-byte IPv4 header (the hot path's header check): the
// same value csum_partial(hdr, 20) folds to. The five 32-bit words are added in 64 bits
// (no carry is lost: the sum is below 2^35) and folded three times; a one's-complement
// sum in any word size folds to the same 16 bits, as 2^16 - 1 divides 2^32 - 1.
inline uint16_t csum_ipv4_header_folded(const void* hdr) {
  uint32_t w[5];
  __builtin_memcpy(w, hdr, 20);
  uint64_t sum = static_cast<uint64_t>(w[0]) + w[1] + w[2] + w[3] + w[4];
  sum = (sum & 0xffffffffu) + (sum >> 32);  // < 2^32 + 8
  sum = (sum & 0xffff) + (sum >> 16);       // < 2^17 + 8
  sum = (sum & 0xffff) + (sum >> 16);       // <= 0xffff
  return static_cast<uint16_t>(sum);
}

// Full checksum of a buffer (what goes into a header's checksum field).
inline uint16_t csum_compute(const void* data, size_t len) {
  return static_cast<uint16_t>(~csum_fold(csum_partial(data, len)));
}

// Patch `check` (as stored in the header) for a 16-bit field changing old -> new.
// Both values in the same byte order as the packet.
inline void csum_replace2(uint16_t* check, uint16_t old_value, uint16_t new_value) {
  uint32_t sum = static_cast<uint16_t>(~*check);
  sum += static_cast<uint16_t>(~old_value);
  sum += new_value;
  *check = static_cast<uint16_t>(~csum_fold(sum));
}

// Same for a 32-bit field (an IPv4 address).
inline void csum_replace4(uint16_t* check, uint32_t old_value, uint32_t new_value) {
  uint32_t sum = static_cast<uint16_t>(~*check);
  sum += static_cast<uint16_t>(~old_value & 0xffff);
  sum += static_cast<uint16_t>(~old_value >> 16);
  sum += new_value & 0xffff;
  sum += new_value >> 16;
  *check = static_cast<uint16_t>(~csum_fold(sum));
}

}  // namespace lb
