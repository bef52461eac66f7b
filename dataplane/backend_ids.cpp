#include "backend_ids.hpp"

#include <stdexcept>

namespace lb {

uint16_t BackendIds::id_for(const VipConfig& vip, const BackendConfig& backend) {
  Key key{vip.address.host, vip.port, backend.address.host, backend.port};
  auto it = live_.find(key);
  uint16_t id;
  if (it != live_.end()) {
    id = it->second;
  } else if (next_fresh_ < kMaxBackends) {
    id = next_fresh_++;
    live_.emplace(key, id);
  } else {
    // Oldest retired id whose flows have all ended.
    auto reusable = retired_.end();
    for (auto r = retired_.begin(); r != retired_.end(); ++r)
      if (open_flows_(*r) == 0) {
        reusable = r;
        break;
      }
    if (reusable == retired_.end()) throw std::runtime_error("no backend id free (4096 in use or still draining)");
    id = *reusable;
    retired_.erase(reusable);
    live_.emplace(key, id);
  }
  used_in_build_.insert(id);
  return id;
}

void BackendIds::end_build() {
  for (auto it = live_.begin(); it != live_.end();) {
    if (used_in_build_.count(it->second)) {
      ++it;
    } else {
      retired_.push_back(it->second);
      it = live_.erase(it);
    }
  }
}

}  // namespace lb
