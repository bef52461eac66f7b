// Global backend ids that stay the same across configuration snapshots.
//
// Per-lcore counters are indexed by backend id, and every flow records its backend's id,
// so a backend keeps its id for as long as it stays configured (identity: VIP address
// and port, backend address and port). A removed backend's id is retired, not freed at
// once: its flows live on until they end. A retired id is handed out again only when
// fresh ids are exhausted and no open flow uses it any more.
//
// Main lcore only; not thread-safe. Copyable, so a change can be built on a copy and
// committed only if the snapshot builds.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "snapshot.hpp"

namespace lb {

class BackendIds : public BackendIdResolver {
 public:
  // Open flows using an id, summed over the workers.
  using OpenFlowsFn = std::function<uint64_t(uint16_t id)>;
  explicit BackendIds(OpenFlowsFn open_flows) : open_flows_(std::move(open_flows)) {}

  // Call before building a snapshot, then id_for() for each backend, then end_build()
  // once the snapshot is published: ids the build did not ask for are retired.
  void begin_build() { used_in_build_.clear(); }
  uint16_t id_for(const VipConfig& vip, const BackendConfig& backend) override;
  void end_build();

  size_t live() const { return live_.size(); }

 private:
  using Key = std::tuple<uint32_t, uint16_t, uint32_t, uint16_t>;
  OpenFlowsFn open_flows_;
  std::map<Key, uint16_t> live_;
  std::set<uint16_t> used_in_build_;
  std::deque<uint16_t> retired_;
  uint16_t next_fresh_ = 0;
};

}  // namespace lb
