// RetryPolicy: every decision to send a proxied call again, and what the proxy does with
// the answer that stands once it stops (SPEC §4):
//   - a reused keep-alive connection the upstream had closed, failing before any answer
//     byte: sent again at once on a new connection, once, whatever the method (nothing
//     was processed; UpstreamClient::Send);
//   - a connection that could not be opened: sent again with backoff, any method;
//   - 5xx, 429 or a network error on an idempotent method whose body can be replayed:
//     sent again with exponential backoff and jitter, or after the upstream's
//     Retry-After, up to max_attempts in all (Proxy::Forward);
//   - 401 on an OAuth connection: the newest token and the call again, at most
//     kRefreshRounds times (Proxy::AfterUpstream).
// Pure: the caller waits, sends and counts; the tests drive it without a socket or a clock.
#pragma once

#include <chrono>
#include <optional>

#include "common/clock.h"
#include "common/random.h"
#include "gateway/http/upstream_client.h"

namespace latchkey::gateway {

struct RetryOptions {
  int max_attempts = 3;  // sends of one call for transient failures, the first included
  std::chrono::milliseconds first_backoff{200};
};

// What the proxy does with the answer that stands (its Proxy::AfterUpstream step).
enum class AnswerAction {
  kPassOn,       // back to the agent as it is (a 401 too, on a connection without OAuth tokens)
  kRefresh,      // 401 on an OAuth connection: the newest token, and the call again
  kScopeCheck,   // 403, 404, or a 200 from an API that reports errors in 200s: a scope error?
  kRateLimited,  // 429 after the retries: latchkey's rate_limited problem
  kUnavailable,  // 5xx, or no answer: latchkey's problem for it
};

class RetryPolicy {
 public:
  // Rounds of "refresh, send again" for one call's 401s: bounds a token chase when the
  // API's clock runs ahead of the token endpoint's.
  static constexpr int kRefreshRounds = 3;

  RetryPolicy(RetryOptions options, Random& random) : options_(options), random_(random) {}

  // A send on a pooled connection failed. True when it goes again on a new connection:
  // the connection was reused, no byte of an answer came and it did not time out (the
  // upstream had closed it while idle), and no such resend happened yet for this send.
  static bool ResendOnNewConnection(bool reused, bool any_answer_bytes, bool timed_out, int resends);

  // After send number `attempt` (from 1) of a call ended in `result`: how long to wait
  // before sending it again, or nullopt when `result` stands. `replayable`: the request
  // body can be sent again; `idempotent`: the method (with no override) may run twice.
  std::optional<std::chrono::milliseconds> Backoff(const UpstreamResult& result, int attempt, bool replayable,
                                                   bool idempotent, TimePoint now) const;

  // What the proxy does with `result`. `oauth`: the connection holds OAuth tokens;
  // `errors_in_200`: its API reports errors, scope errors included, in 200 answers (Slack).
  static AnswerAction Classify(const UpstreamResult& result, bool oauth, bool errors_in_200);

  // The answer's Retry-After, when it names a delay (seconds or an HTTP date).
  static std::optional<std::chrono::seconds> RetryAfter(const UpstreamResponse& response, TimePoint now);

 private:
  RetryOptions options_;
  Random& random_;
};

}  // namespace latchkey::gateway
