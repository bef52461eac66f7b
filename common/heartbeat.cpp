// Encoding, signing and checking heartbeats (the format is in heartbeat.hpp).
//
// The MAC is HMAC-SHA256 computed with OpenSSL's one-shot HMAC() and compared with
// CRYPTO_memcmp, whose running time does not depend on where the first differing byte
// is: an attacker timing our replies cannot learn a valid MAC byte by byte.
// Integers are written byte by byte, so the code is the same on any host byte order
// and never reads an unaligned field.
#include "heartbeat.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace lb::hb {

namespace {

// Offsets of the wire format; the table in heartbeat.hpp is the definition.
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 4;
constexpr size_t kOffFlags = 5;
constexpr size_t kOffReserved1 = 6;
constexpr size_t kOffNodeAddr = 8;
constexpr size_t kOffServicePort = 12;
constexpr size_t kOffReserved2 = 14;
constexpr size_t kOffBootId = 16;
constexpr size_t kOffSequence = 24;
constexpr size_t kOffSentMs = 32;
constexpr size_t kOffResponseUs = 40;
constexpr size_t kOffCpuPermille = 44;
constexpr size_t kOffConnections = 48;
constexpr size_t kOffIntervalMs = 52;
constexpr size_t kOffMac = 56;
static_assert(kOffIntervalMs + 4 == kSignedSize, "the signed part ends after interval_ms");
static_assert(kOffMac == kSignedSize && kOffMac + kMacSize == kWireSize, "the MAC closes the datagram");

template <typename T>
void put_be(uint8_t* out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<uint8_t>(value >> (8 * (sizeof(T) - 1 - i)));
}

template <typename T>
T get_be(const uint8_t* in) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value = static_cast<T>((value << 8) | in[i]);
  return value;
}

void mac_of(const uint8_t* signed_part, const Key& key, uint8_t* mac_out) {
  unsigned int mac_length = 0;
  // An empty key is still a (weak) key for HMAC; load_key never yields one.
  static const uint8_t kNoKey = 0;
  const uint8_t* key_data = key.empty() ? &kNoKey : key.data();
  HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), signed_part, kSignedSize, mac_out, &mac_length);
}

bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

Key load_key(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    *error = "cannot read key file " + path + ": " + std::strerror(err);
    return {};
  }
  Key key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    *error = "cannot read key file " + path + ": read error";
    return {};
  }
  size_t begin = 0, end = key.size();
  while (begin < end && is_space(key[begin])) ++begin;
  while (end > begin && is_space(key[end - 1])) --end;
  key = Key(key.begin() + static_cast<std::ptrdiff_t>(begin), key.begin() + static_cast<std::ptrdiff_t>(end));
  if (key.size() < kMinKeySize) {
    *error = "key file " + path + " holds " + std::to_string(key.size()) + " bytes (surrounding whitespace removed); at least " +
             std::to_string(kMinKeySize) + " are needed";
    return {};
  }
  return key;
}

void encode(const Message& message, const Key& key, uint8_t* out) {
  put_be<uint32_t>(out + kOffMagic, kMagic);
  out[kOffVersion] = kVersion;
  out[kOffFlags] = message.flags;
  put_be<uint16_t>(out + kOffReserved1, 0);
  put_be<uint32_t>(out + kOffNodeAddr, message.node_addr);
  put_be<uint16_t>(out + kOffServicePort, message.service_port);
  put_be<uint16_t>(out + kOffReserved2, 0);
  put_be<uint64_t>(out + kOffBootId, message.boot_id);
  put_be<uint64_t>(out + kOffSequence, message.sequence);
  put_be<uint64_t>(out + kOffSentMs, message.sent_ms);
  put_be<uint32_t>(out + kOffResponseUs, message.load.response_us);
  put_be<uint32_t>(out + kOffCpuPermille, message.load.cpu_permille);
  put_be<uint32_t>(out + kOffConnections, message.load.connections);
  put_be<uint32_t>(out + kOffIntervalMs, message.load.interval_ms);
  mac_of(out, key, out + kOffMac);
}

const char* reject_name(Reject why) {
  switch (why) {
    case Reject::none: return "none";
    case Reject::truncated: return "truncated";
    case Reject::bad_magic: return "bad_magic";
    case Reject::bad_version: return "bad_version";
    case Reject::bad_mac: return "bad_mac";
    case Reject::stale: return "stale";
    case Reject::replay: return "replay";
    case Reject::count_: break;
  }
  return "?";
}

Reject decode(const uint8_t* data, size_t length, const Key& key, Message* out) {
  // Any length but the exact one is refused; a longer datagram is not a heartbeat with
  // trailing bytes we could ignore, since the MAC covers a fixed-size message.
  if (length != kWireSize) return Reject::truncated;
  if (get_be<uint32_t>(data + kOffMagic) != kMagic) return Reject::bad_magic;
  if (data[kOffVersion] != kVersion) return Reject::bad_version;
  uint8_t expected[kMacSize];
  mac_of(data, key, expected);
  if (CRYPTO_memcmp(expected, data + kOffMac, kMacSize) != 0) return Reject::bad_mac;

  Message m;
  m.flags = data[kOffFlags];
  m.node_addr = get_be<uint32_t>(data + kOffNodeAddr);
  m.service_port = get_be<uint16_t>(data + kOffServicePort);
  m.boot_id = get_be<uint64_t>(data + kOffBootId);
  m.sequence = get_be<uint64_t>(data + kOffSequence);
  m.sent_ms = get_be<uint64_t>(data + kOffSentMs);
  m.load.response_us = get_be<uint32_t>(data + kOffResponseUs);
  m.load.cpu_permille = get_be<uint32_t>(data + kOffCpuPermille);
  m.load.connections = get_be<uint32_t>(data + kOffConnections);
  m.load.interval_ms = get_be<uint32_t>(data + kOffIntervalMs);
  *out = m;
  return Reject::none;
}

Reject ReplayGuard::accept(const Message& message, uint64_t now_ms) {
  uint64_t skew = message.sent_ms > now_ms ? message.sent_ms - now_ms : now_ms - message.sent_ms;
  if (skew > max_skew_ms_) return Reject::stale;
  auto node = std::make_pair(message.node_addr, message.service_port);
  auto it = last_.find(node);
  if (it != last_.end()) {
    const Last& last = it->second;
    // An older boot id is a replay, unless the node has been silent for longer than any
    // replayed message could stay fresh (2 x skew): then it is a broker restarted after
    // its clock stepped back, and refusing it would lock the node out for good.
    bool silent = now_ms > last.accepted_ms + 2 * max_skew_ms_;
    if (message.boot_id < last.boot_id && !silent) return Reject::replay;
    if (message.boot_id == last.boot_id && message.sequence <= last.sequence) return Reject::replay;
  }
  last_[node] = Last{message.boot_id, message.sequence, now_ms};
  return Reject::none;
}

}  // namespace lb::hb
