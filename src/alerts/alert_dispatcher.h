// AlertDispatcher: delivers the alert outbox (SPEC §6) to the operator's webhook. Every
// event the vault enqueued (in the same transaction as the state change that caused it)
// is POSTed as JSON, signed with HMAC-SHA256, retried with exponential backoff and jitter
// until a 2xx answer, and marked delivered in the store, so delivery survives restarts
// and happens at least once. Receivers deduplicate on the event id (body "id" and the
// Latchkey-Event-Id header). Each event is also logged once when first seen.
//
// Signature: Latchkey-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// (the timestamp lets a receiver refuse replays).
//
// Owns one background thread between Start() and Stop(); DeliverDue() may also be called
// directly (tests). The store, HTTP client, clock and random must outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/random.h"
#include "common/secret_string.h"
#include "common/status.h"
#include "oauth/http_client.h"
#include "store/records.h"
#include "store/store.h"

namespace latchkey::alerts {

struct WebhookOptions {
  std::string url;  // empty: events stay in the outbox (visible with `latchkey doctor` and the admin API)
  SecretString secret;
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds first_backoff{5000};
  std::chrono::milliseconds longest_backoff{3600 * 1000};
  int batch = 20;
  // How long a claimed batch stays this process's (ClaimDueAlerts): longer than
  // delivering a batch can take; after it another node may deliver what is left.
  std::chrono::milliseconds claim{300000};
};

// The JSON body and signature header value for one event at `now` (exposed for tests).
std::string WebhookBody(const store::AlertEvent& event);
std::string WebhookSignature(const SecretString& secret, TimePoint now, std::string_view body);

class AlertDispatcher {
 public:
  // `on_attempt(delivered)` is called after each delivery attempt (metrics).
  AlertDispatcher(store::Store& store, oauth::HttpClient& http, const Clock& clock, Random& random,
                  WebhookOptions options, std::function<void(bool)> on_attempt = {});
  ~AlertDispatcher();  // Stop()
  AlertDispatcher(const AlertDispatcher&) = delete;
  AlertDispatcher& operator=(const AlertDispatcher&) = delete;

  Status Start();
  void Stop();

  // One pass over the due events: returns how many were delivered.
  StatusOr<int> DeliverDue();

 private:
  void Run();
  Status Deliver(const store::AlertEvent& event);

  store::Store& store_;
  oauth::HttpClient& http_;
  const Clock& clock_;
  Random& random_;
  WebhookOptions options_;
  std::function<void(bool)> on_attempt_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace latchkey::alerts
