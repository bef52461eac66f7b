#include "scheduler.hpp"

namespace lb {

namespace {

int pick_rr(const SchedVip& vip, SchedState& st, const SchedInput&) { return sched_pick_rr(vip, st); }

int pick_wrr(const SchedVip& vip, SchedState& st, const SchedInput&) {
  int64_t total = 0;
  int best = kNoBackend;
  for (uint16_t i = 0; i < vip.count; ++i) {
    const auto& b = vip.backends[i];
    if (!b.eligible || b.weight == 0) continue;
    st.weight_current[i] += b.weight;
    total += b.weight;
    if (best == kNoBackend || st.weight_current[i] > st.weight_current[best]) best = i;
  }
  if (best != kNoBackend) st.weight_current[best] -= total;
  return best;
}

// lc and wlc: minimise open/weight (lc uses weight 1 for every eligible backend).
// Ties are broken round robin: the scan starts just after the previous pick, so tied
// backends take turns even when other backends sit between them in the list.
template <bool Weighted>
int pick_least(const SchedVip& vip, SchedState& st, const SchedInput& in) {
  int best = kNoBackend;
  uint64_t best_open = 0, best_weight = 1;
  uint32_t i = st.cursor >= vip.count ? 0 : st.cursor;
  for (uint16_t n = 0; n < vip.count; ++n, ++i) {
    if (i == vip.count) i = 0;
    const auto& b = vip.backends[i];
    if (!b.eligible || b.weight == 0) continue;
    uint64_t open = in.open_flows(in.open_flows_ctx, b.id);
    uint64_t weight = Weighted ? b.weight : b.percent;
    // open/weight < best_open/best_weight, without division
    if (best == kNoBackend || open * best_weight < best_open * weight) {
      best = i;
      best_open = open;
      best_weight = weight;
    }
  }
  if (best != kNoBackend) st.cursor = static_cast<uint32_t>(best) + 1;
  return best;
}

int pick_maglev(const SchedVip& vip, SchedState&, const SchedInput& in) { return sched_pick_table(vip, in.flow_hash); }
int pick_sh(const SchedVip& vip, SchedState&, const SchedInput& in) { return sched_pick_table(vip, in.client_hash); }

struct SchedEngine {
  SchedKind kind;
  const char* name;
  int (*pick)(const SchedVip&, SchedState&, const SchedInput&);
};

constexpr SchedEngine kSchedulers[] = {
    {SchedKind::rr, "rr", pick_rr},
    {SchedKind::wrr, "wrr", pick_wrr},
    {SchedKind::lc, "lc", pick_least<false>},
    {SchedKind::wlc, "wlc", pick_least<true>},
    {SchedKind::maglev, "maglev", pick_maglev},
    {SchedKind::sh, "sh", pick_sh},
};

}  // namespace

std::optional<SchedKind> parse_sched(std::string_view name) {
  for (const auto& e : kSchedulers)
    if (name == e.name) return e.kind;
  return std::nullopt;
}

const char* sched_name(SchedKind kind) { return kSchedulers[static_cast<unsigned>(kind)].name; }

int sched_pick_out_of_line(SchedKind kind, const SchedVip& vip, SchedState& state, const SchedInput& in) {
  if (vip.count == 0) return kNoBackend;
  return kSchedulers[static_cast<unsigned>(kind)].pick(vip, state, in);
}

}  // namespace lb
