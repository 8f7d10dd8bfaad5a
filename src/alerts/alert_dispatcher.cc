#include "alerts/alert_dispatcher.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "common/log.h"
#include "crypto/hmac.h"

namespace latchkey::alerts {

std::string WebhookBody(const store::AlertEvent& event) {
  nlohmann::json body = {{"id", event.event_id},
                         {"type", event.type},
                         {"connection", event.connection},
                         {"created_at", FormatRfc3339(event.created_at)}};
  nlohmann::json data = nlohmann::json::parse(event.payload, nullptr, /*allow_exceptions=*/false);
  body["data"] = data.is_discarded() ? nlohmann::json::object() : data;
  return DumpJson(body);
}

std::string WebhookSignature(const SecretString& secret, TimePoint now, std::string_view body) {
  const std::string t = std::to_string(ToUnixMillis(now) / 1000);
  std::string message = t + ".";
  message += body;
  return "t=" + t + ",v1=" + crypto::HmacSha256Hex(secret, message);
}

AlertDispatcher::AlertDispatcher(store::Store& store, oauth::HttpClient& http, const Clock& clock,
                                 Random& random, WebhookOptions options, std::function<void(bool)> on_attempt)
    : store_(store),
      http_(http),
      clock_(clock),
      random_(random),
      options_(std::move(options)),
      on_attempt_(std::move(on_attempt)) {}

AlertDispatcher::~AlertDispatcher() { Stop(); }

Status AlertDispatcher::Start() {
  if (options_.url.empty()) {
    spdlog::warn("alerts: no [alerts] webhook_url is set; alerts stay in the outbox (see 'latchkey doctor')");
    return Status::Ok();
  }
  try {
    thread_ = std::thread([this] { Run(); });
  } catch (const std::system_error& e) {
    return InternalError(std::string("cannot start the alert dispatcher: ") + e.what());
  }
  return Status::Ok();
}

void AlertDispatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AlertDispatcher::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto delivered = DeliverDue();
    if (!delivered.ok()) spdlog::warn("alerts: cannot read the outbox: {}", delivered.status().message());
    lock.lock();
    wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
  }
}

StatusOr<int> AlertDispatcher::DeliverDue() {
  // Claimed, so another node delivering the same outbox skips them (each normally
  // delivered once); if this process dies, they are due again when the claim lapses.
  const TimePoint now = clock_.Now();
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<store::AlertEvent> due,
                            store_.ClaimDueAlerts(now, options_.batch, now + options_.claim));
  int delivered = 0;
  for (const store::AlertEvent& event : due) {
    if (event.attempts == 0) {
      spdlog::warn("alert {}: {} connection='{}' {}", event.event_id, event.type, event.connection,
                   event.payload);
    }
    Status sent = Deliver(event);
    if (on_attempt_) on_attempt_(sent.ok());
    if (sent.ok()) {
      ++delivered;
      if (Status marked = store_.MarkAlertDelivered(event.event_id, clock_.Now()); !marked.ok()) {
        spdlog::warn("alerts: {} was delivered but cannot be marked so: {}", event.event_id,
                     marked.message());
      }
      continue;
    }
    // Exponential backoff with jitter: 5 s, 10 s, 20 s ... at most an hour.
    auto backoff = options_.first_backoff * (int64_t{1} << std::min(event.attempts, 20));
    backoff = std::min<std::chrono::milliseconds>(backoff, options_.longest_backoff);
    auto jitter = std::chrono::milliseconds(random_.Uniform(static_cast<uint64_t>(backoff.count()) / 4 + 1));
    spdlog::warn("alerts: delivering {} failed (attempt {}): {}", event.event_id, event.attempts + 1,
                 sent.message());
    if (Status marked =
            store_.MarkAlertFailed(event.event_id, sent.message(), clock_.Now() + backoff + jitter);
        !marked.ok()) {
      spdlog::warn("alerts: cannot record the failed delivery of {}: {}", event.event_id, marked.message());
    }
  }
  return delivered;
}

Status AlertDispatcher::Deliver(const store::AlertEvent& event) {
  oauth::HttpRequest request;
  request.method = "POST";
  request.url = options_.url;
  std::string body = WebhookBody(event);
  request.headers = {{"Content-Type", "application/json"},
                     {"User-Agent", "latchkey"},
                     {"Latchkey-Event-Id", event.event_id},
                     {"Latchkey-Event-Type", event.type},
                     {"Latchkey-Signature", WebhookSignature(options_.secret, clock_.Now(), body)}};
  request.body = SecretString(std::move(body));
  oauth::HttpLimits limits;
  limits.total_timeout = std::chrono::seconds(10);
  auto response = http_.Send(request, limits);
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status > 299) {
    return UnavailableError("the webhook answered HTTP " + std::to_string(response->status));
  }
  return Status::Ok();
}

}  // namespace latchkey::alerts
