// Sending heartbeat datagrams. UdpSender sends each one to the configured target with
// sendto on an unconnected socket, so an ICMP "port unreachable" from an earlier
// datagram does not turn into an error on a later send.
// Thread-safety: a sender belongs to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lb::broker {

// Where the monitor puts a signed heartbeat; faked in tests.
class HeartbeatSink {
 public:
  virtual ~HeartbeatSink() = default;
  // False, with *error, when the datagram could not be handed to the network.
  virtual bool send(const uint8_t* data, size_t length, std::string* error) = 0;
};

class UdpSender final : public HeartbeatSink {
 public:
  UdpSender(uint32_t target_addr, uint16_t target_port);  // host order
  ~UdpSender() override;
  UdpSender(const UdpSender&) = delete;
  UdpSender& operator=(const UdpSender&) = delete;

  bool send(const uint8_t* data, size_t length, std::string* error) override;

 private:
  uint32_t target_addr_;
  uint16_t target_port_;
  int fd_;
  int socket_errno_ = 0;  // why socket() failed, when fd_ < 0
};

}  // namespace lb::broker
