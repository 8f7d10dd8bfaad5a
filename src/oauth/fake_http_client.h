// FakeHttpClient: a scripted HttpClient for tests. Each URL gets a queue of canned
// outcomes (a response or an error Status); the last one repeats once the queue runs
// dry. Every request is recorded (secrets included: tests inspect them). Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "oauth/http_client.h"

namespace latchkey::oauth {

class FakeHttpClient final : public HttpClient {
 public:
  // Queues `response` for `url` (exact match, query included).
  void Respond(const std::string& url, HttpResponse response) {
    std::lock_guard lock(mu_);
    script_[url].push_back(StatusOr<HttpResponse>(std::move(response)));
  }
  void Respond(const std::string& url, int status, std::string body,
               std::string content_type = "application/json",
               std::vector<std::pair<std::string, std::string>> extra_headers = {}) {
    HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    if (!content_type.empty()) response.headers.emplace_back("content-type", std::move(content_type));
    for (auto& header : extra_headers) response.headers.push_back(std::move(header));
    Respond(url, std::move(response));
  }
  // Forgets what is queued for `url` (the last outcome repeats otherwise).
  void Clear(const std::string& url) {
    std::lock_guard lock(mu_);
    script_.erase(url);
  }
  void Fail(const std::string& url, Status error) {
    std::lock_guard lock(mu_);
    script_[url].push_back(StatusOr<HttpResponse>(std::move(error)));
  }

  // Runs `hook` inside every Send (a test advances its clock there: a slow server).
  void OnSend(std::function<void(const HttpRequest&)> hook) {
    std::lock_guard lock(mu_);
    on_send_ = std::move(hook);
  }

  StatusOr<HttpResponse> Send(const HttpRequest& request, const HttpLimits& limits) override {
    std::lock_guard lock(mu_);
    if (on_send_) on_send_(request);
    requests_.push_back(request);
    limits_.push_back(limits);
    auto it = script_.find(request.url);
    if (it == script_.end() || it->second.empty()) {
      return UnavailableError("could not reach " + UrlHostForMessages(request.url) +
                              ": no scripted response (fake)");
    }
    StatusOr<HttpResponse> outcome = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
    return outcome;
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  HttpRequest last_request() const {
    std::lock_guard lock(mu_);
    return requests_.empty() ? HttpRequest{} : requests_.back();
  }
  std::size_t request_count() const {
    std::lock_guard lock(mu_);
    return requests_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::deque<StatusOr<HttpResponse>>> script_;
  std::vector<HttpRequest> requests_;
  std::vector<HttpLimits> limits_;
  std::function<void(const HttpRequest&)> on_send_;
};

}  // namespace latchkey::oauth
