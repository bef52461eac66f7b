#include "neighbour.hpp"

#include <stdexcept>

namespace lb {

uint16_t NeighbourTable::slot_for(Ipv4 next_hop, uint16_t port_index) {
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].address == next_hop && entries_[i].port_index == port_index) return static_cast<uint16_t>(i);
  if (entries_.size() >= kMaxNeighbours) throw std::runtime_error("neighbour table full");
  entries_.push_back(Entry{next_hop, port_index});
  publish(static_cast<uint16_t>(entries_.size() - 1));
  return static_cast<uint16_t>(entries_.size() - 1);
}

void NeighbourTable::add_static(Ipv4 address, uint16_t port_index, Mac mac) {
  uint16_t s = slot_for(address, port_index);
  Entry& e = entries_[s];
  e.is_static = true;
  e.resolved = true;
  e.mac = mac;
  publish(s);
}

void NeighbourTable::forget_static(Ipv4 address, uint16_t port_index) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (e.address != address || e.port_index != port_index || !e.is_static) continue;
    e.is_static = false;
    e.resolved = false;
    e.last_request_ms = 0;
    publish(static_cast<uint16_t>(i));
  }
}

bool NeighbourTable::learn(Ipv4 address, uint16_t port_index, Mac mac, uint64_t now_ms) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (e.address != address || e.port_index != port_index || e.is_static) continue;
    e.resolved = true;
    e.resolved_at_ms = now_ms;
    e.mac = mac;
    publish(static_cast<uint16_t>(i));
    return true;
  }
  return false;
}

void NeighbourTable::poll(uint64_t now_ms, const RequestFn& send_request) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (e.is_static) continue;
    uint64_t age = now_ms - e.resolved_at_ms;
    if (e.resolved && age > lifetime_ms_ + 3000) {
      e.resolved = false;  // nobody answered the refreshes: stop sending to a stale MAC
      publish(static_cast<uint16_t>(i));
    }
    // Refresh in the last 3 s of the lifetime, so a live neighbour never lapses.
    bool due = !e.resolved || age + 3000 >= lifetime_ms_;
    if (due && now_ms - e.last_request_ms >= 1000) {
      e.last_request_ms = now_ms;
      send_request(e.port_index, e.address);
    }
  }
}

void NeighbourTable::publish(uint16_t s) {
  const Entry& e = entries_[s];
  uint64_t v = e.resolved ? (e.mac.pack() | kNeighbourValid) : 0;
  macs_->slot[s].store(v, std::memory_order_release);
}

}  // namespace lb
