#include "gateway/proxy/scope_error_decoder.h"

#include <gtest/gtest.h>

namespace latchkey::gateway {
namespace {

using Scopes = std::vector<std::string>;

UpstreamRefusal Refusal(int status, std::string_view body = "", std::string www_authenticate = "",
                        std::string accepted = "") {
  UpstreamRefusal refusal;
  refusal.status = status;
  refusal.body = body;
  refusal.www_authenticate = std::move(www_authenticate);
  refusal.accepted_oauth_scopes = std::move(accepted);
  return refusal;
}

TEST(ScopeErrorDecoderTest, Rfc6750InsufficientScopeNamesTheMissingScopes) {
  auto found = DecodeScopeError(
      "rfc6750",
      Refusal(403, "", R"(Bearer realm="api", error="insufficient_scope", scope="api:read api:write")"),
      {"api:read"});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->required, Scopes{"api:write"});
}

// Found by scope_error_fuzz (tests/fuzz/corpus/scope_error_fuzz/quoted_and_controls): a
// scope with a quote or a control character went on into the consent link.
TEST(ScopeErrorDecoderTest, OnlyScopeTokensOfTheUpstreamsTextGoOn) {
  auto found = DecodeScopeError(
      "rfc6750", Refusal(403, "", "Bearer error=\"insufficient_scope\", scope=\"a\\\"b ok c\x01d\""), {});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->required, (std::vector<std::string>{"ok"}));
}

TEST(ScopeErrorDecoderTest, OtherBearerErrorsAndPlain403sAreNotScopeErrors) {
  EXPECT_FALSE(DecodeScopeError("rfc6750", Refusal(403, R"({"error":"forbidden"})"), {}));
  EXPECT_FALSE(DecodeScopeError("rfc6750", Refusal(403, "", R"(Bearer error="invalid_token")"), {}));
  EXPECT_FALSE(DecodeScopeError("rfc6750", Refusal(403, "", R"(Basic realm="x")"), {}));
  EXPECT_FALSE(DecodeScopeError(
      "google", Refusal(403, R"({"error":{"errors":[{"reason":"rateLimitExceeded"}]}})"), {}));
}

TEST(ScopeErrorDecoderTest, GoogleBodies) {
  EXPECT_TRUE(DecodeScopeError(
      "google", Refusal(403, R"({"error":{"code":403,"errors":[{"reason":"insufficientPermissions"}]}})"),
      {}));
  EXPECT_TRUE(DecodeScopeError(
      "google",
      Refusal(
          403,
          R"({"error":{"status":"PERMISSION_DENIED","details":[{"reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}})"),
      {}));
}

TEST(ScopeErrorDecoderTest, SlackMissingScopeEvenWithHttp200) {
  auto found = DecodeScopeError(
      "slack",
      Refusal(200, R"({"ok":false,"error":"missing_scope","needed":"chat:write,files:read","provided":"x"})"),
      {"files:read"});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->required, Scopes{"chat:write"});
  EXPECT_FALSE(DecodeScopeError("slack", Refusal(200, R"({"ok":true})"), {}));
}

TEST(ScopeErrorDecoderTest, GithubAcceptedScopesNotCoveredByTheGrant) {
  auto found = DecodeScopeError("github", Refusal(404, "{}", "", "repo, public_repo"), {"read:user"});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->required, Scopes{"repo"});
  EXPECT_FALSE(DecodeScopeError("github", Refusal(404, "{}", "", "repo, public_repo"), {"public_repo"}));
  EXPECT_FALSE(DecodeScopeError("github", Refusal(403, "{}", "", ""), {}));
}

TEST(ScopeErrorDecoderTest, MicrosoftGraphDenials) {
  EXPECT_TRUE(DecodeScopeError(
      "microsoft_graph",
      Refusal(
          403,
          R"({"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}})"),
      {}));
  EXPECT_TRUE(
      DecodeScopeError("microsoft_graph", Refusal(403, R"({"error":{"code":"ErrorAccessDenied"}})"), {}));
  EXPECT_FALSE(DecodeScopeError("microsoft_graph", Refusal(403, R"({"error":{"code":"Forbidden"}})"), {}));
}

TEST(ScopeErrorDecoderTest, MalformedBodiesAreNotScopeErrors) {
  for (std::string_view body : {"", "<html>", "{", "[]", R"({"error":"x"})", R"({"error":{"errors":"x"}})"}) {
    EXPECT_FALSE(DecodeScopeError("google", Refusal(403, body), {})) << body;
    EXPECT_FALSE(DecodeScopeError("microsoft_graph", Refusal(403, body), {})) << body;
    EXPECT_FALSE(DecodeScopeError("slack", Refusal(200, body), {})) << body;
  }
}

TEST(BearerChallengeTest, ParsesQuotedAndTokenValues) {
  auto params = ParseBearerChallenge(R"(Bearer realm="a \"b\"", error=insufficient_scope , scope="x y")");
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0].second, "a \"b\"");
  EXPECT_EQ(params[1], (std::pair<std::string, std::string>{"error", "insufficient_scope"}));
  EXPECT_EQ(params[2].second, "x y");
  EXPECT_TRUE(ParseBearerChallenge("Basic realm=x").empty());
  EXPECT_TRUE(ParseBearerChallenge("").empty());
}

}  // namespace
}  // namespace latchkey::gateway
