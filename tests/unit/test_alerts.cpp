// lbcp's alert policy (de-duplication, rate limit, suppressed counts), the mail and
// webhook formatting, the sender's queue, retries and stop (with fake transports), the
// curl transport's cancellation (against a loopback socket), and the [alerts] config
// keys. The policy takes the time as an argument.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
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
  // A VIP and a backend with the same address:port are different targets.
  Alert vip_recovered = alert(AlertKind::vip_recovered, "10.0.0.1:80");
  EXPECT_EQ(policy.offer(vip_recovered, 1400), Verdict::send);
  Alert dead_again = alert(AlertKind::dead, "10.0.0.1:80");  // the backend's last alert said recovered
  EXPECT_EQ(policy.offer(dead_again, 1500), Verdict::send);
}

TEST(AlertPolicy, AChangeOfKindIsNeverADuplicate) {
  // dead (sent), recovered (sent), dead again within the window: the last alert must say
  // dead, or the reader believes a dead node is up.
  AlertPolicy policy(policy_params(60000, 100, 3600000));
  const std::string target = "10.0.0.1:80";
  std::vector<AlertKind> kinds = {AlertKind::dead, AlertKind::recovered, AlertKind::dead, AlertKind::recovered};
  uint64_t t = 1000;
  for (AlertKind kind : kinds) {
    Alert a = alert(kind, target);
    EXPECT_EQ(policy.offer(a, t), Verdict::send) << lb::cp::alert_kind_name(kind) << " at " << t;
    t += 100;
  }
  // A repeat of the last kind is still a duplicate within the window.
  Alert repeat = alert(AlertKind::recovered, target);
  EXPECT_EQ(policy.offer(repeat, t), Verdict::duplicate);
  Alert vip_down = alert(AlertKind::vip_down, "10.0.0.100:80");
  Alert vip_up = alert(AlertKind::vip_recovered, "10.0.0.100:80");
  Alert vip_down2 = alert(AlertKind::vip_down, "10.0.0.100:80");
  EXPECT_EQ(policy.offer(vip_down, t + 1), Verdict::send);
  EXPECT_EQ(policy.offer(vip_up, t + 2), Verdict::send);
  EXPECT_EQ(policy.offer(vip_down2, t + 3), Verdict::send);
  EXPECT_EQ(policy.sent(), 7u);
  EXPECT_EQ(policy.duplicates(), 1u);
}

TEST(AlertPolicy, AChangeOfKindIsStillRateLimited) {
  // At most 2 in the window: dead, recovered go out; dead again is held back by the rate
  // limit, not by de-duplication; once the window allows, it goes out and says so.
  AlertPolicy policy(policy_params(60000, 2, 10000));
  const std::string target = "10.0.0.1:80";
  Alert dead = alert(AlertKind::dead, target);
  Alert recovered = alert(AlertKind::recovered, target);
  Alert dead2 = alert(AlertKind::dead, target);
  EXPECT_EQ(policy.offer(dead, 0), Verdict::send);
  EXPECT_EQ(policy.offer(recovered, 100), Verdict::send);
  EXPECT_EQ(policy.offer(dead2, 200), Verdict::rate_limited);
  // The last one that went out said "recovered": a later "dead" is not its duplicate.
  Alert dead3 = alert(AlertKind::dead, target);
  EXPECT_EQ(policy.offer(dead3, 10100), Verdict::send);
  EXPECT_EQ(dead3.suppressed_rate_limited, 1u);
  EXPECT_EQ(dead3.suppressed_duplicates, 0u);
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
  bool send_mail(const lb::cp::AlertsConfig&, const std::string& message, const std::atomic<bool>&,
                 std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++mail_attempts;
    attempted_mails.push_back(message);
    if (mail_failures_ != 0) {
      if (mail_failures_ > 0) --mail_failures_;
      *error = "450 try later";
      return false;
    }
    mails.push_back(message);
    return true;
  }
  bool post_json(const lb::cp::AlertsConfig&, const std::string& body, const std::atomic<bool>&,
                 std::string* error) override {
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
  std::vector<std::string> attempted_mails;  // every attempt, failed or not
  std::vector<std::string> mails, posts;     // delivered
};

// The "Message-ID: ..." header line of a message ("" when there is none).
std::string message_id_of(const std::string& message) {
  size_t start = message.find("\r\nMessage-ID: ");
  if (start == std::string::npos) return "";
  start += 2;
  return message.substr(start, message.find("\r\n", start) - start);
}

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
  std::string first_alert_id;
  {
    std::lock_guard<std::mutex> lock(fake->mutex_);
    ASSERT_EQ(fake->attempted_mails.size(), 3u);
    first_alert_id = message_id_of(fake->attempted_mails[0]);
  }
  // Another alert gets another Message-ID.
  sender.enqueue(alert(AlertKind::recovered, "10.0.0.1:80"));
  ASSERT_TRUE(sender.wait_idle(std::chrono::seconds(10)));
  sender.stop();
  lb::cp::AlertSender::Stats s = sender.stats();
  EXPECT_EQ(s.mails_sent, 2u);
  EXPECT_EQ(s.webhooks_sent, 2u);
  EXPECT_EQ(s.failed_attempts, 2u);
  EXPECT_EQ(s.given_up, 0u);
  std::lock_guard<std::mutex> lock(fake->mutex_);
  EXPECT_EQ(fake->mail_attempts, 4);
  EXPECT_EQ(fake->webhook_attempts, 2);  // each delivered at once: not sent again with the mail retries
  ASSERT_EQ(fake->mails.size(), 2u);
  // Every attempt of the first alert, the two failed ones and the delivered one, carries
  // the same Message-ID.
  ASSERT_EQ(fake->attempted_mails.size(), 4u);
  EXPECT_EQ(first_alert_id.rfind("Message-ID: <lbcp.", 0), 0u) << first_alert_id;
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(message_id_of(fake->attempted_mails[i]), first_alert_id) << "attempt " << i;
  EXPECT_EQ(message_id_of(fake->mails[0]), first_alert_id);
  std::string second_alert_id = message_id_of(fake->attempted_mails[3]);
  EXPECT_FALSE(second_alert_id.empty());
  EXPECT_NE(second_alert_id, first_alert_id);
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

// Attempts that hang (a server that accepts and never answers) until the sender
// cancels them, or for 8 s.
class HangingTransport : public lb::cp::AlertTransport {
 public:
  bool send_mail(const lb::cp::AlertsConfig&, const std::string&, const std::atomic<bool>& cancel,
                 std::string* error) override {
    return hang(cancel, &mail_attempts, error);
  }
  bool post_json(const lb::cp::AlertsConfig&, const std::string&, const std::atomic<bool>& cancel,
                 std::string* error) override {
    return hang(cancel, &webhook_attempts, error);
  }
  std::atomic<int> mail_attempts{0}, webhook_attempts{0};
  std::atomic<bool> saw_cancel{false};

 private:
  bool hang(const std::atomic<bool>& cancel, std::atomic<int>* attempts, std::string* error) {
    ++*attempts;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
    while (!cancel.load() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (cancel.load()) saw_cancel = true;
    *error = "no answer";
    return false;
  }
};

TEST(AlertSender, StopCancelsTheAttemptInProgressAndStartsNoOther) {
  auto transport = std::make_unique<HangingTransport>();
  HangingTransport* fake = transport.get();
  lb::cp::AlertsConfig config = fast_retry_config();
  config.webhook_url = "http://127.0.0.1:9/hook";
  config.timeout_ms = 10000;
  lb::cp::AlertSender sender(config, std::move(transport), "lb1");
  sender.start();
  sender.enqueue(alert(AlertKind::dead, "10.0.0.1:80"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (fake->mail_attempts.load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(fake->mail_attempts.load(), 1);

  auto start = std::chrono::steady_clock::now();
  sender.stop(std::chrono::milliseconds(100));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(2)) << "stop waited for the attempt in progress";
  EXPECT_TRUE(fake->saw_cancel.load());
  EXPECT_EQ(fake->mail_attempts.load(), 1);
  EXPECT_EQ(fake->webhook_attempts.load(), 0) << "an attempt started after stop";
  lb::cp::AlertSender::Stats s = sender.stats();
  EXPECT_EQ(s.failed_attempts, 1u);
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_EQ(s.waiting, 0u);
}

// The real transport against a loopback listener that never accepts: the TCP handshake
// completes in the kernel, the SMTP greeting never comes, so only cancellation (or the
// 30 s timeout) ends the attempt.
TEST(CurlTransport, ACancelledAttemptEndsWithinAboutASecond) {
  ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);

  lb::cp::AlertsConfig config = mail_config();
  config.smtp_url = "smtp://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  config.timeout_ms = 30000;
  std::unique_ptr<lb::cp::AlertTransport> transport = lb::cp::make_curl_transport();
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  std::string error;
  bool sent = transport->send_mail(config, "Subject: test\r\n\r\nbody\r\n", cancel, &error);
  auto took = std::chrono::steady_clock::now() - start;
  canceller.join();
  close(listener);
  curl_global_cleanup();
  EXPECT_FALSE(sent);
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_NE(error.find("cancelled"), std::string::npos) << error;
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
