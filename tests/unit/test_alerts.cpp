// lbcp's alert policy (de-duplication, rate limit, suppressed counts), the mail and
// webhook formatting, the sender's queue and retries (with a fake transport), and the
// [alerts] config keys. The policy takes the time as an argument; nothing sleeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "alert_sender.hpp"
#include "alerts.hpp"
#include "config.hpp"

namespace {

using lb::cp::Alert;
using lb::cp::AlertKind;
using lb::cp::AlertPolicy;
using lb::cp::AlertPolicyParams;
using Verdict = lb::cp::AlertPolicy::Verdict;

Alert alert(AlertKind kind, const std::string& target) {
  Alert a;
  a.kind = kind;
  a.target = target;
  a.summary = std::string("backend ") + target + " " + lb::cp::alert_kind_name(kind);
  a.detail = "detail";
  return a;
}

AlertPolicyParams policy_params(uint64_t dedup_ms, uint32_t max, uint64_t window_ms) {
  AlertPolicyParams p;
  p.dedup_window_ms = dedup_ms;
  p.max_per_window = max;
  p.window_ms = window_ms;
  return p;
}

TEST(AlertPolicy, TheSameAlertWithinTheDedupWindowIsSuppressed) {
  AlertPolicy policy(policy_params(60000, 100, 3600000));
  Alert a = alert(AlertKind::dead, "10.0.0.1:80");
  EXPECT_EQ(policy.offer(a, 1000), Verdict::send);
  EXPECT_EQ(a.suppressed_duplicates, 0u);
  for (uint64_t t : {2000, 30000, 60999}) {
    Alert again = alert(AlertKind::dead, "10.0.0.1:80");
    EXPECT_EQ(policy.offer(again, t), Verdict::duplicate) << t;
  }
  EXPECT_EQ(policy.pending_suppressed(), 3u);
  // The window is counted from the one that went out: at 61000 it may go again, and
  // says that 3 were suppressed.
  Alert later = alert(AlertKind::dead, "10.0.0.1:80");
  EXPECT_EQ(policy.offer(later, 61000), Verdict::send);
  EXPECT_EQ(later.suppressed_duplicates, 3u);
  EXPECT_EQ(later.suppressed_rate_limited, 0u);
  EXPECT_EQ(policy.pending_suppressed(), 0u);
  EXPECT_EQ(policy.sent(), 2u);
  EXPECT_EQ(policy.duplicates(), 3u);
}

TEST(AlertPolicy, DifferentKindsAndTargetsAreNotDuplicates) {
  AlertPolicy policy(policy_params(60000, 100, 3600000));
  Alert dead = alert(AlertKind::dead, "10.0.0.1:80");
  Alert recovered = alert(AlertKind::recovered, "10.0.0.1:80");
  Alert other = alert(AlertKind::dead, "10.0.0.2:80");
  Alert vip = alert(AlertKind::vip_down, "10.0.0.1:80");
  EXPECT_EQ(policy.offer(dead, 1000), Verdict::send);
  EXPECT_EQ(policy.offer(recovered, 1100), Verdict::send);
  EXPECT_EQ(policy.offer(other, 1200), Verdict::send);
  EXPECT_EQ(policy.offer(vip, 1300), Verdict::send);
  // A flapping node: the second dead/recovered pair within the window is suppressed.
  Alert dead2 = alert(AlertKind::dead, "10.0.0.1:80");
  Alert recovered2 = alert(AlertKind::recovered, "10.0.0.1:80");
  EXPECT_EQ(policy.offer(dead2, 2000), Verdict::duplicate);
  EXPECT_EQ(policy.offer(recovered2, 2100), Verdict::duplicate);
}

TEST(AlertPolicy, RateLimitCountsWhatItSuppressesAndTheNextAlertSaysSo) {
  // At most 3 in any 10 s; no de-duplication in the way (different targets).
  AlertPolicy policy(policy_params(60000, 3, 10000));
  std::vector<Verdict> verdicts;
  for (int i = 0; i < 6; ++i) {
    Alert a = alert(AlertKind::dead, "10.0.0." + std::to_string(i + 1) + ":80");
    verdicts.push_back(policy.offer(a, 1000 + static_cast<uint64_t>(i)));
  }
  EXPECT_EQ(verdicts, (std::vector<Verdict>{Verdict::send, Verdict::send, Verdict::send, Verdict::rate_limited,
                                            Verdict::rate_limited, Verdict::rate_limited}));
  EXPECT_EQ(policy.pending_suppressed(), 3u);
  // The window slides: the first sent (t=1000) leaves it at t=11000, not before.
  Alert early = alert(AlertKind::dead, "10.0.1.1:80");
  EXPECT_EQ(policy.offer(early, 10999), Verdict::rate_limited);
  Alert next = alert(AlertKind::dead, "10.0.1.2:80");
  EXPECT_EQ(policy.offer(next, 11000), Verdict::send);
  EXPECT_EQ(next.suppressed_rate_limited, 4u);
  EXPECT_EQ(next.suppressed_duplicates, 0u);
  EXPECT_EQ(policy.rate_limited(), 4u);
  // Reported once only.
  Alert after = alert(AlertKind::dead, "10.0.1.3:80");
  EXPECT_EQ(policy.offer(after, 11001), Verdict::send);
  EXPECT_EQ(after.suppressed_rate_limited, 0u);
}

TEST(AlertPolicy, SuppressedCountsAddUpAcrossReasons) {
  AlertPolicy policy(policy_params(60000, 2, 10000));
  Alert a = alert(AlertKind::dead, "10.0.0.1:80");
  Alert b = alert(AlertKind::dead, "10.0.0.2:80");
  Alert dup = alert(AlertKind::dead, "10.0.0.1:80");
  Alert limited = alert(AlertKind::dead, "10.0.0.3:80");
  EXPECT_EQ(policy.offer(a, 0), Verdict::send);
  EXPECT_EQ(policy.offer(b, 1), Verdict::send);
  EXPECT_EQ(policy.offer(dup, 2), Verdict::duplicate);  // de-duplication is checked first
  EXPECT_EQ(policy.offer(limited, 3), Verdict::rate_limited);
  Alert next = alert(AlertKind::recovered, "10.0.0.1:80");
  EXPECT_EQ(policy.offer(next, 20000), Verdict::send);
  EXPECT_EQ(next.suppressed_duplicates, 1u);
  EXPECT_EQ(next.suppressed_rate_limited, 1u);
}

TEST(AlertPolicy, ZeroDedupWindowSendsEveryAlertUpToTheRateLimit) {
  AlertPolicy policy(policy_params(0, 3, 10000));
  Alert a1 = alert(AlertKind::dead, "10.0.0.1:80");
  Alert a2 = alert(AlertKind::dead, "10.0.0.1:80");
  Alert a3 = alert(AlertKind::dead, "10.0.0.1:80");
  Alert a4 = alert(AlertKind::dead, "10.0.0.1:80");
  EXPECT_EQ(policy.offer(a1, 0), Verdict::send);
  EXPECT_EQ(policy.offer(a2, 1), Verdict::send);
  EXPECT_EQ(policy.offer(a3, 2), Verdict::send);
  EXPECT_EQ(policy.offer(a4, 3), Verdict::rate_limited);
}

// ---- formatting ----------------------------------------------------------------------

lb::cp::AlertsConfig mail_config() {
  lb::cp::AlertsConfig c;
  c.smtp_url = "smtp://127.0.0.1:2525";
  c.mail_from = "lbcp@appliance.example";
  c.mail_to = {"ops@example.com", "oncall@example.com"};
  return c;
}

TEST(AlertFormat, Rfc5322Date) {
  EXPECT_EQ(lb::cp::rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(lb::cp::rfc5322_date(1700000000123), "Tue, 14 Nov 2023 22:13:20 +0000");
}

TEST(AlertFormat, MailHasTheHeadersAndCrlfLineEnds) {
  Alert a = alert(AlertKind::dead, "198.18.1.11:80");
  a.summary = "backend 198.18.1.11:80 is dead\r\nBcc: someone@evil.example";  // must stay one header line
  a.detail = "line one\nline two\n";
  a.time_ms = 1700000000000;
  a.suppressed_duplicates = 2;
  a.suppressed_rate_limited = 1;
  std::string m = lb::cp::format_mail(a, mail_config(), 1700000001000, "<id.1@appliance>", "lb1");
  EXPECT_EQ(m.rfind("Date: Tue, 14 Nov 2023 22:13:21 +0000\r\n", 0), 0u) << m;
  EXPECT_NE(m.find("\r\nFrom: lbcp <lbcp@appliance.example>\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\nTo: ops@example.com, oncall@example.com\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\nSubject: [lbcp lb1] backend 198.18.1.11:80 is dead  Bcc: someone@evil.example\r\n"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(m.find("\r\nMessage-ID: <id.1@appliance>\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\n\r\nline one\r\nline two\r\n"), std::string::npos) << m;
  EXPECT_NE(m.find("3 earlier alert(s) were not sent (2 duplicate, 1 over the rate limit)"), std::string::npos);
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') {
      ASSERT_TRUE(i > 0 && m[i - 1] == '\r') << "bare LF at " << i;
    }
  }
}

TEST(AlertFormat, WebhookJsonIsEscaped) {
  Alert a = alert(AlertKind::vip_down, "198.18.0.100:80");
  a.summary = "VIP \"x\" down";
  a.detail = "a\\b\nc\x01";
  a.time_ms = 0;
  std::string j = lb::cp::format_webhook_json(a, "lb1");
  EXPECT_EQ(j,
            "{\"source\":\"lbcp\",\"host\":\"lb1\",\"kind\":\"vip_down\",\"target\":\"198.18.0.100:80\","
            "\"summary\":\"VIP \\\"x\\\" down\",\"detail\":\"a\\\\b\\nc\\u0001\",\"time_ms\":0,"
            "\"time\":\"1970-01-01T00:00:00.000Z\",\"suppressed\":{\"duplicates\":0,\"rate_limited\":0}}");
}

// ---- the sender: queue, retries, give-up (a fake transport, no network) ----------------

class FakeTransport : public lb::cp::AlertTransport {
 public:
  explicit FakeTransport(int mail_failures, int webhook_failures = 0)
      : mail_failures_(mail_failures), webhook_failures_(webhook_failures) {}
  bool send_mail(const lb::cp::AlertsConfig&, const std::string& message, std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++mail_attempts;
    if (mail_failures_ != 0) {
      if (mail_failures_ > 0) --mail_failures_;
      *error = "450 try later";
      return false;
    }
    mails.push_back(message);
    return true;
  }
  bool post_json(const lb::cp::AlertsConfig&, const std::string& body, std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++webhook_attempts;
    if (webhook_failures_ != 0) {
      if (webhook_failures_ > 0) --webhook_failures_;
      *error = "HTTP status 503";
      return false;
    }
    posts.push_back(body);
    return true;
  }
  std::mutex mutex_;
  int mail_failures_, webhook_failures_;  // -1 = always fail
  int mail_attempts = 0, webhook_attempts = 0;
  std::vector<std::string> mails, posts;
};

lb::cp::AlertsConfig fast_retry_config() {
  lb::cp::AlertsConfig c = mail_config();
  c.retry_initial_ms = 10;
  c.retry_max_ms = 20;
  c.give_up_after = 4;
  c.queue_size = 2;
  return c;
}

TEST(AlertSender, AFullQueueDropsTheOldest) {
  auto transport = std::make_unique<FakeTransport>(0);
  FakeTransport* fake = transport.get();
  lb::cp::AlertSender sender(fast_retry_config(), std::move(transport), "lb1");
  sender.enqueue(alert(AlertKind::dead, "10.0.0.1:80"));  // not started: they wait
  sender.enqueue(alert(AlertKind::dead, "10.0.0.2:80"));
  sender.enqueue(alert(AlertKind::dead, "10.0.0.3:80"));
  EXPECT_EQ(sender.stats().dropped, 1u);
  EXPECT_EQ(sender.stats().waiting, 2u);
  sender.start();
  ASSERT_TRUE(sender.wait_idle(std::chrono::seconds(10)));
  sender.stop();
  std::lock_guard<std::mutex> lock(fake->mutex_);
  ASSERT_EQ(fake->mails.size(), 2u);
  EXPECT_NE(fake->mails[0].find("10.0.0.2:80"), std::string::npos);
  EXPECT_NE(fake->mails[1].find("10.0.0.3:80"), std::string::npos);
}

TEST(AlertSender, AFailedMailIsRetriedWithTheSameMessageId) {
  auto transport = std::make_unique<FakeTransport>(2);
  FakeTransport* fake = transport.get();
  lb::cp::AlertsConfig config = fast_retry_config();
  config.webhook_url = "http://127.0.0.1:9/hook";
  lb::cp::AlertSender sender(config, std::move(transport), "lb1");
  sender.start();
  sender.enqueue(alert(AlertKind::dead, "10.0.0.1:80"));
  ASSERT_TRUE(sender.wait_idle(std::chrono::seconds(10)));
  sender.stop();
  lb::cp::AlertSender::Stats s = sender.stats();
  EXPECT_EQ(s.mails_sent, 1u);
  EXPECT_EQ(s.webhooks_sent, 1u);
  EXPECT_EQ(s.failed_attempts, 2u);
  EXPECT_EQ(s.given_up, 0u);
  std::lock_guard<std::mutex> lock(fake->mutex_);
  EXPECT_EQ(fake->mail_attempts, 3);
  EXPECT_EQ(fake->webhook_attempts, 1);  // delivered at once: not sent again with the mail retries
  ASSERT_EQ(fake->mails.size(), 1u);
  EXPECT_NE(fake->mails[0].find("Message-ID: <lbcp."), std::string::npos);
}

TEST(AlertSender, GivesUpAfterTheConfiguredAttempts) {
  auto transport = std::make_unique<FakeTransport>(-1);
  FakeTransport* fake = transport.get();
  lb::cp::AlertSender sender(fast_retry_config(), std::move(transport), "lb1");
  sender.start();
  sender.enqueue(alert(AlertKind::dead, "10.0.0.1:80"));
  ASSERT_TRUE(sender.wait_idle(std::chrono::seconds(10)));
  sender.stop();
  EXPECT_EQ(sender.stats().given_up, 1u);
  EXPECT_EQ(sender.stats().failed_attempts, 4u);
  std::lock_guard<std::mutex> lock(fake->mutex_);
  EXPECT_EQ(fake->mail_attempts, 4);
}

TEST(AlertSender, NothingConfiguredMeansLogOnly) {
  auto transport = std::make_unique<FakeTransport>(0);
  lb::cp::AlertSender sender(lb::cp::AlertsConfig{}, std::move(transport), "lb1");
  sender.enqueue(alert(AlertKind::dead, "10.0.0.1:80"));
  EXPECT_EQ(sender.stats().queued, 0u);
  EXPECT_EQ(sender.stats().waiting, 0u);
}

// ---- [alerts] config -------------------------------------------------------------------

TEST(AlertsConfig, ValidSectionIsRead) {
  const char* text =
      "[heartbeat]\nkey_file = \"k\"\n"
      "[alerts]\n"
      "smtp_url = \"smtp://127.0.0.1:2525\"\n"
      "mail_from = \"lbcp@lb.example\"\n"
      "mail_to = [\"ops@example.com\", \"b@example.com\"]\n"
      "webhook_url = \"https://hooks.example/lb\"\n"
      "dedup_window_s = 600\n"
      "max_per_window = 5\n"
      "window_s = 60\n"
      "retry_initial_ms = 500\n"
      "retry_max_ms = 8000\n"
      "give_up_after = 3\n";
  auto r = lb::cp::parse_config(text, "a.toml");
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0]);
  const lb::cp::AlertsConfig& a = r.config->alerts;
  EXPECT_EQ(a.mail_to, (std::vector<std::string>{"ops@example.com", "b@example.com"}));
  EXPECT_EQ(a.dedup_window_s, 600u);
  EXPECT_EQ(a.max_per_window, 5u);
  EXPECT_EQ(a.window_s, 60u);
  EXPECT_EQ(a.retry_initial_ms, 500u);
  EXPECT_EQ(a.retry_max_ms, 8000u);
  EXPECT_EQ(a.give_up_after, 3u);
}

TEST(AlertsConfig, BadValuesAreAllReported) {
  const char* text =
      "[heartbeat]\nkey_file = \"k\"\n"
      "[alerts]\n"                                  // 3
      "smtp_url = \"mail.example:25\"\n"            // 4: no scheme
      "mail_to = [\"ops@example.com\", \"x\\r\\nBcc: y@z\"]\n"  // 5: header injection
      "webhook_url = \"ftp://x\"\n"                 // 6
      "retry_initial_ms = 5000\n"
      "retry_max_ms = 1000\n"                       // 8: below initial
      "max_per_window = 0\n";                       // 9
  auto r = lb::cp::parse_config(text, "a.toml");
  EXPECT_FALSE(r.config);
  std::vector<std::string> expected_prefixes = {
      "a.toml:4: alerts.smtp_url: ", "a.toml:3: alerts.mail_from: missing", "a.toml:5: alerts.mail_to: [1] ",
      "a.toml:6: alerts.webhook_url: ", "a.toml:8: alerts.retry_max_ms: 1000 is below retry_initial_ms (5000)",
      "a.toml:9: alerts.max_per_window: 0 out of range [1, 10000]"};
  for (const std::string& prefix : expected_prefixes) {
    bool found = std::any_of(r.errors.begin(), r.errors.end(),
                             [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
    EXPECT_TRUE(found) << "no error starting with: " << prefix;
  }
  EXPECT_EQ(r.errors.size(), expected_prefixes.size());
}

}  // namespace
