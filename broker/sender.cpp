#include "sender.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lb::broker {

UdpSender::UdpSender(uint32_t target_addr, uint16_t target_port)
    : target_addr_(target_addr), target_port_(target_port), fd_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
  if (fd_ < 0) socket_errno_ = errno;
}

UdpSender::~UdpSender() {
  if (fd_ >= 0) close(fd_);
}

bool UdpSender::send(const uint8_t* data, size_t length, std::string* error) {
  if (fd_ < 0) {
    *error = std::string("cannot create a UDP socket: ") + std::strerror(socket_errno_);
    return false;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(target_addr_);
  to.sin_port = htons(target_port_);
  ssize_t sent = sendto(fd_, data, length, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if (sent < 0) {
    *error = std::string("sendto: ") + std::strerror(errno);
    return false;
  }
  if (static_cast<size_t>(sent) != length) {
    *error = "sendto: short send";
    return false;
  }
  return true;
}

}  // namespace lb::broker
