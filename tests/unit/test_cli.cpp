// Unit tests for cli.hpp: every command of the table turns a typical line into the right
// Request, and every kind of bad line is refused with one error line that names the
// offending token, without reaching the executor. No EAL needed: DPDK's cmdline
// library is plain C.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"

namespace lb {
namespace {

using K = Request::Kind;

// Records what it was asked; answers with `result`.
class FakeExecutor : public CommandExecutor {
 public:
  bool execute(const Request& request, std::string& out) override {
    requests.push_back(request);
    out += result ? "ok\n" : "error: fake failure\n";
    return result;
  }
  std::vector<Request> requests;
  bool result = true;
};

Ipv4 A(const char* s) {
  auto a = parse_ipv4(s);
  EXPECT_TRUE(a) << s;
  return a.value_or(Ipv4{});
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// ---- every command of the table, with a typical line

struct GoodCase {
  std::string syntax;  // the help line's syntax part (before ": "), names the table entry
  std::string line;
  std::function<void(const Request&)> check;
};

const char* kVip = "198.18.0.100";
const char* kBackend = "198.18.1.11";

void expect_defaults_for_show(const Request& r) {
  EXPECT_FALSE(r.has_vip);
  EXPECT_FALSE(r.count_only);
  EXPECT_EQ(r.limit, 100u);
}

std::vector<GoodCase> good_cases() {
  const Ipv4 vip = A(kVip), be = A(kBackend);
  auto vip_is = [=](const Request& r, uint16_t port) {
    EXPECT_EQ(r.vip, vip);
    EXPECT_EQ(r.vip_port, port);
  };
  auto backend_is = [=](const Request& r, uint16_t vport, uint16_t port) {
    EXPECT_EQ(r.vip, vip);
    EXPECT_EQ(r.vip_port, vport);
    EXPECT_EQ(r.address, be);
    EXPECT_EQ(r.port, port);
  };
  return {
      {"help", "help", [](const Request& r) { EXPECT_EQ(r.kind, K::help); }},
      {"show port stats|info all", "show port stats all",
       [](const Request& r) {
         EXPECT_EQ(r.kind, K::show_port_stats);
         EXPECT_TRUE(r.all);
       }},
      {"show port stats|info all", "show port info all",
       [](const Request& r) {
         EXPECT_EQ(r.kind, K::show_port_info);
         EXPECT_TRUE(r.all);
       }},
      {"show port stats|info N", "show port stats 3",
       [](const Request& r) {
         EXPECT_EQ(r.kind, K::show_port_stats);
         EXPECT_FALSE(r.all);
         EXPECT_EQ(r.port_id, 3);
       }},
      {"show port stats|info N", "show port info 65535",
       [](const Request& r) {
         EXPECT_EQ(r.kind, K::show_port_info);
         EXPECT_FALSE(r.all);
         EXPECT_EQ(r.port_id, 65535);
       }},
      {"show lcore stats", "show lcore stats", [](const Request& r) { EXPECT_EQ(r.kind, K::show_lcore_stats); }},
      {"show vip", "show vip", [](const Request& r) { EXPECT_EQ(r.kind, K::show_vip); }},
      {"show config", "show config", [](const Request& r) { EXPECT_EQ(r.kind, K::show_config); }},
      {"show backend", "show backend",
       [](const Request& r) {
         EXPECT_EQ(r.kind, K::show_backend);
         EXPECT_FALSE(r.has_vip);
       }},
      {"show backend VIP PORT", std::string("show backend ") + kVip + " 80",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::show_backend);
         EXPECT_TRUE(r.has_vip);
         vip_is(r, 80);
       }},
      {"show flows", "show flows",
       [](const Request& r) {
         EXPECT_EQ(r.kind, K::show_flows);
         expect_defaults_for_show(r);
       }},
      {"show flows count", "show flows count",
       [](const Request& r) {
         EXPECT_EQ(r.kind, K::show_flows);
         EXPECT_FALSE(r.has_vip);
         EXPECT_TRUE(r.count_only);
       }},
      {"show flows N", "show flows 25",
       [](const Request& r) {
         EXPECT_EQ(r.kind, K::show_flows);
         EXPECT_FALSE(r.has_vip);
         EXPECT_FALSE(r.count_only);
         EXPECT_EQ(r.limit, 25u);
       }},
      {"show flows N", "show flows 4294967295",
       [](const Request& r) {
         EXPECT_EQ(r.kind, K::show_flows);
         EXPECT_EQ(r.limit, 4294967295u);
       }},
      {"show flows VIP PORT", std::string("show flows ") + kVip + " 443",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::show_flows);
         EXPECT_TRUE(r.has_vip);
         vip_is(r, 443);
         EXPECT_FALSE(r.count_only);
         EXPECT_EQ(r.limit, 100u);
       }},
      {"show flows VIP PORT count", std::string("show flows ") + kVip + " 443 count",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::show_flows);
         EXPECT_TRUE(r.has_vip);
         vip_is(r, 443);
         EXPECT_TRUE(r.count_only);
       }},
      {"show flows VIP PORT N", std::string("show flows ") + kVip + " 443 7",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::show_flows);
         EXPECT_TRUE(r.has_vip);
         vip_is(r, 443);
         EXPECT_FALSE(r.count_only);
         EXPECT_EQ(r.limit, 7u);
       }},
      {"clear stats", "clear stats", [](const Request& r) { EXPECT_EQ(r.kind, K::clear_stats); }},
      {"add vip ADDR PORT mode nat|fullnat|dsr sched rr|wrr|lc|wlc|maglev|sh",
       std::string("add vip ") + kVip + " 80 mode nat sched rr",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::add_vip);
         vip_is(r, 80);
         EXPECT_EQ(r.mode, FwdMode::nat);
         EXPECT_EQ(r.sched, SchedKind::rr);
         EXPECT_TRUE(r.local_addresses.empty());
       }},
      {"add vip ADDR PORT mode nat|fullnat|dsr sched rr|wrr|lc|wlc|maglev|sh",
       std::string("add vip ") + kVip + " 53 mode dsr sched sh",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::add_vip);
         vip_is(r, 53);
         EXPECT_EQ(r.mode, FwdMode::dsr);
         EXPECT_EQ(r.sched, SchedKind::sh);
         EXPECT_TRUE(r.local_addresses.empty());
       }},
      {"add vip ADDR PORT mode MODE sched SCHED local ADDR",
       std::string("add vip ") + kVip + " 443 mode fullnat sched maglev local 198.18.1.250",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::add_vip);
         vip_is(r, 443);
         EXPECT_EQ(r.mode, FwdMode::fullnat);
         EXPECT_EQ(r.sched, SchedKind::maglev);
         EXPECT_EQ(r.local_addresses, std::vector<Ipv4>{A("198.18.1.250")});
       }},
      {"del vip ADDR PORT", std::string("del vip ") + kVip + " 80",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::del_vip);
         vip_is(r, 80);
       }},
      {"set vip ADDR PORT sched SCHED", std::string("set vip ") + kVip + " 80 sched wlc",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::set_vip_sched);
         vip_is(r, 80);
         EXPECT_EQ(r.sched, SchedKind::wlc);
       }},
      {"add backend VIP VPORT ADDR PORT", std::string("add backend ") + kVip + " 80 " + kBackend + " 8080",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::add_backend);
         backend_is(r, 80, 8080);
         EXPECT_EQ(r.weight, 1u) << "default weight";
       }},
      {"add backend VIP VPORT ADDR PORT weight W",
       std::string("add backend ") + kVip + " 80 " + kBackend + " 8080 weight 70000",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::add_backend);
         backend_is(r, 80, 8080);
         EXPECT_EQ(r.weight, 70000u) << "a u32 token; the executor checks the range";
       }},
      {"del backend VIP VPORT ADDR PORT", std::string("del backend ") + kVip + " 80 " + kBackend + " 65535",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::del_backend);
         backend_is(r, 80, 65535);
       }},
      {"set backend VIP VPORT ADDR PORT weight W",
       std::string("set backend ") + kVip + " 80 " + kBackend + " 8080 weight 0",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::set_backend_weight);
         backend_is(r, 80, 8080);
         EXPECT_EQ(r.weight, 0u);
       }},
      {"set backend VIP VPORT ADDR PORT state up|drain|maintenance",
       std::string("set backend ") + kVip + " 80 " + kBackend + " 8080 state drain",
       [=](const Request& r) {
         EXPECT_EQ(r.kind, K::set_backend_state);
         backend_is(r, 80, 8080);
         EXPECT_EQ(r.state, BackendState::drain);
       }},
      {"set backend VIP VPORT ADDR PORT state up|drain|maintenance",
       std::string("set backend ") + kVip + " 80 " + kBackend + " 8080 state maintenance",
       [](const Request& r) { EXPECT_EQ(r.state, BackendState::maintenance); }},
      {"start", "start", [](const Request& r) { EXPECT_EQ(r.kind, K::start); }},
      {"stop", "stop", [](const Request& r) { EXPECT_EQ(r.kind, K::stop); }},
      {"reload", "reload", [](const Request& r) { EXPECT_EQ(r.kind, K::reload); }},
      {"quit", "quit", [](const Request& r) { EXPECT_EQ(r.kind, K::quit); }},
  };
}

TEST(Cli, EveryCommandYieldsItsRequest) {
  for (const GoodCase& c : good_cases()) {
    SCOPED_TRACE(c.line);
    FakeExecutor ex;
    std::string out;
    EXPECT_TRUE(run_command(ex, c.line, out)) << out;
    EXPECT_EQ(out, "ok\n") << "run_command adds nothing to a successful command's output";
    ASSERT_EQ(ex.requests.size(), 1u);
    c.check(ex.requests[0]);
  }
}

// The table above covers every entry of the command table (named by its help syntax)
// and every Request kind, so a new command without a test here fails.
TEST(Cli, TestsCoverTheWholeCommandTable) {
  std::set<std::string> in_table, tested;
  for (const std::string& line : lines_of(command_help())) {
    auto colon = line.find(": ");
    ASSERT_NE(colon, std::string::npos) << "help line without 'syntax: text': " << line;
    EXPECT_GT(line.size(), colon + 2) << "help line without text: " << line;
    EXPECT_TRUE(in_table.insert(line.substr(0, colon)).second) << "help syntax listed twice: " << line;
  }
  EXPECT_EQ(in_table.size(), 28u);
  std::set<K> kinds;
  for (const GoodCase& c : good_cases()) {
    tested.insert(c.syntax);
    FakeExecutor ex;
    std::string out;
    run_command(ex, c.line, out);
    if (!ex.requests.empty()) kinds.insert(ex.requests[0].kind);
  }
  EXPECT_EQ(tested, in_table);
  EXPECT_EQ(kinds.size(), static_cast<size_t>(K::quit) + 1) << "every Request::Kind is produced by some line";
}

TEST(Cli, EveryModeSchedulerAndStateKeyword) {
  const std::vector<std::pair<const char*, FwdMode>> modes = {
      {"nat", FwdMode::nat}, {"fullnat", FwdMode::fullnat}, {"dsr", FwdMode::dsr}};
  const std::vector<std::pair<const char*, SchedKind>> scheds = {
      {"rr", SchedKind::rr},   {"wrr", SchedKind::wrr},       {"lc", SchedKind::lc},
      {"wlc", SchedKind::wlc}, {"maglev", SchedKind::maglev}, {"sh", SchedKind::sh}};
  for (auto [mname, mode] : modes)
    for (auto [sname, sched] : scheds) {
      FakeExecutor ex;
      std::string out;
      std::string line = std::string("add vip 10.0.0.1 80 mode ") + mname + " sched " + sname;
      ASSERT_TRUE(run_command(ex, line, out)) << line << "\n" << out;
      ASSERT_EQ(ex.requests.size(), 1u);
      EXPECT_EQ(ex.requests[0].mode, mode) << line;
      EXPECT_EQ(ex.requests[0].sched, sched) << line;
    }
  for (auto [sname, sched] : scheds) {
    FakeExecutor ex;
    std::string out;
    ASSERT_TRUE(run_command(ex, std::string("set vip 10.0.0.1 80 sched ") + sname, out)) << out;
    EXPECT_EQ(ex.requests.at(0).sched, sched) << sname;
  }
  const std::vector<std::pair<const char*, BackendState>> states = {
      {"up", BackendState::up}, {"drain", BackendState::drain}, {"maintenance", BackendState::maintenance}};
  for (auto [name, state] : states) {
    FakeExecutor ex;
    std::string out;
    ASSERT_TRUE(run_command(ex, std::string("set backend 10.0.0.1 80 10.0.1.1 80 state ") + name, out)) << out;
    EXPECT_EQ(ex.requests.at(0).state, state) << name;
  }
}

TEST(Cli, BlanksAroundAndBetweenTokensAreIgnored) {
  FakeExecutor ex;
  std::string out;
  EXPECT_TRUE(run_command(ex, "  \tset   backend 198.18.0.100\t80 198.18.1.11  8080   weight 5 \t\r\n", out)) << out;
  ASSERT_EQ(ex.requests.size(), 1u);
  EXPECT_EQ(ex.requests[0].kind, K::set_backend_weight);
  EXPECT_EQ(ex.requests[0].vip, A("198.18.0.100"));
  EXPECT_EQ(ex.requests[0].address, A("198.18.1.11"));
  EXPECT_EQ(ex.requests[0].port, 8080);
  EXPECT_EQ(ex.requests[0].weight, 5u);
}

TEST(Cli, EmptyLinesAndCommentsSucceedWithoutARequest) {
  for (const char* line : {"", " ", "\t \t", "\n", "# comment", "   # indented comment", "#", "#show vip"}) {
    FakeExecutor ex;
    std::string out;
    EXPECT_TRUE(run_command(ex, line, out)) << "'" << line << "'";
    EXPECT_TRUE(ex.requests.empty()) << "'" << line << "'";
    EXPECT_EQ(out, "") << "'" << line << "'";
  }
}

TEST(Cli, FailingExecutorFailsTheCommand) {
  FakeExecutor ex;
  ex.result = false;
  std::string out;
  EXPECT_FALSE(run_command(ex, "set backend 198.18.0.100 80 198.18.1.11 80 weight 70000", out));
  ASSERT_EQ(ex.requests.size(), 1u) << "the line parsed; the executor refused it";
  EXPECT_EQ(out, "error: fake failure\n");
  // A failure does not stick to the next line.
  ex.result = true;
  out.clear();
  EXPECT_TRUE(run_command(ex, "show vip", out));
  EXPECT_EQ(out, "ok\n");
}

// ---- bad lines

struct BadCase {
  std::string line;
  std::vector<std::string> must_contain;  // the bad word and where/what
};

std::vector<BadCase> bad_cases() {
  const std::string v = "198.18.0.100", b = "198.18.1.11";
  return {
      // Bad IPv4 address, in each family that takes one.
      {"add backend " + v + " 80 198.18.1.300 80", {"token 5", "'198.18.1.300'", "an IPv4 address"}},
      {"add backend abc 80 " + b + " 80", {"token 3", "'abc'", "an IPv4 address"}},
      {"del backend " + v + " 80 198.18.1 80", {"token 5", "'198.18.1'", "an IPv4 address"}},
      {"set backend 198.18.0.256 80 " + b + " 80 weight 2", {"token 3", "'198.18.0.256'", "an IPv4 address"}},
      {"add vip abc 80 mode nat sched rr", {"token 3", "'abc'", "an IPv4 address"}},
      {"add vip " + v + " 80 mode fullnat sched rr local 198.18.1.300",
       {"token 10", "'198.18.1.300'", "an IPv4 address"}},
      {"del vip 198.18.0.300 80", {"token 3", "'198.18.0.300'", "an IPv4 address"}},
      {"set vip abc 80 sched rr", {"token 3", "'abc'", "an IPv4 address"}},
      {"show backend 198.18.0.1000 80", {"token 3", "'198.18.0.1000'", "an IPv4 address"}},
      {"show flows 198.18.0.300 80", {"token 3", "'198.18.0.300'", "an IPv4 address"}},
      // Number out of range for a UINT16 (and a UINT32).
      {"add backend " + v + " 70000 " + b + " 80", {"token 4", "'70000'", "a number 0..65535"}},
      {"add backend " + v + " 80 " + b + " 70000", {"token 6", "'70000'", "a number 0..65535"}},
      {"del vip " + v + " 70000", {"token 4", "'70000'", "a number 0..65535"}},
      {"add vip " + v + " 70000 mode nat sched rr", {"token 4", "'70000'", "a number 0..65535"}},
      {"show port stats 70000", {"token 4", "'70000'", "a number 0..65535"}},
      {"show backend " + v + " 70000", {"token 4", "'70000'", "a number 0..65535"}},
      {"set backend " + v + " 80 " + b + " -1 weight 5", {"token 6", "'-1'", "a number 0..65535"}},
      {"set backend " + v + " 80 " + b + " 80 weight 4294967296", {"token 8", "'4294967296'", "a number 0..4294967295"}},
      {"show flows " + v + " 80 99999999999", {"token 5", "'99999999999'", "a number 0..4294967295"}},
      // Not a number.
      {"add backend " + v + " http " + b + " 80", {"token 4", "'http'", "a number"}},
      {"set backend " + v + " 80 " + b + " 80 weight heavy", {"token 8", "'heavy'", "a number"}},
      {"show port info eth0", {"token 4", "'eth0'", "'all'", "a number"}},
      {"show flows " + v + " 80 many", {"token 5", "'many'", "a number"}},
      {"add vip " + v + " 8o mode nat sched rr", {"token 4", "'8o'", "a number"}},
      // A keyword that is not one of the choices.
      {"add vip " + v + " 80 mode natt sched rr", {"token 6", "'natt'", "nat|fullnat|dsr"}},
      {"add vip " + v + " 80 mode nat sched rrr", {"token 8", "'rrr'", "rr|wrr|lc|wlc|maglev|sh"}},
      {"set vip " + v + " 80 sched rrr", {"token 6", "'rrr'", "rr|wrr|lc|wlc|maglev|sh"}},
      {"set backend " + v + " 80 " + b + " 80 state sleeping", {"token 8", "'sleeping'", "up|drain|maintenance"}},
      {"show port statistics all", {"token 3", "'statistics'", "stats|info"}},
      // A misspelt keyword.
      {"set backend " + v + " 80 " + b + " 80 wieght 5", {"token 7", "'wieght'", "'weight'", "'state'"}},
      {"add backend " + v + " 80 " + b + " 80 wieght 5", {"token 7", "'wieght'", "'weight'"}},
      {"add vip " + v + " 80 mdoe nat sched rr", {"token 5", "'mdoe'", "'mode'"}},
      {"add vip " + v + " 80 mode nat shced rr", {"token 7", "'shced'", "'sched'"}},
      {"add vip " + v + " 80 mode fullnat sched rr lcoal 198.18.1.250", {"token 9", "'lcoal'", "'local'"}},
      {"set vip " + v + " 80 shced rr", {"token 5", "'shced'", "'sched'"}},
      {"show vips", {"token 2", "'vips'"}},
      {"show lcore stat", {"token 3", "'stat'", "'stats'"}},
      {"clear stat", {"token 2", "'stat'", "'stats'"}},
      {"add backnd " + v + " 80 " + b + " 80", {"token 2", "'backnd'", "'backend'"}},
      {"show flows " + v + " 80 cont", {"token 5", "'cont'", "'count'"}},
      // A missing token.
      {"add vip " + v + " 80 mode nat", {"incomplete", "'sched'", "after 'nat'"}},
      {"add vip " + v + " 80 mode fullnat sched rr local", {"incomplete", "an IPv4 address", "after 'local'"}},
      {"add backend " + v + " 80 " + b, {"incomplete", "a number 0..65535"}},
      {"set backend " + v + " 80 " + b + " 80", {"incomplete", "'weight'", "'state'"}},
      {"set backend " + v + " 80 " + b + " 80 weight", {"incomplete", "a number", "after 'weight'"}},
      {"set backend " + v + " 80 " + b + " 80 state", {"incomplete", "up|drain|maintenance"}},
      {"del vip " + v, {"incomplete", "a number 0..65535"}},
      {"del backend " + v + " 80", {"incomplete", "an IPv4 address"}},
      {"set vip " + v + " 80", {"incomplete", "'sched'"}},
      {"show backend " + v, {"incomplete", "a number 0..65535"}},
      {"show port stats", {"incomplete", "'all'", "a number"}},
      {"show", {"incomplete", "after 'show'"}},
      {"clear", {"incomplete", "'stats'"}},
      {"add", {"incomplete", "after 'add'"}},
      // An extra token after a complete command.
      {"show vip extra", {"unexpected", "'extra'"}},
      {"start now", {"unexpected", "'now'"}},
      {"quit quit", {"unexpected", "'quit'"}},
      {"help me", {"unexpected", "'me'"}},
      {"reload file.toml", {"unexpected", "'file.toml'"}},
      {"show flows count 5", {"unexpected", "'5'"}},
      {"show port stats 1 2", {"unexpected", "'2'"}},
      {"del vip " + v + " 80 now", {"unexpected", "'now'"}},
      {"del backend " + v + " 80 " + b + " 80 weight 5", {"unexpected", "'weight'"}},
      {"set backend " + v + " 80 " + b + " 80 state up now", {"unexpected", "'now'"}},
      {"set vip " + v + " 80 sched rr rr", {"unexpected", "'rr'"}},
      {"add vip " + v + " 443 mode fullnat sched rr local 198.18.1.250 198.18.1.251", {"unexpected", "'198.18.1.251'"}},
      // ... where a longer form exists, the position is named with what may follow.
      {"add backend " + v + " 80 " + b + " 80 extra", {"token 7", "'extra'", "the end of the command", "'weight'"}},
      {"add vip " + v + " 80 mode nat sched rr extra", {"token 9", "'extra'", "the end of the command", "'local'"}},
      {"show backend extra", {"token 3", "'extra'", "the end of the command", "an IPv4 address"}},
      // Unknown commands.
      {"frobnicate", {"unknown command 'frobnicate'"}},
      {"delete vip " + v + " 80", {"unknown command 'delete'"}},
      {"SHOW vip", {"unknown command 'SHOW'"}},
      {"shwo vip", {"unknown command 'shwo'"}},
      {"42", {"unknown command '42'"}},
  };
}

void expect_refused(const std::string& line, const std::vector<std::string>& must_contain) {
  SCOPED_TRACE("line: '" + line + "'");
  FakeExecutor ex;
  std::string out;
  EXPECT_FALSE(run_command(ex, line, out));
  EXPECT_TRUE(ex.requests.empty()) << "the executor must not run a refused line";
  std::vector<std::string> lines = lines_of(out);
  ASSERT_EQ(lines.size(), 1u) << "exactly one error line, got:\n" << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(lines[0].rfind("error:", 0), 0u) << lines[0];
  for (const std::string& s : must_contain) EXPECT_NE(lines[0].find(s), std::string::npos) << "'" << s << "' not in: " << lines[0];
}

TEST(Cli, BadLinesAreRefusedWithOneErrorNamingTheToken) {
  for (const BadCase& c : bad_cases()) expect_refused(c.line, c.must_contain);
}

TEST(Cli, ExactErrorTexts) {
  struct Exact {
    std::string line, error;
  };
  const std::vector<Exact> cases = {
      {"add backend 198.18.0.100 80 198.18.1.300 80", "error: token 5 '198.18.1.300': expected an IPv4 address\n"},
      {"add backend 198.18.0.100 70000 198.18.1.11 80", "error: token 4 '70000': expected a number 0..65535\n"},
      {"set backend 198.18.0.100 80 198.18.1.11 80 state sleeping",
       "error: token 8 'sleeping': expected one of up|drain|maintenance\n"},
      {"set backend 198.18.0.100 80 198.18.1.11 80 wieght 5",
       "error: token 7 'wieght': expected 'weight' or 'state'\n"},
      {"add vip 198.18.0.100 80 mode nat", "error: incomplete command: expected 'sched' after 'nat'\n"},
      {"show vip extra", "error: unexpected 'extra' after a complete command\n"},
      {"frobnicate now", "error: unknown command 'frobnicate' (try: help)\n"},
  };
  for (const Exact& c : cases) {
    FakeExecutor ex;
    std::string out;
    EXPECT_FALSE(run_command(ex, c.line, out));
    EXPECT_EQ(out, c.error) << c.line;
    EXPECT_TRUE(ex.requests.empty());
  }
}

// Longer than the catch-all's line buffer: still one error line, no request.
TEST(Cli, VeryLongLineIsRefused) {
  expect_refused("show " + std::string(3000, 'x'), {"token 2", "error:"});
  expect_refused(std::string(3000, 'y'), {"unknown command"});
  std::string many_words = "show vip";
  for (int i = 0; i < 400; ++i) many_words += " w" + std::to_string(i);
  expect_refused(many_words, {"unexpected", "'w0'"});
}

// A refused line leaves nothing behind: the next good line runs normally.
TEST(Cli, GoodLineAfterBadLine) {
  FakeExecutor ex;
  std::string out;
  EXPECT_FALSE(run_command(ex, "add vip 198.18.0.100 80 mode natt sched rr", out));
  out.clear();
  EXPECT_TRUE(run_command(ex, "add vip 198.18.0.100 80 mode dsr sched wrr", out)) << out;
  ASSERT_EQ(ex.requests.size(), 1u);
  EXPECT_EQ(ex.requests[0].mode, FwdMode::dsr);
  EXPECT_EQ(ex.requests[0].sched, SchedKind::wrr);
  EXPECT_TRUE(ex.requests[0].local_addresses.empty()) << "nothing left over from an earlier parse";
}

}  // namespace
}  // namespace lb
