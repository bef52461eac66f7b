// Carries out CLI requests on a running App: the one place where commands touch the
// dataplane. Changes go through App::change (validate, new snapshot, RCU publish);
// reports read counters, snapshots and (racily, read-only) the workers' flow tables.
// Main lcore only.
#pragma once

#include <string>

#include "app.hpp"
#include "cli.hpp"

namespace lb {

class AppExecutor : public CommandExecutor {
 public:
  explicit AppExecutor(App& app) : app_(app) {}
  bool execute(const Request& request, std::string& out) override;
  bool quit_requested() const { return quit_; }

 private:
  App& app_;
  bool quit_ = false;
};

// The configuration as TOML that load_config accepts (for `show config`).
std::string config_to_toml(const Config& config);

}  // namespace lb
