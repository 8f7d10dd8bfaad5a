// The gateway's answers to a failing upstream (SPEC §4): retries only for idempotent
// methods, Retry-After honored, then rate_limited / upstream_unavailable /
// upstream_timeout problems; a POST is never retried.
#include <future>

#include "e2e/gateway_fixture.h"

namespace latchkey::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class GatewayRetryTest : public GatewayTest {
 protected:
  void SetUp() override {
    StartOAuthServers();
    ImportGrant("work", "retry-user");
    key_ = CreateAgent("bot", {"work"});
    StartGateway("[gateway]\nupstream_timeout_ms = 3000\n");
    HttpRequest("POST", rs_->base_url() + "/__reset", "", {});
  }
  std::string key_;
};

TEST_F(GatewayRetryTest, IdempotentCallsAreRetriedUntilTheUpstreamRecovers) {
  RawReply reply = Call("GET", "/proxy/work/__flaky/a?fail=2", key_);
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.Json()["attempt"], 3);
  EXPECT_EQ(ResourceRequests(), 3);
}

TEST_F(GatewayRetryTest, PostIsNotRetriedAndSaysTheActionMayHaveHappened) {
  RawReply reply = Call("POST", "/proxy/work/__flaky/b?fail=2", key_, "{}");
  ASSERT_EQ(reply.status, 502) << reply.raw;
  EXPECT_EQ(reply.Header("latchkey-error"), "upstream_unavailable");
  EXPECT_EQ(reply.Json()["attempts"], 1);
  EXPECT_EQ(reply.Json()["upstream_status"], 503);
  EXPECT_THAT(reply.Json()["detail"].get<std::string>(), HasSubstr("may or may not have been carried out"));
  EXPECT_EQ(ResourceRequests(), 1);
}

TEST_F(GatewayRetryTest, PersistentFailuresBecomeProblemsAfterThreeAttempts) {
  RawReply unavailable = Call("GET", "/proxy/work/__status/503?retry_after=0", key_);
  EXPECT_EQ(unavailable.status, 502) << unavailable.raw;
  EXPECT_EQ(unavailable.Json()["code"], "upstream_unavailable");
  EXPECT_EQ(unavailable.Json()["attempts"], 3);
  EXPECT_THAT(unavailable.Json()["detail"].get<std::string>(), HasSubstr("was NOT carried out"));

  RawReply limited = Call("DELETE", "/proxy/work/__status/429?retry_after=1", key_);
  EXPECT_EQ(limited.status, 429) << limited.raw;
  EXPECT_EQ(limited.Header("latchkey-error"), "rate_limited");
  EXPECT_EQ(limited.Header("retry-after"), "1");
  EXPECT_EQ(limited.Json()["retry_after"], 1);
  EXPECT_EQ(limited.Json()["attempts"], 3);
  EXPECT_EQ(ResourceRequests(), 6);

  // A Retry-After longer than the call's deadline is not waited for.
  RawReply far = Call("GET", "/proxy/work/__status/429?retry_after=120", key_);
  EXPECT_EQ(far.status, 429);
  EXPECT_EQ(far.Json()["retry_after"], 120);
  EXPECT_EQ(far.Json()["attempts"], 1);
}

TEST_F(GatewayRetryTest, SlowUpstreamHitsTheDeadline) {
  RawReply reply = Call("GET", "/proxy/work/__slow?ms=5000", key_);
  EXPECT_EQ(reply.status, 504) << reply.raw;
  EXPECT_EQ(reply.Header("latchkey-error"), "upstream_timeout");
  EXPECT_THAT(reply.Json()["detail"].get<std::string>(), HasSubstr("was NOT carried out"));
}

TEST_F(GatewayRetryTest, SigtermLetsInFlightCallsFinish) {
  auto slow = std::async(std::launch::async, [&] { return Call("GET", "/proxy/work/__slow?ms=1500", key_); });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the call is at the upstream now
  const auto stopped_at = std::chrono::steady_clock::now();
  EXPECT_EQ(gateway_->Stop(SIGTERM), 0) << GatewayLog();
  RawReply reply = slow.get();
  EXPECT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.Json()["slow"], true);
  EXPECT_GE(std::chrono::steady_clock::now() - stopped_at, std::chrono::milliseconds(900)) << "it waited";
  // Nothing listens afterwards.
  EXPECT_EQ(RawExchange(port_, BuildRequest("GET", "/healthz")).status, 0);
}

TEST_F(GatewayRetryTest, UpstreamThatIsDownIsUnavailable) {
  rs_->Stop();
  RawReply reply = Call("GET", "/proxy/work/read", key_);
  EXPECT_EQ(reply.status, 502) << reply.raw;
  EXPECT_EQ(reply.Json()["code"], "upstream_unavailable");
  EXPECT_EQ(reply.Json()["attempts"], 3);
}

}  // namespace
}  // namespace latchkey::testing
