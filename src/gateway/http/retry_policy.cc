#include "gateway/http/retry_policy.h"

#include "oauth/retry_after.h"

namespace latchkey::gateway {

namespace http = boost::beast::http;
using Outcome = UpstreamResult::Outcome;

bool RetryPolicy::ResendOnNewConnection(bool reused, bool any_answer_bytes, bool timed_out, int resends) {
  return reused && !any_answer_bytes && !timed_out && resends == 0;
}

std::optional<std::chrono::milliseconds> RetryPolicy::Backoff(const UpstreamResult& result, int attempt,
                                                              bool replayable, bool idempotent,
                                                              TimePoint now) const {
  const int status = result.ok() ? result.response.result_int() : 0;
  const bool transient_answer = result.ok() && (status == 429 || status >= 500);
  const bool network_error = result.outcome == Outcome::kFailed || result.outcome == Outcome::kConnectFailed;
  // A connection that never opened carried nothing: any method may go again.
  const bool never_connected = result.outcome == Outcome::kConnectFailed && !result.sent;
  const bool retryable = (replayable && idempotent && (transient_answer || network_error)) || never_connected;
  if (!retryable || attempt >= options_.max_attempts) return std::nullopt;

  if (transient_answer) {
    if (auto after = RetryAfter(result.response, now)) return *after;
  }
  std::chrono::milliseconds delay = options_.first_backoff * (1 << (attempt - 1));
  delay += std::chrono::milliseconds(static_cast<int64_t>(random_.Uniform(delay.count() / 2 + 1)));
  return delay;
}

AnswerAction RetryPolicy::Classify(const UpstreamResult& result, bool oauth, bool errors_in_200) {
  if (!result.ok()) return AnswerAction::kUnavailable;
  const int status = result.response.result_int();
  if (status == 401) return oauth ? AnswerAction::kRefresh : AnswerAction::kPassOn;
  if (status == 429) return AnswerAction::kRateLimited;
  if (status >= 500) return AnswerAction::kUnavailable;
  if (status == 403 || status == 404 || (status == 200 && errors_in_200)) return AnswerAction::kScopeCheck;
  return AnswerAction::kPassOn;
}

std::optional<std::chrono::seconds> RetryPolicy::RetryAfter(const UpstreamResponse& response, TimePoint now) {
  return oauth::ParseRetryAfter(response.Field(http::field::retry_after), now);
}

}  // namespace latchkey::gateway
