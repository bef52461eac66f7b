#include "probe.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>

namespace lb::broker {

namespace {

// Keeps the first kBodyKept bytes of the body and discards the rest (the transfer goes
// on to the end, so the time covers the whole answer).
size_t keep_body(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t bytes = size * count;
  size_t room = HttpProber::kBodyKept - std::min(body->size(), HttpProber::kBodyKept);
  body->append(data, std::min(bytes, room));
  return bytes;
}

}  // namespace

HttpProber::HttpProber(const ProbeConfig& config) : config_(config), curl_(curl_easy_init()) {}

HttpProber::~HttpProber() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

ProbeResult HttpProber::probe() {
  ProbeResult result;
  CURL* curl = static_cast<CURL*>(curl_);
  if (!curl) {
    result.reason = "libcurl could not create a handle";
    return result;
  }
  body_.clear();
  char curl_error[CURL_ERROR_SIZE] = {};
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);        // threads: no SIGALRM for timeouts
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is a wrong status
  curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "lbbroker");
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body_);

  auto start = std::chrono::steady_clock::now();
  CURLcode code = curl_easy_perform(curl);
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  result.response_us = static_cast<uint32_t>(std::min<int64_t>(elapsed.count(), UINT32_MAX));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.http_status);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);  // curl_error goes out of scope

  if (code != CURLE_OK) {
    result.reason = std::string("request failed: ") + (curl_error[0] ? curl_error : curl_easy_strerror(code));
    return result;
  }
  if (result.http_status != config_.expect_status) {
    result.reason = "HTTP status " + std::to_string(result.http_status) + ", expected " + std::to_string(config_.expect_status);
    return result;
  }
  if (!config_.expect_body.empty() && body_.find(config_.expect_body) == std::string::npos) {
    result.reason = "body does not contain \"" + config_.expect_body + "\"";
    return result;
  }
  result.ok = true;
  return result;
}

}  // namespace lb::broker
