// ProblemDetails::ToResponse writes its JSON member by member; it must say exactly what
// the plain nlohmann::json construction says, for every kind of problem and any text.
#include "gateway/http/problem.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json_text.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// The body as the gateway wrote it before: `members`, then the fixed members over them.
json Reference(const ProblemDetails& problem) {
  json body = problem.members;
  body["type"] = "urn:latchkey:problem:" + problem.code;
  body["title"] = std::string(http::obsolete_reason(problem.status));
  body["status"] = static_cast<int>(problem.status);
  body["code"] = problem.code;
  body["detail"] = problem.detail;
  return json::parse(DumpJson(body));
}

std::vector<ProblemDetails> EveryKind() {
  const std::string odd =
      "quote \" backslash \\ tab \t newline \n nul " + std::string(1, '\0') + " bad utf-8 \xff\xfe é ✓ \x7f";
  std::vector<ProblemDetails> all = {
      AgentUnauthenticated(),
      PolicyDenied("work", "DELETE", "/repos/x"),
      PolicyDenied(odd, odd, odd),
      ScopeInsufficient("work", {"read", "write"}, {"admin:org"}, "http://127.0.0.1/consent?x=1&y=2"),
      ScopeInsufficient("work", {}, {}, ""),
      ReauthRequired("work", "http://127.0.0.1/reconnect", "2026-11-30T16:00:00Z",
                     "the provider said " + odd),
      RateLimited("work", 30, 3),
      UpstreamUnavailable("work", 2, odd, false),
      UpstreamUnavailable("work", 1, "reset", true),
      UpstreamTimeout("work", true),
      BadRequest(odd),
      NotFound("GET", "/nowhere"),
      MethodNotAllowed("/v1/agents", "GET, POST"),
      PayloadTooLarge("the body"),
      InternalProblem(std::string(500, 'x')),
  };
  ProblemDetails with_number = UpstreamUnavailable("work", 1, "bad answer", false);
  with_number.members["upstream_status"] = 503;
  all.push_back(with_number);
  ProblemDetails colliding = BadRequest("members never override the fixed ones");
  colliding.members["status"] = 999;
  colliding.members["code"] = "forged";
  colliding.members["nested"] = json{{"list", {1, "two", nullptr, true}}};
  all.push_back(colliding);
  return all;
}

TEST(ProblemTest, TheBodySaysWhatTheJsonObjectSaidForEveryKindOfProblem) {
  for (const ProblemDetails& problem : EveryKind()) {
    SCOPED_TRACE(problem.code + ": " + problem.detail.substr(0, 60));
    const Response res = problem.ToResponse(11);
    const json body = json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(body.is_discarded()) << res.body();
    EXPECT_EQ(body, Reference(problem)) << res.body();
    EXPECT_EQ(body["status"], static_cast<int>(problem.status));
    EXPECT_EQ(res.result(), problem.status);
    EXPECT_EQ(res.Field(http::field::content_type), "application/problem+json");
    EXPECT_EQ(res.Field("Latchkey-Error"), problem.code);
    EXPECT_EQ(res.Field(http::field::content_length), std::to_string(res.body().size()));
  }
}

TEST(ProblemTest, RetryAfterAndTheBearerChallengeAreHeadersToo) {
  const Response limited = RateLimited("work", 30, 3).ToResponse(11);
  EXPECT_EQ(limited.Field(http::field::retry_after), "30");
  EXPECT_EQ(json::parse(limited.body())["retry_after"], 30);
  const Response unauthenticated = AgentUnauthenticated().ToResponse(10);
  EXPECT_EQ(unauthenticated.version(), 10U);
  EXPECT_EQ(unauthenticated.Field(http::field::www_authenticate), R"(Bearer realm="latchkey")");
  EXPECT_TRUE(limited.Field(http::field::www_authenticate).empty());
}

TEST(ProblemTest, NotFoundQuotesThePathButNeverTheQuery) {
  // found by web_pages_fuzz: /assets/a?session=… came back in the 404's detail
  const ProblemDetails problem = NotFound("GET", "/assets/a?again=session-secret");
  EXPECT_NE(problem.detail.find("GET /assets/a "), std::string::npos) << problem.detail;
  EXPECT_EQ(problem.detail.find("session-secret"), std::string::npos) << problem.detail;
  EXPECT_EQ(problem.detail.find('?'), std::string::npos) << problem.detail;
}

TEST(ProblemTest, AMethodNotAllowedNamesTheAllowedMethodsInAllow) {
  // RFC 9110 §15.5.6. The daemon's health routes and dashboard answered 405 without it.
  Response allowed = MethodNotAllowed("/readyz", "GET").ToResponse(11);
  EXPECT_EQ(allowed.result(), boost::beast::http::status::method_not_allowed);
  EXPECT_EQ(allowed.Field(boost::beast::http::field::allow), "GET");
  EXPECT_EQ(MethodNotAllowed("/x", "GET, POST").allow, "GET, POST");
  // Only method names reach the header.
  EXPECT_EQ(MethodNotAllowed("/x", "GET\r\nSet-Cookie: a=b").allow, "");
  EXPECT_EQ(MethodNotAllowed("/x", "get").allow, "");
}

}  // namespace
}  // namespace latchkey::gateway
