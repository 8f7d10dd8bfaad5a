#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "provider/provider.h"

namespace latchkey::provider {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kMinimalOAuth2 = R"(
name = "acme"
auth = "oauth2"
token_url = "https://id.acme.example/token"
api_base_url = "https://api.acme.example"
)";

TEST(ParseProviderTest, MinimalOAuth2GetsDefaults) {
  auto parsed = ParseProvider(kMinimalOAuth2, "acme.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->name, "acme");
  EXPECT_EQ(parsed->display_name, "acme");
  EXPECT_EQ(parsed->auth, AuthKind::kOAuth2);
  EXPECT_EQ(parsed->token_auth, TokenAuthMethod::kClientSecretBasic);
  EXPECT_EQ(parsed->scope_separator, " ");
  EXPECT_EQ(parsed->quirks.token_response_format, "json");
  EXPECT_EQ(parsed->quirks.scope_error_format, "rfc6750");
  EXPECT_FALSE(parsed->quirks.default_expires_in.has_value());
  EXPECT_EQ(parsed->source, "acme.toml");
}

TEST(ParseProviderTest, IssuerAloneIsEnoughForDiscovery) {
  auto parsed = ParseProvider(R"(
name = "acme"
auth = "oauth2"
issuer = "https://id.acme.example"
api_base_url = "https://api.acme.example"
)",
                              "acme.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->issuer, "https://id.acme.example");
}

TEST(ParseProviderTest, MinimalApiKeyWithQuery) {
  auto parsed = ParseProvider(R"(
name = "acme-keys"
auth = "api_key"
api_base_url = "https://api.acme.example"
api_key_query = "api_key"
)",
                              "keys.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->auth, AuthKind::kApiKey);
  EXPECT_EQ(parsed->api_key_query, "api_key");
  EXPECT_TRUE(parsed->api_key_header.empty());
}

TEST(ParseProviderTest, MinimalBasic) {
  auto parsed = ParseProvider(R"(
name = "acme-basic"
display_name = "Acme Basic"
auth = "basic"
api_base_url = "https://api.acme.example/v2"
)",
                              "basic.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->auth, AuthKind::kBasic);
  EXPECT_EQ(parsed->display_name, "Acme Basic");
}

TEST(ParseProviderTest, FullOAuth2DocumentKeepsEveryField) {
  auto parsed = ParseProvider(R"(
name = "acme"
display_name = "Acme"
auth = "oauth2"
issuer = "https://id.acme.example"
authorization_url = "https://id.acme.example/authorize"
token_url = "https://id.acme.example/token"
revocation_url = "https://id.acme.example/revoke"
device_authorization_url = "https://id.acme.example/device"
userinfo_url = "https://id.acme.example/userinfo"
client_id = "acme-client"
client_secret = "env:ACME_CLIENT_SECRET"
token_auth = "client_secret_post"
scopes = ["offline_access", "api.read"]
scope_separator = " "
api_base_url = "https://api.acme.example"
extra_api_base_urls = ["https://upload.acme.example"]
[authorization_params]
access_type = "offline"
[token_params]
resource = "https://api.acme.example"
[refresh_params]
resource = "https://api.acme.example"
[quirks]
token_response_format = "auto"
token_path = "authed_user"
error_in_ok_body = true
terminal_errors = ["token_revoked"]
terminal_error_descriptions = ["AADSTS70008"]
default_expires_in = 3600
api_base_url_field = "instance_url"
rotates_refresh_token = true
refresh_token_lifetime = 7776000
scope_error_format = "slack"
account_field = "team.name"
[quirks.token_request_headers]
Accept = "application/json"
[quirks.incremental_consent_params]
include_granted_scopes = "true"
)",
                              "acme.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ProviderDefinition& d = *parsed;
  EXPECT_EQ(d.client_id.literal.reveal(), "acme-client");
  EXPECT_TRUE(d.client_id.env_var.empty());
  EXPECT_EQ(d.client_secret.env_var, "ACME_CLIENT_SECRET");
  EXPECT_TRUE(d.client_secret.literal.empty());
  EXPECT_EQ(d.token_auth, TokenAuthMethod::kClientSecretPost);
  EXPECT_EQ(d.scopes, (std::vector<std::string>{"offline_access", "api.read"}));
  EXPECT_EQ(d.extra_api_base_urls, (std::vector<std::string>{"https://upload.acme.example"}));
  EXPECT_EQ(d.authorization_params.at("access_type"), "offline");
  EXPECT_EQ(d.token_params.at("resource"), "https://api.acme.example");
  EXPECT_EQ(d.refresh_params.at("resource"), "https://api.acme.example");
  EXPECT_EQ(d.quirks.token_response_format, "auto");
  EXPECT_EQ(d.quirks.token_request_headers.at("Accept"), "application/json");
  EXPECT_EQ(d.quirks.token_path, "authed_user");
  EXPECT_TRUE(d.quirks.error_in_ok_body);
  EXPECT_EQ(d.quirks.terminal_errors, (std::vector<std::string>{"token_revoked"}));
  EXPECT_EQ(d.quirks.terminal_error_descriptions, (std::vector<std::string>{"AADSTS70008"}));
  EXPECT_EQ(d.quirks.default_expires_in, 3600);
  EXPECT_EQ(d.quirks.api_base_url_field, "instance_url");
  EXPECT_TRUE(d.quirks.rotates_refresh_token);
  EXPECT_EQ(d.quirks.refresh_token_lifetime, 7776000);
  EXPECT_EQ(d.refresh_tokens.lifetime, std::chrono::hours(24 * 90)) << "the old spelling is the lifetime";
  EXPECT_EQ(d.quirks.incremental_consent_params.at("include_granted_scopes"), "true");
  EXPECT_EQ(d.quirks.scope_error_format, "slack");
  EXPECT_EQ(d.quirks.account_field, "team.name");
}

TEST(ParseProviderTest, LifetimesAreDurationsAndDocsUrlIsKept) {
  auto parsed = ParseProvider(R"(name = "acme"
auth = "oauth2"
docs_url = "https://docs.acme.example/oauth#refresh-tokens"
refresh_token_lifetime = "365d"
refresh_token_idle_lifetime = "90d"
refresh_token_reuse_grace = "10m"
token_url = "https://id.acme.example/token"
api_base_url = "https://api.acme.example"
)",
                              "acme.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->docs_url, "https://docs.acme.example/oauth#refresh-tokens")
      << "a fragment may point into the page";
  EXPECT_EQ(parsed->refresh_tokens.lifetime, std::chrono::hours(24 * 365));
  EXPECT_EQ(parsed->refresh_tokens.idle_lifetime, std::chrono::hours(24 * 90));
  EXPECT_EQ(parsed->refresh_tokens.reuse_grace, std::chrono::minutes(10));

  auto bare = ParseProvider(R"(name = "acme"
auth = "oauth2"
token_url = "https://id.acme.example/token"
api_base_url = "https://api.acme.example"
)",
                            "acme.toml");
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->refresh_tokens, RefreshTokenRules{}) << "no rule where none is written";
}

TEST(ParseProviderTest, LiteralClientSecretIsHeldAsSecret) {
  std::string doc = std::string(kMinimalOAuth2) + "client_secret = \"s3cret\"\n";
  auto parsed = ParseProvider(doc, "acme.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->client_secret.literal.reveal(), "s3cret");
  EXPECT_TRUE(parsed->client_secret.env_var.empty());
}

TEST(ParseProviderTest, LoopbackHttpEndpointsAreAccepted) {
  for (std::string_view host :
       {"127.0.0.1:9000", "localhost", "LOCALHOST:8080", "[::1]:9000", "127.8.9.10"}) {
    std::string doc = "name = \"dev\"\nauth = \"oauth2\"\ntoken_url = \"http://" + std::string(host) +
                      "/token\"\napi_base_url = \"http://" + std::string(host) + "\"\n";
    auto parsed = ParseProvider(doc, "dev.toml");
    EXPECT_TRUE(parsed.ok()) << host << ": " << parsed.status().ToString();
  }
}

TEST(StripLiteralClientSecretTest, RemovesLiteralSecret) {
  std::string doc = std::string(kMinimalOAuth2) + "client_id = \"acme-client\"\nclient_secret = \"s3cret\"\n";
  auto stripped = StripLiteralClientSecret(doc);
  ASSERT_TRUE(stripped.ok()) << stripped.status().ToString();
  EXPECT_THAT(*stripped, Not(HasSubstr("s3cret")));
  EXPECT_THAT(*stripped, Not(HasSubstr("client_secret")));
  EXPECT_THAT(*stripped, HasSubstr("acme-client"));
  // What is stored must still be a valid provider document.
  auto reparsed = ParseProvider(*stripped, "stored");
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
  EXPECT_EQ(reparsed->token_url, "https://id.acme.example/token");
  EXPECT_TRUE(reparsed->client_secret.empty());
}

TEST(StripLiteralClientSecretTest, KeepsEnvReference) {
  std::string doc = std::string(kMinimalOAuth2) +
                    "client_secret = \"env:ACME_SECRET\"\n[quirks]\nrotates_refresh_token = true\n";
  auto stripped = StripLiteralClientSecret(doc);
  ASSERT_TRUE(stripped.ok()) << stripped.status().ToString();
  auto reparsed = ParseProvider(*stripped, "stored");
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
  EXPECT_EQ(reparsed->client_secret.env_var, "ACME_SECRET");
  EXPECT_TRUE(reparsed->quirks.rotates_refresh_token);
}

TEST(StripLiteralClientSecretTest, SyntaxErrorIsReported) {
  auto stripped = StripLiteralClientSecret("name = ");
  EXPECT_EQ(stripped.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(stripped.status().message(), HasSubstr("TOML syntax error"));
}

TEST(ProviderNamesTest, EnumsHaveTheirTomlSpelling) {
  EXPECT_EQ(AuthKindName(AuthKind::kOAuth2), "oauth2");
  EXPECT_EQ(AuthKindName(AuthKind::kApiKey), "api_key");
  EXPECT_EQ(AuthKindName(AuthKind::kBasic), "basic");
  EXPECT_EQ(TokenAuthMethodName(TokenAuthMethod::kClientSecretBasic), "client_secret_basic");
  EXPECT_EQ(TokenAuthMethodName(TokenAuthMethod::kClientSecretPost), "client_secret_post");
  EXPECT_EQ(TokenAuthMethodName(TokenAuthMethod::kNone), "none");
}

}  // namespace
}  // namespace latchkey::provider
