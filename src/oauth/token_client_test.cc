#include "oauth/token_client.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "oauth/fake_http_client.h"
#include "oauth/form_encoding.h"

namespace latchkey::oauth {
namespace {

using std::chrono::seconds;

constexpr char kTokenUrl[] = "https://id.example.com/token";
constexpr char kDeviceUrl[] = "https://id.example.com/device";
constexpr char kRevokeUrl[] = "https://id.example.com/revoke";

provider::ProviderDefinition Acme() {
  provider::ProviderDefinition p;
  p.name = "acme";
  p.token_url = kTokenUrl;
  p.device_authorization_url = kDeviceUrl;
  p.revocation_url = kRevokeUrl;
  p.token_auth = provider::TokenAuthMethod::kClientSecretBasic;
  return p;
}

std::map<std::string, std::string> BodyOf(const HttpRequest& request) {
  std::map<std::string, std::string> out;
  auto pairs = ParseFormEncoded(request.body.reveal());
  if (!pairs) return out;
  for (auto& [name, value] : *pairs) out[name] = value;
  return out;
}

std::string HeaderOf(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "";
}

class TokenClientTest : public testing::Test {
 protected:
  TokenClient Client(const provider::ProviderDefinition& p, std::string secret = "s3cret") {
    return TokenClient(p, "client-id", SecretString(std::move(secret)), http_, clock_);
  }
  FakeHttpClient http_;
  SimulatedClock clock_{FromUnixMillis(1767225600000)};
};

TEST_F(TokenClientTest, ClientSecretBasicFormEncodesBeforeBase64) {
  http_.Respond(kTokenUrl, 200, R"({"access_token":"at"})");
  TokenClient client(Acme(), "id:with space", SecretString("p@ss:w/rd+&=é"), http_, clock_);
  ASSERT_TRUE(client.Refresh(SecretString("rt")).ok());
  HttpRequest sent = http_.last_request();
  std::string_view auth = sent.authorization.reveal();
  ASSERT_TRUE(auth.starts_with("Basic "));
  auto decoded = Base64Decode(auth.substr(6));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(std::string(decoded->begin(), decoded->end()), "id%3Awith+space:p%40ss%3Aw%2Frd%2B%26%3D%C3%A9");
  auto body = BodyOf(sent);
  EXPECT_EQ(body.count("client_id"), 0u);
  EXPECT_EQ(body.count("client_secret"), 0u);
  EXPECT_EQ(body["grant_type"], "refresh_token");
  EXPECT_EQ(body["refresh_token"], "rt");
}

TEST_F(TokenClientTest, ClientSecretPostPutsCredentialsInBody) {
  auto p = Acme();
  p.token_auth = provider::TokenAuthMethod::kClientSecretPost;
  http_.Respond(kTokenUrl, 200, R"({"access_token":"at"})");
  ASSERT_TRUE(Client(p, "a&b=c").ClientCredentials({"x", "y"}).ok());
  HttpRequest sent = http_.last_request();
  EXPECT_TRUE(sent.authorization.empty());
  auto body = BodyOf(sent);
  EXPECT_EQ(body["client_id"], "client-id");
  EXPECT_EQ(body["client_secret"], "a&b=c");
  EXPECT_EQ(body["grant_type"], "client_credentials");
  EXPECT_EQ(body["scope"], "x y");
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(HeaderOf(sent, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(HeaderOf(sent, "Accept"), "application/json");
}

// Figma refreshes at its own URL; the code exchange stays at token_url.
TEST_F(TokenClientTest, ARefreshGoesToTheRefreshUrlWhereTheEntryNamesOne) {
  auto p = Acme();
  p.refresh_url = "https://id.acme.example/refresh";
  http_.Respond(p.refresh_url, 200, R"({"access_token":"at-r"})");
  http_.Respond(kTokenUrl, 200, R"({"access_token":"at-c"})");
  TokenResult refreshed = Client(p).Refresh(SecretString("rt"));
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(http_.last_request().url, p.refresh_url);
  EXPECT_EQ(BodyOf(http_.last_request())["refresh_token"], "rt");
  EXPECT_EQ(refreshed->access_token.reveal(), "at-r");
  ASSERT_TRUE(
      Client(p).ExchangeCode(SecretString("code"), "http://127.0.0.1:5000/cb", SecretString("v")).ok());
  EXPECT_EQ(http_.last_request().url, kTokenUrl);
}

TEST_F(TokenClientTest, NoneSendsOnlyClientId) {
  auto p = Acme();
  p.token_auth = provider::TokenAuthMethod::kNone;
  http_.Respond(kTokenUrl, 200, R"({"access_token":"at"})");
  ASSERT_TRUE(
      Client(p, "")
          .ExchangeCode(SecretString("the-code"), "http://127.0.0.1:5000/callback", SecretString("verifier"))
          .ok());
  HttpRequest sent = http_.last_request();
  EXPECT_TRUE(sent.authorization.empty());
  auto body = BodyOf(sent);
  EXPECT_EQ(body["client_id"], "client-id");
  EXPECT_EQ(body.count("client_secret"), 0u);
  EXPECT_EQ(body["grant_type"], "authorization_code");
  EXPECT_EQ(body["code"], "the-code");
  EXPECT_EQ(body["redirect_uri"], "http://127.0.0.1:5000/callback");
  EXPECT_EQ(body["code_verifier"], "verifier");
}

TEST_F(TokenClientTest, ExtraParamsAndHeadersFromProvider) {
  auto p = Acme();
  p.scope_separator = ",";
  p.token_params = {{"resource", "https://api.example.com"}, {"grant_type", "must-not-override"}};
  p.refresh_params = {{"audience", "refresh-only"}};
  p.quirks.token_request_headers = {{"Accept", "application/vnd+json"}, {"X-Extra", "1"}};
  http_.Respond(kTokenUrl, 200, R"({"access_token":"at"})");
  TokenClient client = Client(p);
  ASSERT_TRUE(client.ClientCredentials({"a", "b"}).ok());
  auto body = BodyOf(http_.last_request());
  EXPECT_EQ(body["resource"], "https://api.example.com");
  EXPECT_EQ(body["grant_type"], "client_credentials");
  EXPECT_EQ(body["scope"], "a,b");
  EXPECT_EQ(body.count("audience"), 0u);
  EXPECT_EQ(HeaderOf(http_.last_request(), "Accept"), "application/vnd+json");
  EXPECT_EQ(HeaderOf(http_.last_request(), "X-Extra"), "1");

  ASSERT_TRUE(client.Refresh(SecretString("rt"), std::vector<std::string>{"a"}).ok());
  body = BodyOf(http_.last_request());
  EXPECT_EQ(body["audience"], "refresh-only");
  EXPECT_EQ(body.count("resource"), 0u);
  EXPECT_EQ(body["scope"], "a");
}

TEST_F(TokenClientTest, FullJsonResponseIsParsed) {
  http_.Respond(kTokenUrl, 200,
                R"({"access_token":"at","refresh_token":"rt2","id_token":"idt","token_type":"bearer",
                    "expires_in":3599,"scope":"openid email"})");
  TokenResult r = Client(Acme()).Refresh(SecretString("rt"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->access_token.reveal(), "at");
  EXPECT_EQ(r->refresh_token.reveal(), "rt2");
  EXPECT_EQ(r->id_token.reveal(), "idt");
  EXPECT_EQ(r->token_type, "Bearer");
  EXPECT_EQ(r->expires_in, seconds(3599));
  EXPECT_FALSE(r->expires_in_defaulted);
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"openid", "email"}));
  EXPECT_TRUE(r->scopes_in_response);
  EXPECT_EQ(r->received_at, clock_.Now());
}

TEST_F(TokenClientTest, RefreshWithoutNewRefreshTokenLeavesItEmpty) {
  http_.Respond(kTokenUrl, 200, R"({"access_token":"at","expires_in":3600})");
  TokenResult r = Client(Acme()).Refresh(SecretString("old-refresh"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->refresh_token.empty());
  EXPECT_FALSE(r->scopes_in_response);
}

// The server's own word on when the refresh token dies (issue 22): each name providers
// use, read as expires_in is; an implausible value is no figure.
TEST_F(TokenClientTest, TheRefreshTokensOwnExpiryIsReadFromEachSpelling) {
  const TimePoint now = clock_.Now();
  const int64_t now_s = ToUnixMillis(now) / 1000;
  struct Row {
    std::string field;
    std::optional<TimePoint> expected;
  } rows[] = {
      {R"("refresh_token_expires_in":15811200)", now + seconds(15811200)},
      {R"("x_refresh_token_expires_in":"8726400")", now + seconds(8726400)},
      {R"("refresh_expires_in":1800)", now + seconds(1800)},
      {R"("refresh_token_expires_at":)" + std::to_string(now_s + 600), now + seconds(600)},
      {R"("refresh_expires_at":")" + std::to_string(now_s + 60) + R"(")", now + seconds(60)},
      {R"("refresh_expires_in":0)", std::nullopt},  // Keycloak: an offline token that does not expire
      {R"("refresh_token_expires_in":-1)", std::nullopt},
      {R"("refresh_token_expires_in":1e300)", std::nullopt},
      {R"("refresh_token_expires_at":)" + std::to_string(now_s - 1), std::nullopt},
      {R"("refresh_token_expires_at":"2030-01-01T00:00:00Z")", std::nullopt},
      {R"("refresh_token_expires_in":null,"refresh_expires_in":300)", now + seconds(300)},
      {"", std::nullopt},
  };
  for (const Row& row : rows) {
    std::string body =
        std::string(R"({"access_token":"at")") + (row.field.empty() ? "" : ",") + row.field + "}";
    FakeHttpClient http;
    http.Respond(kTokenUrl, 200, body);
    TokenClient client(Acme(), "id", SecretString("s"), http, clock_);
    TokenResult r = client.Refresh(SecretString("rt"));
    ASSERT_TRUE(r.ok()) << body;
    EXPECT_EQ(r->refresh_expires_at, row.expected) << body;
  }
}

TEST_F(TokenClientTest, ExpiresInVariants) {
  struct Row {
    const char* field;  // JSON fragment, or "" for none
    std::optional<long long> default_expires_in;
    seconds expected;
    bool defaulted;
  } rows[] = {
      {R"("expires_in":7200)", std::nullopt, seconds(7200), false},
      {R"("expires_in":"7200")", std::nullopt, seconds(7200), false},
      {R"("expires_in":7200.0)", std::nullopt, seconds(7200), false},
      {"", std::nullopt, seconds(3600), true},
      {"", 7200, seconds(7200), true},
      {R"("expires_in":0)", std::nullopt, seconds(3600), true},
      {R"("expires_in":-5)", std::nullopt, seconds(3600), true},
      {R"("expires_in":"soon")", 900, seconds(900), true},
      {R"("expires_in":99999999999)", std::nullopt, seconds(3600), true},
      {R"("expires_in":null)", std::nullopt, seconds(3600), true},
      {R"("expires_in":1e300)", std::nullopt, seconds(3600), true},
  };
  for (const Row& row : rows) {
    auto p = Acme();
    p.quirks.default_expires_in = row.default_expires_in;
    std::string body = std::string(R"({"access_token":"at")") + (*row.field ? "," : "") + row.field + "}";
    FakeHttpClient http;
    http.Respond(kTokenUrl, 200, body);
    TokenClient client(p, "id", SecretString("s"), http, clock_);
    TokenResult r = client.Refresh(SecretString("rt"));
    ASSERT_TRUE(r.ok()) << body;
    EXPECT_EQ(r->expires_in, row.expected) << body;
    EXPECT_EQ(r->expires_in_defaulted, row.defaulted) << body;
    EXPECT_EQ(r->expires_in_assumed, row.defaulted && !row.default_expires_in) << body;
  }
}

TEST_F(TokenClientTest, FormResponseWhenConfigured) {
  auto p = Acme();
  p.quirks.token_response_format = "form";
  http_.Respond(kTokenUrl, 200, "access_token=gho_abc&token_type=bearer&scope=repo%2Cgist&expires_in=28800",
                "text/plain");
  TokenResult r = Client(p).Refresh(SecretString("rt"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->access_token.reveal(), "gho_abc");
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"repo", "gist"}));
  EXPECT_EQ(r->expires_in, seconds(28800));
}

TEST_F(TokenClientTest, JsonFormatRejectsFormBody) {
  http_.Respond(kTokenUrl, 200, "access_token=gho_abc", "application/x-www-form-urlencoded");
  TokenResult r = Client(Acme()).Refresh(SecretString("rt"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, TokenErrorKind::kProtocol);
}

TEST_F(TokenClientTest, AutoFormatFollowsContentType) {
  auto p = Acme();
  p.quirks.token_response_format = "auto";
  http_.Respond(kTokenUrl, 200, "access_token=form-token", "application/x-www-form-urlencoded");
  http_.Respond(kTokenUrl, 200, R"({"access_token":"json-token"})", "application/json");
  TokenClient client = Client(p);
  TokenResult first = client.Refresh(SecretString("rt"));
  TokenResult second = client.Refresh(SecretString("rt"));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->access_token.reveal(), "form-token");
  EXPECT_EQ(second->access_token.reveal(), "json-token");
}

TEST_F(TokenClientTest, SlackUserTokenUnderAuthedUser) {
  auto p = Acme();
  p.scope_separator = ",";
  p.quirks.error_in_ok_body = true;
  p.quirks.token_path = "authed_user";
  p.quirks.account_field = "team.name";
  http_.Respond(kTokenUrl, 200, R"({"ok":true,"access_token":"xoxb-bot","scope":"chat:write",
      "team":{"id":"T1","name":"Acme Corp"},
      "authed_user":{"id":"U1","access_token":"xoxp-user","refresh_token":"xoxe-1","scope":"users:read,chat:write",
                     "expires_in":43200,"token_type":"user"}})");
  TokenResult r = Client(p).ExchangeCode(SecretString("c"), "https://x/cb", SecretString());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->access_token.reveal(), "xoxp-user");
  EXPECT_EQ(r->refresh_token.reveal(), "xoxe-1");
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"users:read", "chat:write"}));
  EXPECT_EQ(r->expires_in, seconds(43200));
  EXPECT_EQ(r->token_type, "user");
  EXPECT_EQ(r->account, "Acme Corp");
  EXPECT_EQ(BodyOf(http_.last_request()).count("code_verifier"), 0u);
}

TEST_F(TokenClientTest, SalesforceInstanceUrlAndDefaultLifetime) {
  auto p = Acme();
  p.quirks.api_base_url_field = "instance_url";
  p.extra_api_base_urls = {"https://*.my.salesforce.com"};
  p.quirks.default_expires_in = 7200;
  p.quirks.account_field = "id";
  http_.Respond(kTokenUrl, 200, R"({"access_token":"00D!x","instance_url":"https://acme.my.salesforce.com",
      "id":"https://login.salesforce.com/id/00D/005","token_type":"Bearer","issued_at":"1700000000000"})");
  TokenResult r = Client(p).Refresh(SecretString("rt"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->api_base_url, "https://acme.my.salesforce.com");
  EXPECT_EQ(r->account, "https://login.salesforce.com/id/00D/005");
  EXPECT_EQ(r->expires_in, seconds(7200));
  EXPECT_TRUE(r->expires_in_defaulted);
}

TEST_F(TokenClientTest, PlainHttpApiBaseUrlIsRefused) {
  auto p = Acme();
  p.quirks.api_base_url_field = "instance_url";
  http_.Respond(kTokenUrl, 200, R"({"access_token":"at","instance_url":"http://evil.example.com"})");
  TokenResult r = Client(p).Refresh(SecretString("rt"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, TokenErrorKind::kProtocol);
  EXPECT_EQ(r.error().code, "bad_api_base_url");
}

// A hostile or mixed-up authorization server names the host agents' calls (with the token)
// go to: only hosts the provider entry allows are taken.
TEST_F(TokenClientTest, AnInstanceUrlOutsideTheEntrysPatternsIsRefused) {
  auto p = Acme();
  p.quirks.api_base_url_field = "instance_url";
  p.extra_api_base_urls = {"https://*.my.salesforce.com"};
  for (const char* url : {"https://evil.example", "https://my.salesforce.com.evil.example",
                          "https://evilmy.salesforce.com", "https://a.my.salesforce.com:8443"}) {
    http_.Respond(kTokenUrl, 200, std::string(R"({"access_token":"at","instance_url":")") + url + "\"}");
    TokenResult r = Client(p).Refresh(SecretString("rt"));
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().kind, TokenErrorKind::kProtocol) << url;
    EXPECT_EQ(r.error().code, "bad_api_base_url") << url;
  }
}

TEST_F(TokenClientTest, SecretsEchoedByProviderAreRedactedAndDescriptionCapped) {
  std::string long_text(1000, 'x');
  http_.Respond(
      kTokenUrl, 400,
      R"({"error":"invalid_grant","error_description":"token my-refresh-token-value and s3cret-value bad)" +
          long_text + "\"}");
  auto p = Acme();
  p.token_auth = provider::TokenAuthMethod::kClientSecretPost;
  TokenResult r = Client(p, "s3cret-value").Refresh(SecretString("my-refresh-token-value"));
  ASSERT_FALSE(r.ok());
  const std::string& d = r.error().description;
  EXPECT_EQ(d.find("my-refresh-token-value"), std::string::npos);
  EXPECT_EQ(d.find("s3cret-value"), std::string::npos);
  EXPECT_NE(d.find("[redacted]"), std::string::npos);
  EXPECT_LE(d.size(), kMaxDescriptionLength);
  EXPECT_EQ(TokenErrorToStatus(r.error()).message().find("my-refresh-token-value"), std::string::npos);
}

TEST_F(TokenClientTest, AnErrorDescriptionIsValidUtf8WhateverBytesTheEndpointSent) {
  // Found by token_response_fuzz: a content type with bytes that are not UTF-8 went into
  // the description as they were.
  http_.Respond(kTokenUrl, 502, "<html>", std::string("text/html\xff\xfe; \xe2\x80\xae") + "charset=x");
  TokenResult r = Client(Acme()).Refresh(SecretString("rt"));
  ASSERT_FALSE(r.ok());
  const std::string& d = r.error().description;
  EXPECT_TRUE(IsValidUtf8(d)) << d;
  EXPECT_EQ(d.find("\xe2\x80\xae"), std::string::npos) << "the right-to-left override is dropped";
  EXPECT_NE(d.find("text/html"), std::string::npos) << d;
  EXPECT_NE(d.find("charset=x"), std::string::npos) << d;
}

TEST_F(TokenClientTest, DeviceFlowStartAndPoll) {
  http_.Respond(kDeviceUrl, 200, R"({"device_code":"dev-123","user_code":"ABCD-EFGH",
      "verification_url":"https://example.com/device","expires_in":"900","interval":7})");
  TokenClient client = Client(Acme());
  DeviceStartResult start = client.StartDevice({"openid", "offline_access"});
  ASSERT_TRUE(start.ok()) << start.error().ToString();
  EXPECT_EQ(start->device_code.reveal(), "dev-123");
  EXPECT_EQ(start->user_code, "ABCD-EFGH");
  EXPECT_EQ(start->verification_uri, "https://example.com/device");
  EXPECT_EQ(start->expires_in, seconds(900));
  EXPECT_EQ(start->interval, seconds(7));
  EXPECT_EQ(BodyOf(http_.last_request())["scope"], "openid offline_access");

  http_.Respond(kTokenUrl, 400, R"({"error":"authorization_pending"})");
  http_.Respond(kTokenUrl, 200, R"({"access_token":"at","refresh_token":"rt"})");
  TokenResult pending = client.PollDevice(start->device_code);
  ASSERT_FALSE(pending.ok());
  EXPECT_EQ(pending.error().kind, TokenErrorKind::kDevicePending);
  auto body = BodyOf(http_.last_request());
  EXPECT_EQ(body["grant_type"], "urn:ietf:params:oauth:grant-type:device_code");
  EXPECT_EQ(body["device_code"], "dev-123");
  TokenResult done = client.PollDevice(start->device_code);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->refresh_token.reveal(), "rt");
}

TEST_F(TokenClientTest, DeviceStartWithoutRequiredFieldsIsProtocolError) {
  http_.Respond(kDeviceUrl, 200, R"({"device_code":"d"})");
  DeviceStartResult start = Client(Acme()).StartDevice({});
  ASSERT_FALSE(start.ok());
  EXPECT_EQ(start.error().kind, TokenErrorKind::kProtocol);
}

TEST_F(TokenClientTest, MissingEndpointsAreMisconfigured) {
  provider::ProviderDefinition p;
  p.name = "bare";
  TokenClient client = Client(p);
  EXPECT_EQ(client.Refresh(SecretString("rt")).error().code, "no_endpoint");
  EXPECT_EQ(client.StartDevice({}).error().kind, TokenErrorKind::kMisconfigured);
  EXPECT_EQ(client.Revoke(SecretString("rt"), "refresh_token").error().code, "no_endpoint");
  EXPECT_EQ(http_.request_count(), 0u);
}

TEST_F(TokenClientTest, RevokeSendsTokenAndHint) {
  http_.Respond(kRevokeUrl, 200, "", "");
  RevokeResult r = Client(Acme()).Revoke(SecretString("rt-value"), "refresh_token");
  ASSERT_TRUE(r.ok());
  auto body = BodyOf(http_.last_request());
  EXPECT_EQ(body["token"], "rt-value");
  EXPECT_EQ(body["token_type_hint"], "refresh_token");
  EXPECT_FALSE(http_.last_request().authorization.empty());
}

TEST_F(TokenClientTest, RevokeErrors) {
  http_.Respond(kRevokeUrl, 503, "<html/>", "text/html", {{"retry-after", "120"}});
  RevokeResult unavailable = Client(Acme()).Revoke(SecretString("t"), "");
  ASSERT_FALSE(unavailable.ok());
  EXPECT_EQ(unavailable.error().kind, TokenErrorKind::kTransient);
  EXPECT_EQ(unavailable.error().retry_after, seconds(120));
  EXPECT_EQ(BodyOf(http_.last_request()).count("token_type_hint"), 0u);

  auto slack = Acme();
  slack.quirks.error_in_ok_body = true;
  FakeHttpClient http;
  http.Respond(kRevokeUrl, 200, R"({"ok":false,"error":"invalid_auth"})");
  TokenClient client(slack, "id", SecretString("s"), http, clock_);
  RevokeResult r = client.Revoke(SecretString("t"), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_auth");
}

}  // namespace
}  // namespace latchkey::oauth
