#include "vault/mcp_authorization.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "oauth/pkce.h"
#include "vault/vault_test_support.h"

namespace latchkey::vault {
namespace {

using ::testing::HasSubstr;

constexpr char kResource[] = "https://latchkey.example/mcp";
constexpr char kClient[] = "https://client.example/oauth/metadata.json";
constexpr char kRedirect[] = "http://127.0.0.1:5555/callback";

class McpAuthorizationTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    ASSERT_TRUE(vault_->agents().Create("bot", {"work:GET:/v1/**"}).ok());
    authorization_ = std::make_unique<McpAuthorization>(
        *vault_, clock_, SystemRandom::Instance(),
        McpAuthorizationOptions{.code_lifetime = std::chrono::seconds(60),
                                .access_token_lifetime = std::chrono::minutes(10),
                                .refresh_token_lifetime = std::chrono::hours(24)});
  }

  SecretString Code() {
    auto code = authorization_->IssueCode({.client_id = kClient,
                                           .agent = "bot",
                                           .redirect_uri = kRedirect,
                                           .code_challenge = oauth::S256Challenge(verifier_.reveal()),
                                           .resource = kResource,
                                           .scopes = {"mcp"}});
    EXPECT_TRUE(code.ok()) << code.status().ToString();
    return code.ok() ? std::move(*code) : SecretString();
  }

  StatusOr<McpTokens> Exchange(const SecretString& code) {
    return authorization_->ExchangeCode(code, kClient, kRedirect, verifier_, kResource);
  }

  SecretString verifier_{std::string(64, 'v')};
  std::unique_ptr<McpAuthorization> authorization_;
};

TEST_F(McpAuthorizationTest, ACodeBecomesTokensThatActAsTheAgentForThatResourceOnly) {
  auto tokens = Exchange(Code());
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  EXPECT_TRUE(tokens->access_token.reveal().starts_with("lkma_"));
  EXPECT_TRUE(tokens->refresh_token.reveal().starts_with("lkmr_"));
  EXPECT_EQ(tokens->expires_in, std::chrono::minutes(10));
  auto caller = authorization_->Authenticate(tokens->access_token, kResource);
  ASSERT_TRUE(caller.ok()) << caller.status().ToString();
  EXPECT_EQ(caller->agent, "bot");
  EXPECT_EQ(caller->client_id, kClient);
  EXPECT_EQ(caller->scopes, std::vector<std::string>{"mcp"});
  // RFC 8707: a token for /mcp is refused anywhere else.
  auto elsewhere = authorization_->Authenticate(tokens->access_token, "https://latchkey.example/v1");
  EXPECT_EQ(elsewhere.status().code(), StatusCode::kUnauthenticated);
  // Nothing but hashes is stored.
  auto consents = vault_->store().ListMcpConsents();
  ASSERT_TRUE(consents.ok());
  ASSERT_EQ(consents->size(), 1U);
  EXPECT_EQ(consents->front().agent, "bot");
}

TEST_F(McpAuthorizationTest, ACodeIsRefusedWithoutItsVerifierClientRedirectOrResourceAndNothingIsIssued) {
  SecretString code = Code();
  struct Case {
    const char* what;
    std::string client, redirect, verifier, resource;
    const char* says;
  } cases[] = {
      {"no verifier", kClient, kRedirect, "", kResource, "code_verifier"},
      {"wrong verifier", kClient, kRedirect, std::string(64, 'w'), kResource, "code_verifier"},
      {"the challenge itself (plain)", kClient, kRedirect, oauth::S256Challenge(verifier_.reveal()),
       kResource, "code_verifier"},
      {"another client", "https://evil.example/metadata.json", kRedirect, verifier_.reveal().data(),
       kResource, "another client"},
      {"another redirect", kClient, "http://127.0.0.1:5555/other", verifier_.reveal().data(), kResource,
       "redirect_uri"},
      {"another resource", kClient, kRedirect, verifier_.reveal().data(), "https://latchkey.example/v1",
       "resource"},
  };
  for (const Case& c : cases) {
    auto refused = authorization_->ExchangeCode(code, c.client, c.redirect,
                                                SecretString(std::string(c.verifier)), c.resource);
    ASSERT_FALSE(refused.ok()) << c.what;
    EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied) << c.what;
    EXPECT_THAT(refused.status().message(), HasSubstr(c.says)) << c.what;
  }
  // None of those spent the code: the client holding the verifier still gets its tokens.
  EXPECT_TRUE(Exchange(code).ok());
}

TEST_F(McpAuthorizationTest, AReusedCodeRevokesWhatItIssued) {
  SecretString code = Code();
  auto tokens = Exchange(code);
  ASSERT_TRUE(tokens.ok());
  auto replay = Exchange(code);
  ASSERT_FALSE(replay.ok());
  EXPECT_THAT(replay.status().message(), HasSubstr("used already"));
  EXPECT_EQ(authorization_->Authenticate(tokens->access_token, kResource).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_FALSE(authorization_->Refresh(tokens->refresh_token, kClient, kResource).ok());
}

TEST_F(McpAuthorizationTest, ACodeAndAnAccessTokenExpire) {
  SecretString late = Code();
  clock_.Advance(std::chrono::seconds(61));
  auto expired_code = Exchange(late);
  ASSERT_FALSE(expired_code.ok());
  EXPECT_THAT(expired_code.status().message(), HasSubstr("expired"));

  auto tokens = Exchange(Code());
  ASSERT_TRUE(tokens.ok());
  clock_.Advance(std::chrono::minutes(10));
  EXPECT_EQ(authorization_->Authenticate(tokens->access_token, kResource).status().code(),
            StatusCode::kUnauthenticated);
  // The refresh token outlives it and gets a new one.
  auto refreshed = authorization_->Refresh(tokens->refresh_token, kClient, kResource);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status().ToString();
  EXPECT_TRUE(authorization_->Authenticate(refreshed->access_token, kResource).ok());
}

TEST_F(McpAuthorizationTest, RefreshTokensRotateAndAReusedOneRevokesTheFamily) {
  auto first = Exchange(Code());
  ASSERT_TRUE(first.ok());
  auto second = authorization_->Refresh(first->refresh_token, kClient, kResource);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_NE(second->refresh_token.reveal(), first->refresh_token.reveal());
  EXPECT_FALSE(authorization_->Refresh(second->refresh_token, "https://evil.example/m.json", kResource).ok())
      << "another client's refresh token";
  clock_.Advance(std::chrono::seconds(11));  // past the reuse grace
  auto reused = authorization_->Refresh(first->refresh_token, kClient, kResource);
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(reused.status().message(), HasSubstr("used already"));
  // The whole family is gone: the thief's and the client's tokens alike.
  EXPECT_FALSE(authorization_->Authenticate(second->access_token, kResource).ok());
  EXPECT_FALSE(authorization_->Refresh(second->refresh_token, kClient, kResource).ok());
}

TEST_F(McpAuthorizationTest, RevokingTheAgentOrTheConsentEndsItsTokensAtOnce) {
  auto tokens = Exchange(Code());
  ASSERT_TRUE(tokens.ok());
  ASSERT_TRUE(vault_->store().RevokeMcpConsent(kClient, "bot", clock_.Now()).ok());
  EXPECT_FALSE(authorization_->Authenticate(tokens->access_token, kResource).ok());
  EXPECT_FALSE(authorization_->Refresh(tokens->refresh_token, kClient, kResource).ok());

  auto again = Exchange(Code());
  ASSERT_TRUE(again.ok()) << "a new consent after a revoked one";
  ASSERT_TRUE(vault_->agents().Revoke("bot").ok());
  EXPECT_EQ(authorization_->Authenticate(again->access_token, kResource).status().code(),
            StatusCode::kUnauthenticated);
  auto refresh = authorization_->Refresh(again->refresh_token, kClient, kResource);
  ASSERT_FALSE(refresh.ok());
  EXPECT_THAT(refresh.status().message(), HasSubstr("revoked"));
  EXPECT_FALSE(authorization_
                   ->IssueCode({.client_id = kClient,
                                .agent = "bot",
                                .redirect_uri = kRedirect,
                                .code_challenge = "c",
                                .resource = kResource,
                                .scopes = {"mcp"}})
                   .ok())
      << "no code for a revoked agent";
}

TEST_F(McpAuthorizationTest, TwoRefreshesAtOnceOrARetryWithinTheGraceBothGetTokens) {
  auto first = Exchange(Code());
  ASSERT_TRUE(first.ok());
  auto one = authorization_->Refresh(first->refresh_token, kClient, kResource);
  clock_.Advance(std::chrono::seconds(9));
  auto other = authorization_->Refresh(first->refresh_token, kClient, kResource);
  ASSERT_TRUE(one.ok() && other.ok()) << other.status().ToString();
  EXPECT_NE(one->refresh_token.reveal(), other->refresh_token.reveal());
  EXPECT_TRUE(authorization_->Authenticate(one->access_token, kResource).ok()) << "nothing revoked";
  EXPECT_TRUE(authorization_->Authenticate(other->access_token, kResource).ok());
  EXPECT_TRUE(vault_->store().ListAlerts(10)->empty()) << "and no theft alert";
  SecretString code = Code();
  ASSERT_TRUE(Exchange(code).ok());
  EXPECT_FALSE(Exchange(code).ok()) << "codes get no grace";
}

TEST_F(McpAuthorizationTest, AReplayRaisesAgentTokenReuseOncePerFamily) {
  auto first = Exchange(Code());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(authorization_->Refresh(first->refresh_token, kClient, kResource).ok());
  clock_.Advance(std::chrono::seconds(11));
  for (int i = 0; i < 2; ++i)
    EXPECT_FALSE(authorization_->Refresh(first->refresh_token, kClient, kResource).ok());
  auto alerts = vault_->store().ListAlerts(10);
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1U) << "two replays of one family, one alert";
  EXPECT_EQ(alerts->front().type, "agent.token_reuse");
  EXPECT_THAT(alerts->front().payload, HasSubstr("\"agent\":\"bot\""));
  EXPECT_THAT(alerts->front().payload, HasSubstr(kClient));
  EXPECT_THAT(alerts->front().payload, ::testing::Not(HasSubstr("lkmr_"))) << "never the token";
}

TEST_F(McpAuthorizationTest, AFamilyEndsAtItsAbsoluteLifetimeHoweverOftenItIsRefreshed) {
  McpAuthorization short_lived(*vault_, clock_, SystemRandom::Instance(),
                               {.code_lifetime = std::chrono::seconds(60),
                                .access_token_lifetime = std::chrono::hours(1),
                                .refresh_token_lifetime = std::chrono::hours(24),
                                .family_lifetime = std::chrono::hours(48),
                                .refresh_reuse_grace = std::chrono::seconds(10)});
  auto code = short_lived.IssueCode({.client_id = kClient,
                                     .agent = "bot",
                                     .redirect_uri = kRedirect,
                                     .code_challenge = oauth::S256Challenge(verifier_.reveal()),
                                     .resource = kResource,
                                     .scopes = {"mcp"}});
  ASSERT_TRUE(code.ok());
  auto tokens = short_lived.ExchangeCode(*code, kClient, kRedirect, verifier_, kResource);
  ASSERT_TRUE(tokens.ok());
  for (int i = 0; i < 2; ++i) {  // 20 h and 40 h after the code
    clock_.Advance(std::chrono::hours(20));
    tokens = short_lived.Refresh(tokens->refresh_token, kClient, kResource);
    ASSERT_TRUE(tokens.ok()) << "within both lifetimes";
  }
  clock_.Advance(std::chrono::minutes(7 * 60 + 30));  // 47.5 h after the code
  tokens = short_lived.Refresh(tokens->refresh_token, kClient, kResource);
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  EXPECT_EQ(tokens->expires_in, std::chrono::minutes(30)) << "the access token ends with its family";
  clock_.Advance(std::chrono::minutes(30));
  auto ended = short_lived.Refresh(tokens->refresh_token, kClient, kResource);
  ASSERT_FALSE(ended.ok()) << "48 h after the code, though refreshed 30 min ago";
  EXPECT_THAT(ended.status().message(), HasSubstr("expired"));
}

TEST_F(McpAuthorizationTest, AClientRevokesItsOwnTokensAndNoOneElses) {
  auto tokens = Exchange(Code());
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(authorization_->Revoke(tokens->refresh_token, "https://evil.example/m.json").code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(authorization_->Authenticate(tokens->access_token, kResource).ok()) << "still valid";
  EXPECT_TRUE(authorization_->Revoke(SecretString("lkmr_unknown"), kClient).ok()) << "RFC 7009 §2.2";
  ASSERT_TRUE(authorization_->Revoke(tokens->refresh_token, kClient).ok());
  EXPECT_FALSE(authorization_->Authenticate(tokens->access_token, kResource).ok()) << "the family ends";
  EXPECT_FALSE(authorization_->Refresh(tokens->refresh_token, kClient, kResource).ok());
}

TEST_F(McpAuthorizationTest, AVerifierOutsideRfc7636sFormIsRefused) {
  verifier_ = SecretString(std::string(42, 'v'));  // one short of the minimum
  SecretString code = Code();
  auto refused = Exchange(code);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("code_verifier"));
  verifier_ = SecretString(std::string(43, 'v') + "\n");
  EXPECT_FALSE(Exchange(Code()).ok()) << "a character outside [A-Za-z0-9-._~]";
}

TEST_F(McpAuthorizationTest, ARegisteredClientGetsAnIdThatIsNoUrlAndASecretOnlyWhenItAuthenticates) {
  auto public_client =
      authorization_->Register(R"({"client_name":"CLI","redirect_uris":["http://127.0.0.1/cb"],
      "token_endpoint_auth_method":"none"})");
  ASSERT_TRUE(public_client.ok()) << public_client.status().ToString();
  EXPECT_TRUE(public_client->client.client_id.starts_with("lkc_"));
  EXPECT_TRUE(public_client->client_secret.empty());
  EXPECT_TRUE(authorization_->AuthenticateClient(public_client->client.client_id, SecretString()).ok());
  EXPECT_FALSE(authorization_->AuthenticateClient(public_client->client.client_id, SecretString("x")).ok());

  auto confidential = authorization_->Register(R"({"redirect_uris":["https://app.example/cb"]})");
  ASSERT_TRUE(confidential.ok());
  EXPECT_TRUE(confidential->client_secret.reveal().starts_with("lkcs_"));
  const std::string& id = confidential->client.client_id;
  auto stored = vault_->store().GetMcpClient(id);
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->client_secret_hash.has_value());
  EXPECT_EQ(std::string(stored->client_secret_hash->begin(), stored->client_secret_hash->end())
                .find(confidential->client_secret.reveal()),
            std::string::npos)
      << "only a hash is stored";
  EXPECT_TRUE(authorization_->AuthenticateClient(id, confidential->client_secret).ok());
  for (const SecretString& wrong : {SecretString(), SecretString("lkcs_wrong")}) {
    auto refused = authorization_->AuthenticateClient(id, wrong);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(refused.status().message(), "client authentication failed");
  }
  EXPECT_EQ(authorization_->AuthenticateClient("lkc_unknown", SecretString()).status().message(),
            "client authentication failed");
  EXPECT_FALSE(authorization_->Register(R"({"redirect_uris":["http://evil.example/cb"]})").ok());
}

TEST(RedirectUriTest, OnlyALoopbackRedirectMatchesOnAnyPort) {
  EXPECT_TRUE(RedirectUriMatches("https://client.example/cb", "https://client.example/cb"));
  EXPECT_FALSE(RedirectUriMatches("https://client.example/cb", "https://client.example/cb/"));
  EXPECT_FALSE(RedirectUriMatches("https://client.example/cb", "https://client.example:8443/cb"));
  EXPECT_FALSE(RedirectUriMatches("https://client.example/cb", "https://client.example/cb?x=1"));
  EXPECT_FALSE(RedirectUriMatches("https://client.example/cb", "https://evil.example/cb"));
  for (const char* host : {"127.0.0.1", "[::1]", "localhost"}) {
    const std::string registered = std::string("http://") + host + "/callback";
    EXPECT_TRUE(RedirectUriMatches(registered, std::string("http://") + host + ":49152/callback")) << host;
    EXPECT_FALSE(RedirectUriMatches(registered, std::string("http://") + host + ":49152/other")) << host;
    EXPECT_FALSE(RedirectUriMatches(registered, std::string("https://") + host + ":49152/callback")) << host;
  }
  EXPECT_FALSE(RedirectUriMatches("http://127.0.0.1/callback", "http://localhost:5000/callback"))
      << "another loopback name is another URI";
  EXPECT_FALSE(RedirectUriMatches("http://client.example/cb", "http://client.example:81/cb"))
      << "only loopback hosts match on any port";
  EXPECT_FALSE(
      RedirectUriMatches("http://127.0.0.1/callback", "http://127.0.0.1@evil.example:5000/callback"));
}

TEST(AuthorizationRequestTest, EachParameterIsCheckedAndABadRedirectIsNeverFollowed) {
  store::McpClientRecord client;
  client.client_id = kClient;
  client.redirect_uris = {"http://127.0.0.1/callback"};
  const McpAuthorizationRequest good{.response_type = "code",
                                     .client_id = kClient,
                                     .redirect_uri = kRedirect,
                                     .code_challenge = oauth::S256Challenge("verifier"),
                                     .code_challenge_method = "S256",
                                     .resource = kResource,
                                     .scope = ""};
  auto scopes = CheckAuthorizationRequest(good, client, kResource);
  ASSERT_TRUE(scopes.ok()) << scopes.status().ToString();
  EXPECT_EQ(*scopes, std::vector<std::string>{"mcp"});

  struct Case {
    const char* what;
    McpAuthorizationRequest request;
    StatusCode code;
    const char* says;
  };
  auto with = [&good](auto change) {
    McpAuthorizationRequest r = good;
    change(r);
    return r;
  };
  const Case cases[] = {
      {"unregistered redirect", with([](auto& r) { r.redirect_uri = "http://evil.example/cb"; }),
       StatusCode::kFailedPrecondition, "redirect_uri"},
      {"no redirect", with([](auto& r) { r.redirect_uri.clear(); }), StatusCode::kFailedPrecondition,
       "redirect_uri"},
      {"token flow", with([](auto& r) { r.response_type = "token"; }), StatusCode::kInvalidArgument,
       "response_type"},
      {"no PKCE", with([](auto& r) { r.code_challenge.clear(); }), StatusCode::kInvalidArgument,
       "code_challenge"},
      {"plain PKCE", with([](auto& r) { r.code_challenge_method = "plain"; }), StatusCode::kInvalidArgument,
       "S256"},
      {"no method", with([](auto& r) { r.code_challenge_method.clear(); }), StatusCode::kInvalidArgument,
       "S256"},
      {"a verifier as challenge", with([](auto& r) { r.code_challenge = std::string(64, 'v'); }),
       StatusCode::kInvalidArgument, "not an S256 challenge"},
      {"no resource", with([](auto& r) { r.resource.clear(); }), StatusCode::kInvalidArgument, "resource"},
      {"another resource", with([](auto& r) { r.resource = "https://api.example/"; }),
       StatusCode::kInvalidArgument, "resource"},
      {"another scope", with([](auto& r) { r.scope = "mcp admin"; }), StatusCode::kInvalidArgument, "admin"},
  };
  for (const Case& c : cases) {
    auto refused = CheckAuthorizationRequest(c.request, client, kResource);
    ASSERT_FALSE(refused.ok()) << c.what;
    EXPECT_EQ(refused.status().code(), c.code) << c.what;
    EXPECT_THAT(refused.status().message(), HasSubstr(c.says)) << c.what;
  }
}

}  // namespace
}  // namespace latchkey::vault
