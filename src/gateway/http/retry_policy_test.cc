#include "gateway/http/retry_policy.h"

#include <gtest/gtest.h>

#include "support/extreme_random.h"

namespace latchkey::gateway {
namespace {

using namespace std::chrono_literals;
using Outcome = UpstreamResult::Outcome;
using testing::ExtremeRandom;

const TimePoint kNow = FromUnixMillis(1'800'000'000'000);

UpstreamResult Answer(int status, std::string_view retry_after = {}) {
  UpstreamResult result;
  result.outcome = Outcome::kOk;
  result.sent = true;
  result.response.result(static_cast<unsigned>(status));
  if (!retry_after.empty()) result.response.set(boost::beast::http::field::retry_after, retry_after);
  return result;
}

UpstreamResult Failure(Outcome outcome, bool sent) {
  UpstreamResult result;
  result.outcome = outcome;
  result.sent = sent;
  return result;
}

TEST(RetryPolicyTest, ClassifiesEveryAnswerTheProxyTreatsApart) {
  struct Case {
    UpstreamResult result;
    bool oauth;
    bool errors_in_200;
    AnswerAction want;
  };
  const Case cases[] = {
      {Answer(200), true, false, AnswerAction::kPassOn},
      {Answer(204), false, false, AnswerAction::kPassOn},
      {Answer(302), true, false, AnswerAction::kPassOn},
      {Answer(400), true, false, AnswerAction::kPassOn},
      {Answer(401), true, false, AnswerAction::kRefresh},
      {Answer(401), false, false, AnswerAction::kPassOn},  // an API key: nothing to refresh
      {Answer(403), true, false, AnswerAction::kScopeCheck},
      {Answer(403), false, false, AnswerAction::kScopeCheck},
      {Answer(404), true, false, AnswerAction::kScopeCheck},  // GitHub hides what a scope lacks
      {Answer(200), true, true, AnswerAction::kScopeCheck},   // Slack's {"ok":false,...}
      {Answer(201), true, true, AnswerAction::kPassOn},
      {Answer(429), true, false, AnswerAction::kRateLimited},
      {Answer(500), true, false, AnswerAction::kUnavailable},
      {Answer(503), false, false, AnswerAction::kUnavailable},
      {Answer(599), false, false, AnswerAction::kUnavailable},
      {Failure(Outcome::kTimeout, true), true, false, AnswerAction::kUnavailable},
      {Failure(Outcome::kConnectFailed, false), true, false, AnswerAction::kUnavailable},
      {Failure(Outcome::kTooLarge, true), true, false, AnswerAction::kUnavailable},
      {Failure(Outcome::kUnsendable, false), true, false, AnswerAction::kUnavailable},
  };
  for (const Case& c : cases) {
    const int status = c.result.ok() ? c.result.response.result_int() : -static_cast<int>(c.result.outcome);
    EXPECT_EQ(RetryPolicy::Classify(c.result, c.oauth, c.errors_in_200), c.want)
        << "status/outcome " << status << ", oauth " << c.oauth << ", errors in 200 " << c.errors_in_200;
  }
}

TEST(RetryPolicyTest, OnlyTransientFailuresOfReplayableIdempotentCallsGoAgain) {
  ExtremeRandom low(false);
  RetryPolicy policy({.max_attempts = 3, .first_backoff = 200ms}, low);
  // Transient: 429, 5xx, a network error.
  EXPECT_TRUE(policy.Backoff(Answer(503), 1, true, true, kNow));
  EXPECT_TRUE(policy.Backoff(Answer(429), 1, true, true, kNow));
  EXPECT_TRUE(policy.Backoff(Failure(Outcome::kFailed, true), 1, true, true, kNow));
  // Not transient: an answer that stands, a timeout (the deadline is spent), a too-large answer.
  EXPECT_FALSE(policy.Backoff(Answer(200), 1, true, true, kNow));
  EXPECT_FALSE(policy.Backoff(Answer(401), 1, true, true, kNow));
  EXPECT_FALSE(policy.Backoff(Answer(403), 1, true, true, kNow));
  EXPECT_FALSE(policy.Backoff(Failure(Outcome::kTimeout, true), 1, true, true, kNow));
  EXPECT_FALSE(policy.Backoff(Failure(Outcome::kTooLarge, true), 1, true, true, kNow));
  // A POST may have acted; a streamed body cannot be sent twice.
  EXPECT_FALSE(policy.Backoff(Answer(503), 1, true, /*idempotent=*/false, kNow));
  EXPECT_FALSE(policy.Backoff(Failure(Outcome::kFailed, true), 1, true, false, kNow));
  EXPECT_FALSE(policy.Backoff(Answer(503), 1, /*replayable=*/false, true, kNow));
  // ...but a connection that never opened carried nothing, whatever the call.
  EXPECT_TRUE(policy.Backoff(Failure(Outcome::kConnectFailed, false), 1, false, false, kNow));
  EXPECT_FALSE(policy.Backoff(Failure(Outcome::kConnectFailed, true), 1, false, false, kNow));
  // max_attempts counts every send: the third is the last.
  EXPECT_TRUE(policy.Backoff(Answer(503), 2, true, true, kNow));
  EXPECT_FALSE(policy.Backoff(Answer(503), 3, true, true, kNow));
  EXPECT_FALSE(policy.Backoff(Failure(Outcome::kConnectFailed, false), 3, true, true, kNow));
}

TEST(RetryPolicyTest, BackoffDoublesWithJitterOfUpToHalf) {
  ExtremeRandom low(false);
  ExtremeRandom high(true);
  RetryPolicy least({.max_attempts = 5, .first_backoff = 200ms}, low);
  RetryPolicy most({.max_attempts = 5, .first_backoff = 200ms}, high);
  EXPECT_EQ(least.Backoff(Answer(502), 1, true, true, kNow), 200ms);
  EXPECT_EQ(most.Backoff(Answer(502), 1, true, true, kNow), 300ms);
  EXPECT_EQ(least.Backoff(Answer(502), 2, true, true, kNow), 400ms);
  EXPECT_EQ(most.Backoff(Answer(502), 2, true, true, kNow), 600ms);
  EXPECT_EQ(least.Backoff(Answer(502), 3, true, true, kNow), 800ms);
  EXPECT_EQ(most.Backoff(Answer(502), 4, true, true, kNow), 2400ms);
}

TEST(RetryPolicyTest, TheUpstreamsRetryAfterReplacesTheBackoff) {
  ExtremeRandom high(true);
  RetryPolicy policy({.max_attempts = 3, .first_backoff = 200ms}, high);
  EXPECT_EQ(policy.Backoff(Answer(429, "2"), 1, true, true, kNow), 2s);
  EXPECT_EQ(policy.Backoff(Answer(503, "0"), 1, true, true, kNow), 0s);
  EXPECT_EQ(policy.Backoff(Answer(503, "Fri, 15 Jan 2027 08:00:07 GMT"), 1, true, true, kNow), 7s);
  // A value that says nothing leaves the backoff.
  EXPECT_EQ(policy.Backoff(Answer(503, "soon"), 1, true, true, kNow), 300ms);
  // Only a transient answer's Retry-After counts (a network error has none to give).
  EXPECT_EQ(policy.Backoff(Failure(Outcome::kFailed, true), 1, true, true, kNow), 300ms);
  EXPECT_EQ(RetryPolicy::RetryAfter(Answer(429, "120").response, kNow), 120s);
  EXPECT_EQ(RetryPolicy::RetryAfter(Answer(429).response, kNow), std::nullopt);
}

TEST(RetryPolicyTest, AStalePooledConnectionIsReplacedOnceAndOnlyBeforeAnyAnswer) {
  EXPECT_TRUE(RetryPolicy::ResendOnNewConnection(/*reused=*/true, /*any_answer_bytes=*/false,
                                                 /*timed_out=*/false, /*resends=*/0));
  EXPECT_FALSE(RetryPolicy::ResendOnNewConnection(false, false, false, 0));  // a new connection failed
  EXPECT_FALSE(RetryPolicy::ResendOnNewConnection(true, true, false, 0));    // the upstream began answering
  EXPECT_FALSE(RetryPolicy::ResendOnNewConnection(true, false, true, 0));    // the deadline is spent
  EXPECT_FALSE(RetryPolicy::ResendOnNewConnection(true, false, false, 1));   // once
}

}  // namespace
}  // namespace latchkey::gateway
