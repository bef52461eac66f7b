// cmdline_parse_check is still marked experimental in DPDK 22.11.
#define ALLOW_EXPERIMENTAL_API
#include "cli.hpp"

#include <cmdline_parse.h>
#include <cmdline_parse_ipaddr.h>
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <sstream>

// The command instances below are C structs from DPDK's cmdline library, initialised the
// way testpmd does; tokens[] is a flexible array member (a GNU extension in C++).
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace lb {

namespace {

// The session running the current line: run_command sets it; a line typed at the
// interactive prompt uses the interactive executor.
CommandExecutor* g_executor = nullptr;
CommandExecutor* g_interactive = nullptr;
bool g_ok = true;
std::string* g_out = nullptr;

void dispatch(const Request& request, struct cmdline* cl) {
  CommandExecutor* ex = g_executor ? g_executor : g_interactive;
  std::string out;
  g_ok = ex && ex->execute(request, out);
  if (!ex) out = "error: no executor\n";
  if (g_out) *g_out += out;
  else if (cl) cmdline_printf(cl, "%s", out.c_str());
}

Ipv4 ip_of(const cmdline_ipaddr_t& a) { return Ipv4::from_be(a.addr.ipv4.s_addr); }

FwdMode mode_of(const char* s) { return parse_fwd_mode(s).value_or(FwdMode::nat); }
SchedKind sched_of(const char* s) { return parse_sched(s).value_or(SchedKind::rr); }

#define LB_STR(s, field, str) TOKEN_STRING_INITIALIZER(s, field, str)
#define LB_NUM(s, field, type) TOKEN_NUM_INITIALIZER(s, field, type)
#define LB_IP(s, field) TOKEN_IPV4_INITIALIZER(s, field)
#define LB_TOKENS(...) {__VA_ARGS__, nullptr}
#define T(x) (cmdline_parse_token_hdr_t*)&(x)

constexpr const char* kModes = "nat#fullnat#dsr";
constexpr const char* kScheds = "rr#wrr#lc#wlc#maglev#sh";
constexpr const char* kStates = "up#drain#maintenance";

// ---- help
struct HelpArgs {
  cmdline_fixed_string_t help;
};
cmdline_parse_token_string_t help_kw = LB_STR(HelpArgs, help, "help");
void help_fn(void*, struct cmdline* cl, void*) { dispatch(Request{Request::Kind::help}, cl); }
cmdline_parse_inst_t cmd_help = {help_fn, nullptr, "help: list the commands", LB_TOKENS(T(help_kw))};

// ---- show port stats|info all|N
struct ShowPortArgs {
  cmdline_fixed_string_t show, port, what, all;
  uint16_t id;
};
cmdline_parse_token_string_t sp_show = LB_STR(ShowPortArgs, show, "show");
cmdline_parse_token_string_t sp_port = LB_STR(ShowPortArgs, port, "port");
cmdline_parse_token_string_t sp_what = LB_STR(ShowPortArgs, what, "stats#info");
cmdline_parse_token_string_t sp_all = LB_STR(ShowPortArgs, all, "all");
cmdline_parse_token_num_t sp_id = LB_NUM(ShowPortArgs, id, RTE_UINT16);
void show_port_fn(void* parsed, struct cmdline* cl, void* data) {
  auto* a = static_cast<ShowPortArgs*>(parsed);
  Request r;
  r.kind = std::strcmp(a->what, "stats") == 0 ? Request::Kind::show_port_stats : Request::Kind::show_port_info;
  r.all = data == nullptr;
  r.port_id = a->id;
  dispatch(r, cl);
}
cmdline_parse_inst_t cmd_show_port_all = {show_port_fn, nullptr, "show port stats|info all: every port",
                                          LB_TOKENS(T(sp_show), T(sp_port), T(sp_what), T(sp_all))};
cmdline_parse_inst_t cmd_show_port_one = {show_port_fn, (void*)1, "show port stats|info N: one DPDK port",
                                          LB_TOKENS(T(sp_show), T(sp_port), T(sp_what), T(sp_id))};

// ---- show lcore stats | show vip | show config | clear stats | start | stop | reload | quit
struct WordsArgs {
  cmdline_fixed_string_t a, b;
};
cmdline_parse_token_string_t w_show = LB_STR(WordsArgs, a, "show");
cmdline_parse_token_string_t w_vip = LB_STR(WordsArgs, b, "vip");
cmdline_parse_token_string_t w_config = LB_STR(WordsArgs, b, "config");
cmdline_parse_token_string_t w_clear = LB_STR(WordsArgs, a, "clear");
cmdline_parse_token_string_t w_stats_b = LB_STR(WordsArgs, b, "stats");
cmdline_parse_token_string_t w_start = LB_STR(WordsArgs, a, "start");
cmdline_parse_token_string_t w_stop = LB_STR(WordsArgs, a, "stop");
cmdline_parse_token_string_t w_reload = LB_STR(WordsArgs, a, "reload");
cmdline_parse_token_string_t w_quit = LB_STR(WordsArgs, a, "quit");
struct LcoreStatsArgs {
  cmdline_fixed_string_t a, b, c;
};
cmdline_parse_token_string_t ls_show = LB_STR(LcoreStatsArgs, a, "show");
cmdline_parse_token_string_t ls_lcore = LB_STR(LcoreStatsArgs, b, "lcore");
cmdline_parse_token_string_t ls_stats = LB_STR(LcoreStatsArgs, c, "stats");
void simple_fn(void*, struct cmdline* cl, void* data) {
  Request r;
  r.kind = static_cast<Request::Kind>(reinterpret_cast<uintptr_t>(data));
  dispatch(r, cl);
}
#define LB_KIND(k) (void*)(uintptr_t)Request::Kind::k
cmdline_parse_inst_t cmd_show_lcore = {simple_fn, LB_KIND(show_lcore_stats),
                                       "show lcore stats: packets, flows and drops per worker lcore",
                                       LB_TOKENS(T(ls_show), T(ls_lcore), T(ls_stats))};
cmdline_parse_inst_t cmd_show_vip = {simple_fn, LB_KIND(show_vip), "show vip: every VIP, its mode and scheduler",
                                     LB_TOKENS(T(w_show), T(w_vip))};
cmdline_parse_inst_t cmd_show_config = {simple_fn, LB_KIND(show_config),
                                        "show config: the running configuration, as TOML",
                                        LB_TOKENS(T(w_show), T(w_config))};
cmdline_parse_inst_t cmd_clear_stats = {simple_fn, LB_KIND(clear_stats), "clear stats: start counting from zero",
                                        LB_TOKENS(T(w_clear), T(w_stats_b))};
cmdline_parse_inst_t cmd_start = {simple_fn, LB_KIND(start), "start: accept new connections to the VIPs",
                                  LB_TOKENS(T(w_start))};
cmdline_parse_inst_t cmd_stop = {
    simple_fn, LB_KIND(stop), "stop: refuse new connections with a TCP RST; established ones keep flowing",
    LB_TOKENS(T(w_stop))};
cmdline_parse_inst_t cmd_reload = {simple_fn, LB_KIND(reload),
                                   "reload: re-read the configuration file and apply the difference",
                                   LB_TOKENS(T(w_reload))};
cmdline_parse_inst_t cmd_quit = {simple_fn, LB_KIND(quit), "quit: stop lbdp", LB_TOKENS(T(w_quit))};

// ---- show backend [VIP PORT] / show flows [VIP PORT] [count|N]
struct ShowVipArgs {
  cmdline_fixed_string_t show, what, count;
  cmdline_ipaddr_t vip;
  uint16_t vip_port;
  uint32_t limit;
};
cmdline_parse_token_string_t sv_show = LB_STR(ShowVipArgs, show, "show");
cmdline_parse_token_string_t sv_backend = LB_STR(ShowVipArgs, what, "backend");
cmdline_parse_token_string_t sv_flows = LB_STR(ShowVipArgs, what, "flows");
cmdline_parse_token_ipaddr_t sv_vip = LB_IP(ShowVipArgs, vip);
cmdline_parse_token_num_t sv_port = LB_NUM(ShowVipArgs, vip_port, RTE_UINT16);
cmdline_parse_token_string_t sv_count = LB_STR(ShowVipArgs, count, "count");
cmdline_parse_token_num_t sv_limit = LB_NUM(ShowVipArgs, limit, RTE_UINT32);
enum ShowVipForm : uintptr_t { kPlain = 0, kWithVip = 1, kCount = 2, kLimit = 4 };
void show_vip_fn(void* parsed, struct cmdline* cl, void* data) {
  auto* a = static_cast<ShowVipArgs*>(parsed);
  auto form = reinterpret_cast<uintptr_t>(data);
  Request r;
  r.kind = std::strcmp(a->what, "backend") == 0 ? Request::Kind::show_backend : Request::Kind::show_flows;
  if (form & kWithVip) r.has_vip = true, r.vip = ip_of(a->vip), r.vip_port = a->vip_port;
  r.count_only = form & kCount;
  if (form & kLimit) r.limit = a->limit;
  dispatch(r, cl);
}
cmdline_parse_inst_t cmd_show_backend = {show_vip_fn, (void*)kPlain,
                                         "show backend: state, weight, open flows, flows, bytes per backend",
                                         LB_TOKENS(T(sv_show), T(sv_backend))};
cmdline_parse_inst_t cmd_show_backend_vip = {show_vip_fn, (void*)kWithVip, "show backend VIP PORT: one VIP's backends",
                                             LB_TOKENS(T(sv_show), T(sv_backend), T(sv_vip), T(sv_port))};
cmdline_parse_inst_t cmd_show_flows = {show_vip_fn, (void*)kPlain, "show flows: the first 100 flows",
                                       LB_TOKENS(T(sv_show), T(sv_flows))};
cmdline_parse_inst_t cmd_show_flows_count = {show_vip_fn, (void*)kCount, "show flows count: flows per lcore",
                                             LB_TOKENS(T(sv_show), T(sv_flows), T(sv_count))};
cmdline_parse_inst_t cmd_show_flows_n = {show_vip_fn, (void*)kLimit, "show flows N: the first N flows",
                                         LB_TOKENS(T(sv_show), T(sv_flows), T(sv_limit))};
cmdline_parse_inst_t cmd_show_flows_vip = {show_vip_fn, (void*)kWithVip, "show flows VIP PORT: one VIP's flows",
                                           LB_TOKENS(T(sv_show), T(sv_flows), T(sv_vip), T(sv_port))};
cmdline_parse_inst_t cmd_show_flows_vip_count = {
    show_vip_fn, (void*)(kWithVip | kCount), "show flows VIP PORT count: how many flows one VIP has",
    LB_TOKENS(T(sv_show), T(sv_flows), T(sv_vip), T(sv_port), T(sv_count))};
cmdline_parse_inst_t cmd_show_flows_vip_n = {
    show_vip_fn, (void*)(kWithVip | kLimit), "show flows VIP PORT N: the first N flows of one VIP",
    LB_TOKENS(T(sv_show), T(sv_flows), T(sv_vip), T(sv_port), T(sv_limit))};

// ---- add vip ADDR PORT mode MODE sched SCHED [local ADDR] / del vip / set vip sched
struct VipArgs {
  cmdline_fixed_string_t verb, vip_kw, mode_kw, mode, sched_kw, sched, local_kw;
  cmdline_ipaddr_t vip, local;
  uint16_t port;
};
cmdline_parse_token_string_t va_add = LB_STR(VipArgs, verb, "add");
cmdline_parse_token_string_t va_del = LB_STR(VipArgs, verb, "del");
cmdline_parse_token_string_t va_set = LB_STR(VipArgs, verb, "set");
cmdline_parse_token_string_t va_vip_kw = LB_STR(VipArgs, vip_kw, "vip");
cmdline_parse_token_ipaddr_t va_vip = LB_IP(VipArgs, vip);
cmdline_parse_token_num_t va_port = LB_NUM(VipArgs, port, RTE_UINT16);
cmdline_parse_token_string_t va_mode_kw = LB_STR(VipArgs, mode_kw, "mode");
cmdline_parse_token_string_t va_mode = LB_STR(VipArgs, mode, kModes);
cmdline_parse_token_string_t va_sched_kw = LB_STR(VipArgs, sched_kw, "sched");
cmdline_parse_token_string_t va_sched = LB_STR(VipArgs, sched, kScheds);
cmdline_parse_token_string_t va_local_kw = LB_STR(VipArgs, local_kw, "local");
cmdline_parse_token_ipaddr_t va_local = LB_IP(VipArgs, local);
void vip_fn(void* parsed, struct cmdline* cl, void* data) {
  auto* a = static_cast<VipArgs*>(parsed);
  Request r;
  r.kind = static_cast<Request::Kind>(reinterpret_cast<uintptr_t>(data) & 0xff);
  r.vip = ip_of(a->vip);
  r.vip_port = a->port;
  if (r.kind == Request::Kind::add_vip) r.mode = mode_of(a->mode);
  if (r.kind == Request::Kind::add_vip || r.kind == Request::Kind::set_vip_sched) r.sched = sched_of(a->sched);
  if (reinterpret_cast<uintptr_t>(data) & 0x100) r.local_addresses.push_back(ip_of(a->local));
  dispatch(r, cl);
}
cmdline_parse_inst_t cmd_add_vip = {
    vip_fn, LB_KIND(add_vip), "add vip ADDR PORT mode nat|fullnat|dsr sched rr|wrr|lc|wlc|maglev|sh: a new VIP",
    LB_TOKENS(T(va_add), T(va_vip_kw), T(va_vip), T(va_port), T(va_mode_kw), T(va_mode), T(va_sched_kw),
              T(va_sched))};
cmdline_parse_inst_t cmd_add_vip_local = {
    vip_fn, (void*)((uintptr_t)Request::Kind::add_vip | 0x100),
    "add vip ADDR PORT mode MODE sched SCHED local ADDR: a VIP with a fullnat local address",
    LB_TOKENS(T(va_add), T(va_vip_kw), T(va_vip), T(va_port), T(va_mode_kw), T(va_mode), T(va_sched_kw),
              T(va_sched), T(va_local_kw), T(va_local))};
cmdline_parse_inst_t cmd_del_vip = {vip_fn, LB_KIND(del_vip),
                                    "del vip ADDR PORT: remove a VIP (its flows are no longer forwarded)",
                                    LB_TOKENS(T(va_del), T(va_vip_kw), T(va_vip), T(va_port))};
cmdline_parse_inst_t cmd_set_vip_sched = {
    vip_fn, LB_KIND(set_vip_sched), "set vip ADDR PORT sched SCHED: change the scheduler (new flows only)",
    LB_TOKENS(T(va_set), T(va_vip_kw), T(va_vip), T(va_port), T(va_sched_kw), T(va_sched))};

// ---- add/del/set backend VIP VPORT ADDR PORT ...
struct BackendArgs {
  cmdline_fixed_string_t verb, kw, attr, state;
  cmdline_ipaddr_t vip, addr;
  uint16_t vip_port, port;
  uint32_t weight;
};
cmdline_parse_token_string_t ba_add = LB_STR(BackendArgs, verb, "add");
cmdline_parse_token_string_t ba_del = LB_STR(BackendArgs, verb, "del");
cmdline_parse_token_string_t ba_set = LB_STR(BackendArgs, verb, "set");
cmdline_parse_token_string_t ba_kw = LB_STR(BackendArgs, kw, "backend");
cmdline_parse_token_ipaddr_t ba_vip = LB_IP(BackendArgs, vip);
cmdline_parse_token_num_t ba_vip_port = LB_NUM(BackendArgs, vip_port, RTE_UINT16);
cmdline_parse_token_ipaddr_t ba_addr = LB_IP(BackendArgs, addr);
cmdline_parse_token_num_t ba_port = LB_NUM(BackendArgs, port, RTE_UINT16);
cmdline_parse_token_string_t ba_weight_kw = LB_STR(BackendArgs, attr, "weight");
cmdline_parse_token_num_t ba_weight = LB_NUM(BackendArgs, weight, RTE_UINT32);
cmdline_parse_token_string_t ba_state_kw = LB_STR(BackendArgs, attr, "state");
cmdline_parse_token_string_t ba_state = LB_STR(BackendArgs, state, kStates);
void backend_fn(void* parsed, struct cmdline* cl, void* data) {
  auto* a = static_cast<BackendArgs*>(parsed);
  uintptr_t d = reinterpret_cast<uintptr_t>(data);
  Request r;
  r.kind = static_cast<Request::Kind>(d & 0xff);
  r.vip = ip_of(a->vip);
  r.vip_port = a->vip_port;
  r.address = ip_of(a->addr);
  r.port = a->port;
  if (d & 0x100 || r.kind == Request::Kind::set_backend_weight) r.weight = a->weight;
  if (r.kind == Request::Kind::set_backend_state) r.state = parse_backend_state(a->state).value_or(BackendState::up);
  dispatch(r, cl);
}
cmdline_parse_inst_t cmd_add_backend = {
    backend_fn, LB_KIND(add_backend), "add backend VIP VPORT ADDR PORT: a new backend (weight 1)",
    LB_TOKENS(T(ba_add), T(ba_kw), T(ba_vip), T(ba_vip_port), T(ba_addr), T(ba_port))};
cmdline_parse_inst_t cmd_add_backend_weight = {
    backend_fn, (void*)((uintptr_t)Request::Kind::add_backend | 0x100),
    "add backend VIP VPORT ADDR PORT weight W: a new backend with weight W",
    LB_TOKENS(T(ba_add), T(ba_kw), T(ba_vip), T(ba_vip_port), T(ba_addr), T(ba_port), T(ba_weight_kw),
              T(ba_weight))};
cmdline_parse_inst_t cmd_del_backend = {
    backend_fn, LB_KIND(del_backend), "del backend VIP VPORT ADDR PORT: no new flows; open ones finish",
    LB_TOKENS(T(ba_del), T(ba_kw), T(ba_vip), T(ba_vip_port), T(ba_addr), T(ba_port))};
cmdline_parse_inst_t cmd_set_backend_weight = {
    backend_fn, LB_KIND(set_backend_weight), "set backend VIP VPORT ADDR PORT weight W: change the weight",
    LB_TOKENS(T(ba_set), T(ba_kw), T(ba_vip), T(ba_vip_port), T(ba_addr), T(ba_port), T(ba_weight_kw),
              T(ba_weight))};
cmdline_parse_inst_t cmd_set_backend_state = {
    backend_fn, LB_KIND(set_backend_state),
    "set backend VIP VPORT ADDR PORT state up|drain|maintenance: take in or out of service",
    LB_TOKENS(T(ba_set), T(ba_kw), T(ba_vip), T(ba_vip_port), T(ba_addr), T(ba_port), T(ba_state_kw),
              T(ba_state))};

// ---- anything else: the catch-all explains what is wrong.
// Its one token matches a whole line, but only a line that no real command accepts
// (checked with cmdline_parse_check against the table without it), so it never makes a
// valid line ambiguous, and Tab completion still offers the real commands.
struct AnyArgs {
  char line[2048];
};
cmdline_parse_ctx_t* real_commands();
int invalid_line_parse(cmdline_parse_token_hdr_t*, const char* buf, void* res, unsigned ressize) {
  static struct cmdline* checker = cmdline_new(real_commands(), "", -1, -1);
  size_t len = std::strcspn(buf, "\n");
  if (len == 0 || len >= sizeof(AnyArgs::line)) return -1;
  std::string line(buf, len);
  // cmdline_parse_check returns the parsed length (>= 0) when some command accepts the line.
  int checked = cmdline_parse_check(checker, (line + "\n").c_str());
  if (checked >= 0) return -1;
  if (res) {
    if (ressize < len + 1) return -1;
    std::memcpy(res, buf, len);
    static_cast<char*>(res)[len] = 0;
  }
  return static_cast<int>(len);
}
int invalid_line_help(cmdline_parse_token_hdr_t*, char* buf, unsigned size) {
  std::snprintf(buf, size, "anything");
  return 0;
}
cmdline_token_ops invalid_line_ops = {invalid_line_parse, nullptr, nullptr, invalid_line_help};
cmdline_parse_token_hdr_t any_rest = {&invalid_line_ops, offsetof(AnyArgs, line)};
std::string diagnose(const std::string& line);
void any_fn(void* parsed, struct cmdline* cl, void*) {
  std::string out = diagnose(static_cast<AnyArgs*>(parsed)->line);
  g_ok = false;
  if (g_out) *g_out += out;
  else if (cl) cmdline_printf(cl, "%s", out.c_str());
}
cmdline_parse_inst_t cmd_any = {any_fn, nullptr, nullptr, LB_TOKENS(&any_rest)};

cmdline_parse_ctx_t g_table[] = {
    &cmd_help, &cmd_show_port_all, &cmd_show_port_one, &cmd_show_lcore, &cmd_show_vip, &cmd_show_config,
    &cmd_show_backend, &cmd_show_backend_vip, &cmd_show_flows, &cmd_show_flows_count, &cmd_show_flows_n,
    &cmd_show_flows_vip, &cmd_show_flows_vip_count, &cmd_show_flows_vip_n, &cmd_clear_stats, &cmd_add_vip,
    &cmd_add_vip_local, &cmd_del_vip, &cmd_set_vip_sched, &cmd_add_backend, &cmd_add_backend_weight,
    &cmd_del_backend, &cmd_set_backend_weight, &cmd_set_backend_state, &cmd_start, &cmd_stop, &cmd_reload,
    &cmd_quit, &cmd_any, nullptr};

cmdline_parse_ctx_t* real_commands() {
  static std::vector<cmdline_parse_inst_t*> table = [] {
    std::vector<cmdline_parse_inst_t*> t;
    for (cmdline_parse_inst_t** inst = g_table; *inst; ++inst)
      if (*inst != &cmd_any) t.push_back(*inst);
    t.push_back(nullptr);
    return t;
  }();
  return table.data();
}

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string token_help(cmdline_parse_token_hdr_t* tk) {
  if (tk->ops == &cmdline_token_string_ops) {
    const char* str = reinterpret_cast<cmdline_parse_token_string_t*>(tk)->string_data.str;
    std::string choices = str ? str : "";
    bool several = choices.find('#') != std::string::npos;
    for (auto& c : choices)
      if (c == '#') c = '|';
    return several ? "one of " + choices : "'" + choices + "'";
  }
  char buf[256] = "";
  if (tk->ops->get_help) tk->ops->get_help(tk, buf, sizeof buf);
  std::string help = buf;
  // String tokens' help is their choices separated by '#'.
  for (auto& c : help)
    if (c == '#') c = '|';
  if (tk->ops == &cmdline_token_num_ops) {
    auto* num = reinterpret_cast<cmdline_parse_token_num_t*>(tk);
    switch (num->num_data.type) {
      case RTE_UINT16: return "a number 0..65535";
      case RTE_UINT32: return "a number 0..4294967295";
      default: return "a number";
    }
  }
  if (tk->ops == &cmdline_token_ipaddr_ops) return "an IPv4 address";
  return help.empty() ? "something else" : help;
}

// Which instance gets furthest through the words, and where it stops.
std::string diagnose(const std::string& line) {
  std::vector<std::string> words = split_words(line);
  if (words.empty()) return "";
  size_t best_matched = 0;
  cmdline_parse_inst_t* best = nullptr;
  std::vector<std::string> expected;  // what the instances that got furthest wanted next
  for (cmdline_parse_inst_t** inst = g_table; *inst && *inst != &cmd_any; ++inst) {
    size_t matched = 0;
    for (; matched < words.size(); ++matched) {
      cmdline_parse_token_hdr_t* tk = (*inst)->tokens[matched];
      if (!tk) break;
      alignas(16) char result[sizeof(cmdline_ipaddr_t) + 256];
      int n = tk->ops->parse(tk, words[matched].c_str(), result, sizeof result);
      if (n < 0 || static_cast<size_t>(n) != words[matched].size()) break;
    }
    if (matched == 0 || matched < best_matched) continue;
    if (matched > best_matched) best_matched = matched, best = *inst, expected.clear();
    cmdline_parse_token_hdr_t* next = (*inst)->tokens[matched];
    std::string want = next ? token_help(next) : "the end of the command";
    if (std::find(expected.begin(), expected.end(), want) == expected.end()) expected.push_back(want);
  }
  if (!best) return "error: unknown command '" + words[0] + "' (try: help)\n";
  std::string wanted;
  for (size_t i = 0; i < expected.size(); ++i) wanted += (i ? " or " : "") + expected[i];
  cmdline_parse_token_hdr_t* next = best->tokens[best_matched];
  if (best_matched < words.size()) {
    if (expected.size() == 1 && !next) return "error: unexpected '" + words[best_matched] + "' after a complete command\n";
    return "error: token " + std::to_string(best_matched + 1) + " '" + words[best_matched] + "': expected " + wanted +
           "\n";
  }
  if (!next) return "error: '" + line.substr(0, line.find('\n')) + "' was not accepted\n";
  return "error: incomplete command: expected " + wanted + " after '" + words.back() + "'\n";
}

}  // namespace

cmdline_parse_ctx_t* command_table() { return g_table; }

void set_interactive_executor(CommandExecutor* executor) { g_interactive = executor; }

bool run_command(CommandExecutor& executor, const std::string& line, std::string& out) {
  size_t start = line.find_first_not_of(" \t\r\n");
  if (start == std::string::npos || line[start] == '#') return true;
  std::string trimmed = line.substr(start, line.find_last_not_of(" \t\r\n") - start + 1) + "\n";
  static struct cmdline* cl = cmdline_new(g_table, "", -1, -1);
  g_executor = &executor;
  g_out = &out;
  g_ok = true;
  int rc = cmdline_parse(cl, trimmed.c_str());
  g_executor = nullptr;
  g_out = nullptr;
  if (rc < 0) {  // cmdline_parse returns the parsed length on success
    out += rc == CMDLINE_PARSE_AMBIGUOUS ? "error: ambiguous command\n" : diagnose(trimmed);
    return false;
  }
  return g_ok;
}

std::string command_help() {
  std::string out;
  for (cmdline_parse_inst_t** inst = g_table; *inst; ++inst)
    if ((*inst)->help_str) out += std::string((*inst)->help_str) + "\n";
  return out;
}

}  // namespace lb
