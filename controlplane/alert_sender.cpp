#include "alert_sender.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "logging.hpp"
#include "quoted.hpp"

namespace lb::cp {

// ---- formatting ----------------------------------------------------------------------

namespace {

// Header values must stay on one line.
std::string one_line(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

// LF or CRLF line ends -> CRLF, as SMTP wants.
std::string crlf(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

std::string iso8601(uint64_t epoch_ms) {
  std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(epoch_ms % 1000));
  return buf;
}

std::string suppressed_note(const Alert& alert) {
  uint32_t total = alert.suppressed_duplicates + alert.suppressed_rate_limited;
  if (total == 0) return "";
  return std::to_string(total) + " earlier alert(s) were not sent (" + std::to_string(alert.suppressed_duplicates) +
         " duplicate, " + std::to_string(alert.suppressed_rate_limited) +
         " over the rate limit); lbcp's log has them all.";
}

uint64_t epoch_ms_now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

std::string rfc5322_date(uint64_t epoch_ms) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string format_mail(const Alert& alert, const AlertsConfig& config, uint64_t date_epoch_ms,
                        const std::string& message_id, const std::string& host) {
  std::string to;
  for (const std::string& address : config.mail_to) to += (to.empty() ? "" : ", ") + address;
  std::string m;
  m += "Date: " + rfc5322_date(date_epoch_ms) + "\r\n";
  m += "From: lbcp <" + config.mail_from + ">\r\n";
  m += "To: " + to + "\r\n";
  m += "Subject: [lbcp " + one_line(host) + "] " + one_line(alert.summary) + "\r\n";
  m += "Message-ID: " + message_id + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "X-Lbcp-Alert: " + std::string(alert_kind_name(alert.kind)) + " " + one_line(alert.target) + "\r\n";
  m += "\r\n";
  m += crlf(alert.detail);
  if (m.size() < 2 || m.compare(m.size() - 2, 2, "\r\n") != 0) m += "\r\n";
  m += "\r\nWhen: " + iso8601(alert.time_ms) + "\r\nAppliance: " + one_line(host) + "\r\n";
  if (std::string note = suppressed_note(alert); !note.empty()) m += "\r\n" + note + "\r\n";
  return m;
}

std::string format_webhook_json(const Alert& alert, const std::string& host) {
  std::string j = "{";
  j += "\"source\":\"lbcp\",";
  j += "\"host\":" + quoted(host) + ",";
  j += "\"kind\":" + quoted(alert_kind_name(alert.kind)) + ",";
  j += "\"target\":" + quoted(alert.target) + ",";
  j += "\"summary\":" + quoted(alert.summary) + ",";
  j += "\"detail\":" + quoted(alert.detail) + ",";
  j += "\"time_ms\":" + std::to_string(alert.time_ms) + ",";
  j += "\"time\":" + quoted(iso8601(alert.time_ms)) + ",";
  j += "\"suppressed\":{\"duplicates\":" + std::to_string(alert.suppressed_duplicates) +
       ",\"rate_limited\":" + std::to_string(alert.suppressed_rate_limited) + "}";
  return j + "}";
}

// ---- libcurl transport ---------------------------------------------------------------

namespace {

struct Upload {
  const std::string* data;
  size_t offset;
};

size_t read_upload(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  size_t n = std::min(size * count, upload->data->size() - upload->offset);
  std::copy_n(upload->data->data() + upload->offset, n, buffer);
  upload->offset += n;
  return n;
}

size_t discard_body(char*, size_t size, size_t count, void*) { return size * count; }

// Non-zero ends the transfer with CURLE_ABORTED_BY_CALLBACK.
int check_cancel(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load(std::memory_order_relaxed) ? 1 : 0;
}

class CurlTransport final : public AlertTransport {
 public:
  bool send_mail(const AlertsConfig& config, const std::string& message, const std::atomic<bool>& cancel,
                 std::string* error) override {
    CURL* curl = curl_easy_init();
    if (!curl) return fail(error, "curl_easy_init failed");
    char curl_error[CURL_ERROR_SIZE] = {0};
    std::string from = "<" + config.mail_from + ">";
    curl_slist* recipients = nullptr;
    for (const std::string& to : config.mail_to) recipients = curl_slist_append(recipients, ("<" + to + ">").c_str());
    Upload upload{&message, 0};
    curl_easy_setopt(curl, CURLOPT_URL, config.smtp_url.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    if (config.smtp_starttls) curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    common_options(curl, config, cancel, curl_error);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(recipients);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) return fail(error, describe(rc, curl_error, cancel));
    return true;
  }

  bool post_json(const AlertsConfig& config, const std::string& body, const std::atomic<bool>& cancel,
                 std::string* error) override {
    CURL* curl = curl_easy_init();
    if (!curl) return fail(error, "curl_easy_init failed");
    char curl_error[CURL_ERROR_SIZE] = {0};
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, config.webhook_url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "lbcp");
    common_options(curl, config, cancel, curl_error);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) return fail(error, describe(rc, curl_error, cancel));
    if (status < 200 || status > 299) return fail(error, "HTTP status " + std::to_string(status));
    return true;
  }

 private:
  static void common_options(CURL* curl, const AlertsConfig& config, const std::atomic<bool>& cancel,
                             char* error_buffer) {
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(config.timeout_ms));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.timeout_ms));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // a thread that is not the main one
    // The progress callback is how a stopping lbcp ends a transfer that would otherwise
    // run until timeout_ms.
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_cancel);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&cancel));
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  }
  // curl's own message names the host and port; the generic text only when it is empty.
  static std::string describe(CURLcode rc, const char* detail, const std::atomic<bool>& cancel) {
    if (rc == CURLE_ABORTED_BY_CALLBACK && cancel.load()) return "cancelled: lbcp is stopping";
    return detail[0] ? detail : curl_easy_strerror(rc);
  }
  static bool fail(std::string* error, std::string message) {
    *error = std::move(message);
    return false;
  }
};

}  // namespace

std::unique_ptr<AlertTransport> make_curl_transport() { return std::make_unique<CurlTransport>(); }

// ---- the sender thread ---------------------------------------------------------------

AlertSender::AlertSender(const AlertsConfig& config, std::unique_ptr<AlertTransport> transport, std::string host)
    : config_(config), transport_(std::move(transport)), host_(std::move(host)) {}

AlertSender::~AlertSender() { stop(); }

void AlertSender::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  cancel_.store(false);
  thread_ = std::thread([this] { run(); });
}

void AlertSender::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!thread_.joinable()) return;
  }
  if (grace.count() > 0) wait_idle(grace);
  {
    // From here no attempt starts (run() checks stopping_ before each), and the one in
    // progress, if any, is told to give up.
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    cancel_.store(true);
  }
  wake_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  if (!queue_.empty()) {
    logger("alerts")->warn("stopping with {} alert(s) not delivered", queue_.size());
    for (const Item& item : queue_)
      logger("alerts")->warn("not delivered: {}", item.alert.summary);
    stats_.dropped += queue_.size();
    queue_.clear();
  }
  idle_.notify_all();
}

void AlertSender::reconfigure(const AlertsConfig& config) {
  std::lock_guard<std::mutex> lock(mutex_);
  config_ = config;
}

void AlertSender::enqueue(Alert alert) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Item item;
    item.mail_pending = !config_.smtp_url.empty();
    item.webhook_pending = !config_.webhook_url.empty();
    if (!item.mail_pending && !item.webhook_pending) return;  // log only: nowhere to send
    item.message_id = "<lbcp." + std::to_string(epoch_ms_now()) + "." + std::to_string(getpid()) + "." +
                      std::to_string(next_id_++) + "@" + one_line(host_) + ">";
    item.next_attempt = Clock::now();
    item.alert = std::move(alert);
    if (queue_.size() >= std::max<uint32_t>(1, config_.queue_size)) {
      logger("alerts")->warn("alert queue full ({}): dropped the oldest: {}", queue_.size(),
                             queue_.front().alert.summary);
      queue_.pop_front();
      ++stats_.dropped;
    }
    queue_.push_back(std::move(item));
    ++stats_.queued;
  }
  wake_.notify_one();
}

AlertSender::Stats AlertSender::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats s = stats_;
  s.waiting = queue_.size();
  return s;
}

bool AlertSender::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !in_flight_; });
}

void AlertSender::attempt(Item& item, const AlertsConfig& config) {
  ++item.attempts;
  std::string error;
  // A channel removed by a reload since the alert was queued counts as done.
  if (item.mail_pending && config.smtp_url.empty()) item.mail_pending = false;
  if (item.webhook_pending && config.webhook_url.empty()) item.webhook_pending = false;
  if (item.mail_pending) {
    std::string message = format_mail(item.alert, config, epoch_ms_now(), item.message_id, host_);
    if (transport_->send_mail(config, message, cancel_, &error)) {
      item.mail_pending = false;
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.mails_sent;
      logger("alerts")->info("mail sent to {} recipient(s): {}", config.mail_to.size(), item.alert.summary);
    } else {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.failed_attempts;
      logger("alerts")->warn("mail attempt {} of {} failed ({}): {}", item.attempts, config.give_up_after,
                             config.smtp_url, error);
    }
  }
  // Stopping while the mail went out (or failed): the webhook waits for no one.
  if (item.webhook_pending && !cancel_.load()) {
    if (transport_->post_json(config, format_webhook_json(item.alert, host_), cancel_, &error)) {
      item.webhook_pending = false;
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.webhooks_sent;
      logger("alerts")->info("webhook delivered: {}", item.alert.summary);
    } else {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.failed_attempts;
      logger("alerts")->warn("webhook attempt {} of {} failed ({}): {}", item.attempts, config.give_up_after,
                             config.webhook_url, error);
    }
  }
}

void AlertSender::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      idle_.notify_all();
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      continue;
    }
    // The alert whose time has come first; an older one that is backing off does not
    // hold back a newer one.
    auto next = std::min_element(queue_.begin(), queue_.end(),
                                 [](const Item& a, const Item& b) { return a.next_attempt < b.next_attempt; });
    if (next->next_attempt > Clock::now()) {
      wake_.wait_until(lock, next->next_attempt);
      continue;
    }
    Item item = std::move(*next);
    queue_.erase(next);
    AlertsConfig config = config_;
    in_flight_ = true;
    lock.unlock();
    attempt(item, config);
    lock.lock();
    in_flight_ = false;
    if (!item.mail_pending && !item.webhook_pending) continue;
    if (item.attempts >= config.give_up_after) {
      ++stats_.given_up;
      logger("alerts")->error("gave up after {} attempts ({}{}): {}", item.attempts, item.mail_pending ? "mail" : "",
                              item.mail_pending && item.webhook_pending ? " and webhook" :
                              item.webhook_pending                      ? "webhook"
                                                                        : "",
                              item.alert.summary);
      continue;
    }
    // Backoff: retry_initial_ms, doubled per failed attempt, at most retry_max_ms.
    uint64_t delay = config.retry_initial_ms;
    for (uint32_t i = 1; i < item.attempts && delay < config.retry_max_ms; ++i) delay *= 2;
    delay = std::min<uint64_t>(delay, config.retry_max_ms);
    item.next_attempt = Clock::now() + std::chrono::milliseconds(delay);
    if (queue_.size() >= std::max<uint32_t>(1, config_.queue_size)) {
      // Full while it was in flight; it is the oldest, so it is the one that goes.
      logger("alerts")->warn("alert queue full ({}): dropped the oldest: {}", queue_.size(), item.alert.summary);
      ++stats_.dropped;
      continue;
    }
    queue_.push_front(std::move(item));
  }
}

}  // namespace lb::cp
