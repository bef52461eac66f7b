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

// One's-complement sum of a 20-byte IPv4 header in 64-bit words, not folded: two
// 64-bit words and one 32-bit word added with the carries wrapped around (add,
// add-with-carry). A one's-complement sum in any word size folds to the same 16 bits,
// as 2^16 - 1 divides 2^64 - 1. (Five 32-bit loads through a stack copy cost twice
// the instructions.)
inline uint64_t csum_ipv4_header_wide(const void* hdr) {
  uint64_t a, b;
  uint32_t c;
  __builtin_memcpy(&a, hdr, 8);
  __builtin_memcpy(&b, static_cast<const char*>(hdr) + 8, 8);
  __builtin_memcpy(&c, static_cast<const char*>(hdr) + 16, 4);
  uint64_t sum;
  const bool carry1 = __builtin_add_overflow(a, b, &sum);
  const bool carry2 = __builtin_add_overflow(sum, static_cast<uint64_t>(c) + carry1, &sum);
  return sum + carry2;  // cannot carry again: after a carry, sum < 2^32
}

// Whether a 20-byte IPv4 header's checksum is right (its one's-complement sum folds to
// 0xffff), for a header that is not all zeros (the parsers check the version first).
// The wide sum and its fold are congruent modulo 2^16 - 1, as 2^16 is 1 modulo
// 2^16 - 1; a fold lies in 1..0xffff unless every word is zero, so the sum is
// divisible by 0xffff exactly when the fold is 0xffff. The
// compiler tests divisibility by an odd constant with a multiply and a compare: four
// folds fewer on every packet. Equal to csum_ipv4_header_folded(hdr) == 0xffff for
// every header but the all-zero one (tested in test_checksum.cpp).
inline bool ipv4_header_checksum_ok(const void* hdr) { return csum_ipv4_header_wide(hdr) % 0xffffu == 0; }

// One's-complement sum of a 20-byte IPv4 header: the same value csum_partial(hdr, 20)
// folds to. Zero only for an all-zero header.
inline uint16_t csum_ipv4_header_folded(const void* hdr) {
  uint64_t sum = csum_ipv4_header_wide(hdr);
  sum = (sum & 0xffffffffu) + (sum >> 32);  // < 2^33
  sum = (sum & 0xffffffffu) + (sum >> 32);  // < 2^32
  sum = (sum & 0xffff) + (sum >> 16);       // < 2^17
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
