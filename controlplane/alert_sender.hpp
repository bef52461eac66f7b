// Delivers the alerts AlertPolicy let through: e-mail over SMTP and, optionally, a JSON
// POST to a webhook, both with libcurl (no hand-written SMTP client).
//
// The health loop must never wait for a mail server, so the sender runs on its own
// thread behind a bounded queue: enqueue() only takes a mutex for a moment. When the
// queue is full the oldest alert is dropped and counted. A failed attempt is logged and
// retried per channel (mail, webhook) with exponential backoff (retry_initial_ms,
// doubling, at most retry_max_ms) until give_up_after attempts; an alert that is
// backing off does not hold back newer ones. Each alert keeps one Message-ID across
// retries, so a receiver can recognise a duplicate delivery.
//
// The transport is an interface so tests drive the queue and the retries without a
// network; format_mail and format_webhook_json are pure.
//
// Thread-safety: enqueue, reconfigure, stats and wait_idle may be called from any
// thread; start and stop from the owning thread. The transport is only used by the
// sender thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alerts.hpp"
#include "config.hpp"

namespace lb::cp {

class AlertTransport {
 public:
  virtual ~AlertTransport() = default;
  // One attempt each; false with *error when it failed. `cancel` is set by another
  // thread when the sender stops: an attempt in progress should then give up at once
  // (it counts as failed).
  virtual bool send_mail(const AlertsConfig& config, const std::string& message, const std::atomic<bool>& cancel,
                         std::string* error) = 0;
  virtual bool post_json(const AlertsConfig& config, const std::string& body, const std::atomic<bool>& cancel,
                         std::string* error) = 0;
};

// libcurl: SMTP (CURLOPT_MAIL_FROM / MAIL_RCPT and an upload of the message) and an
// HTTP POST with Content-Type application/json (a 2xx answer counts as delivered).
// Cancellation goes through curl's progress callback, which curl calls many times a
// second while data moves and about once a second while it waits (connecting, or for
// a silent server): a transfer ends within about a second of `cancel` being set.
// curl_global_init must have been called before any thread uses it.
std::unique_ptr<AlertTransport> make_curl_transport();

// The complete RFC 5322 message (CRLF line ends): Date, From, To, Subject, Message-ID,
// MIME headers, then the body (detail and, if any, the suppressed counts).
std::string format_mail(const Alert& alert, const AlertsConfig& config, uint64_t date_epoch_ms,
                        const std::string& message_id, const std::string& host);
// {"source":"lbcp","host":...,"kind":...,"target":...,"summary":...,"detail":...,
//  "time_ms":...,"time":"...Z","suppressed":{"duplicates":N,"rate_limited":M}}
std::string format_webhook_json(const Alert& alert, const std::string& host);
// "Sun, 23 Nov 2025 16:11:00 +0000"
std::string rfc5322_date(uint64_t epoch_ms);

class AlertSender {
 public:
  struct Stats {
    uint64_t queued = 0;          // enqueued in all
    uint64_t mails_sent = 0;
    uint64_t webhooks_sent = 0;
    uint64_t failed_attempts = 0;
    uint64_t given_up = 0;        // alerts with a channel that never succeeded
    uint64_t dropped = 0;         // pushed out of a full queue, or left at stop
    size_t waiting = 0;           // in the queue now (including backing off)
  };

  AlertSender(const AlertsConfig& config, std::unique_ptr<AlertTransport> transport, std::string host);
  ~AlertSender();
  AlertSender(const AlertSender&) = delete;
  AlertSender& operator=(const AlertSender&) = delete;

  void start();
  // Gives queued alerts up to `grace` to go out; then no attempt starts any more, an
  // attempt in progress is cancelled (the curl transport gives up within about a
  // second) and the thread stops. What is left is logged and counted.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0));

  void reconfigure(const AlertsConfig& config);
  void enqueue(Alert alert);
  Stats stats() const;
  // True once nothing is queued or in flight; false after `timeout`.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  using Clock = std::chrono::steady_clock;
  struct Item {
    Alert alert;
    std::string message_id;
    bool mail_pending = false;
    bool webhook_pending = false;
    uint32_t attempts = 0;
    Clock::time_point next_attempt;
  };

  void run();
  void attempt(Item& item, const AlertsConfig& config);

  mutable std::mutex mutex_;
  std::condition_variable wake_;      // new work, stop
  std::condition_variable idle_;      // queue drained
  AlertsConfig config_;
  std::unique_ptr<AlertTransport> transport_;
  std::string host_;
  std::deque<Item> queue_;
  bool in_flight_ = false;
  bool stopping_ = false;
  // Set with stopping_, read by the transport without the mutex while it transfers.
  std::atomic<bool> cancel_{false};
  uint64_t next_id_ = 1;
  Stats stats_;
  std::thread thread_;
};

}  // namespace lb::cp
