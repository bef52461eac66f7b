#include "config.hpp"

#include <filesystem>
#include <toml++/toml.h>
#include <utility>

#include "toml_reader.hpp"

namespace lb::cp {

namespace {

using toml_reader::TableReader;

bool starts_with_any(const std::string& s, std::initializer_list<std::string_view> prefixes) {
  for (auto p : prefixes)
    if (s.size() > p.size() && s.compare(0, p.size(), p) == 0) return true;
  return false;
}

// An address that goes into a mail header and an SMTP envelope: one address, no
// display name, nothing that could end a header line or open another address.
bool plausible_mail_address(const std::string& s) {
  size_t at = s.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == s.size() || s.find('@', at + 1) != std::string::npos)
    return false;
  for (unsigned char c : s)
    if (c <= ' ' || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c >= 0x7f) return false;
  return true;
}

bool plausible_url(const std::string& s) {
  for (unsigned char c : s)
    if (c <= ' ' || c >= 0x7f) return false;
  return true;
}

void read_dataplane(TableReader& r, DataplaneLinkConfig& d) {
  r.allow_only({"shm", "poll_ms"});
  d.shm = r.string("shm").value_or(d.shm);
  d.shm_line = r.line_of("shm");
  if (d.shm.size() < 2 || d.shm[0] != '/' || d.shm.find('/', 1) != std::string::npos || d.shm.size() > 200)
    r.error("shm", "\"" + d.shm + "\" is not a shared-memory name (\"/name\", no further '/')");
  r.integer("poll_ms", d.poll_ms, 1, 1000);
}

void read_health(TableReader& r, HealthConfig& h) {
  r.allow_only({"tick_ms", "warning_ticks", "dead_ticks", "slow_start_s", "slow_start_steps"});
  r.integer("tick_ms", h.tick_ms, 10, 60000);
  r.integer("warning_ticks", h.warning_ticks, 1, 100000);
  r.integer("dead_ticks", h.dead_ticks, 2, 1000000);
  r.integer("slow_start_s", h.slow_start_s, 0, 3600);
  r.integer("slow_start_steps", h.slow_start_steps, 1, 100);
  if (h.dead_ticks <= h.warning_ticks)
    r.error("dead_ticks", std::to_string(h.dead_ticks) + " must be greater than warning_ticks (" +
                              std::to_string(h.warning_ticks) + ")");
}

void read_heartbeat(TableReader& r, const std::string& source, HeartbeatConfig& h) {
  r.allow_only({"key_file", "max_skew_ms"});
  h.key_file = r.string("key_file").value_or(h.key_file);
  h.key_file_line = r.line_of("key_file");
  if (h.key_file.empty()) r.error("key_file", "missing (required): the file holding the heartbeat key");
  // Relative to the config file's folder, as lbbroker's key_file is.
  std::filesystem::path key_path(h.key_file);
  if (!h.key_file.empty() && key_path.is_relative())
    h.key_file = (std::filesystem::path(source).parent_path() / key_path).string();
  r.integer("max_skew_ms", h.max_skew_ms, 100, 3600000);
  h.max_skew_ms_line = r.line_of("max_skew_ms");
}

void read_alerts(TableReader& r, AlertsConfig& a) {
  r.allow_only({"smtp_url", "smtp_starttls", "mail_from", "mail_to", "webhook_url", "dedup_window_s", "max_per_window", "window_s",
                "retry_initial_ms", "retry_max_ms", "give_up_after", "timeout_ms", "queue_size"});
  a.smtp_url = r.string("smtp_url").value_or(a.smtp_url);
  r.boolean("smtp_starttls", a.smtp_starttls);
  a.mail_from = r.string("mail_from").value_or(a.mail_from);
  r.string_array("mail_to", a.mail_to);
  a.webhook_url = r.string("webhook_url").value_or(a.webhook_url);
  r.integer("dedup_window_s", a.dedup_window_s, 0, 86400);
  r.integer("max_per_window", a.max_per_window, 1, 10000);
  r.integer("window_s", a.window_s, 1, 86400);
  r.integer("retry_initial_ms", a.retry_initial_ms, 10, 3600000);
  r.integer("retry_max_ms", a.retry_max_ms, 10, 86400000);
  r.integer("give_up_after", a.give_up_after, 1, 100);
  r.integer("timeout_ms", a.timeout_ms, 100, 300000);
  r.integer("queue_size", a.queue_size, 1, 100000);

  if (!a.smtp_url.empty()) {
    if (!starts_with_any(a.smtp_url, {"smtp://", "smtps://"}) || !plausible_url(a.smtp_url))
      r.error("smtp_url", "\"" + a.smtp_url + "\" is not an smtp:// or smtps:// URL");
    if (a.mail_from.empty()) r.error("mail_from", "missing (required when smtp_url is set)");
    if (a.mail_to.empty()) r.error("mail_to", "missing or empty (required when smtp_url is set)");
  }
  if (!a.mail_from.empty() && !plausible_mail_address(a.mail_from))
    r.error("mail_from", "\"" + a.mail_from + "\" is not a plain address (user@host)");
  for (size_t i = 0; i < a.mail_to.size(); ++i)
    if (!plausible_mail_address(a.mail_to[i]))
      r.error("mail_to", std::string("[").append(std::to_string(i)).append("] \"").append(a.mail_to[i]).append(
                             "\" is not a plain address (user@host)"));
  if (!a.webhook_url.empty() &&
      (!starts_with_any(a.webhook_url, {"http://", "https://"}) || !plausible_url(a.webhook_url)))
    r.error("webhook_url", "\"" + a.webhook_url + "\" is not an http:// or https:// URL");
  if (a.retry_max_ms < a.retry_initial_ms)
    r.error("retry_max_ms", std::to_string(a.retry_max_ms) + " is below retry_initial_ms (" +
                                std::to_string(a.retry_initial_ms) + ")");
}

void read_log(TableReader& r, LogConfig& l) {
  r.allow_only({"level"});
  l.level = r.string("level").value_or(l.level);
  static const char* const kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  bool known = false;
  for (const char* level : kLevels) known |= (l.level == level);
  if (!known) r.error("level", "\"" + l.level + "\" is not one of trace, debug, info, warn, error, critical, off");
}

}  // namespace

ConfigResult parse_config(std::string_view text, const std::string& source) {
  ConfigResult result;
  std::vector<toml_reader::Error> errors;
  std::optional<toml::table> root = toml_reader::parse(text, source, errors);
  if (!root) {
    result.errors = toml_reader::error_texts(std::move(errors));
    return result;
  }
  Config c;
  c.source = source;
  TableReader top(&*root, "", source, errors);

  top.allow_only({"dataplane", "health", "heartbeat", "alerts", "log"}, "unknown table");
  if (const toml::table* t = top.table("dataplane")) {
    TableReader r = top.nested(t, "dataplane");
    read_dataplane(r, c.dataplane);
  }
  if (const toml::table* t = top.table("health")) {
    TableReader r = top.nested(t, "health");
    read_health(r, c.health);
  }
  {
    // [heartbeat] is required (key_file): read even when absent, so that gets its error.
    TableReader r = top.nested(top.table("heartbeat"), "heartbeat");
    read_heartbeat(r, source, c.heartbeat);
  }
  if (const toml::table* t = top.table("alerts")) {
    TableReader r = top.nested(t, "alerts");
    read_alerts(r, c.alerts);
  }
  if (const toml::table* t = top.table("log")) {
    TableReader r = top.nested(t, "log");
    read_log(r, c.log);
  }
  result.errors = toml_reader::error_texts(std::move(errors));
  if (result.errors.empty()) result.config = std::move(c);
  return result;
}

ConfigResult load_config(const std::string& path) {
  std::string error;
  std::optional<std::string> text = toml_reader::read_file(path, &error);
  if (!text) return ConfigResult{std::nullopt, {error}};
  return parse_config(*text, path);
}

std::vector<std::string> restart_only_changes(const Config& running, const Config& next) {
  std::vector<std::string> errors;
  auto refuse = [&](int line, const char* key, const std::string& now, const std::string& wanted) {
    errors.push_back(next.source + ":" + std::to_string(line) + ": " + key + ": changing " + now + " to " + wanted +
                     " needs a restart");
  };
  if (running.dataplane.shm != next.dataplane.shm)
    refuse(next.dataplane.shm_line, "dataplane.shm", "\"" + running.dataplane.shm + "\"",
           "\"" + next.dataplane.shm + "\"");
  if (running.heartbeat.max_skew_ms != next.heartbeat.max_skew_ms)
    refuse(next.heartbeat.max_skew_ms_line, "heartbeat.max_skew_ms", std::to_string(running.heartbeat.max_skew_ms),
           std::to_string(next.heartbeat.max_skew_ms));
  return errors;
}

}  // namespace lb::cp
