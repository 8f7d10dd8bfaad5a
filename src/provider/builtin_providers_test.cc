#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "provider/catalog.h"

namespace latchkey::provider {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const ProviderDefinition& Builtin(std::string_view name) {
  static const std::vector<ProviderDefinition> all = [] {
    auto loaded = LoadBuiltinProviders();
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    return loaded.ok() ? *loaded : std::vector<ProviderDefinition>{};
  }();
  for (const ProviderDefinition& d : all) {
    if (d.name == name) return d;
  }
  ADD_FAILURE() << "no built-in provider '" << name << "'";
  static const ProviderDefinition empty;
  return empty;
}

TEST(BuiltinProvidersTest, EveryFileParsesAndValidates) {
  ASSERT_FALSE(BuiltinProviderFiles().empty());
  std::set<std::string> names;
  for (const EmbeddedFile& file : BuiltinProviderFiles()) {
    SCOPED_TRACE(std::string(file.name));
    EXPECT_THAT(std::string(file.contents), StartsWith("# ")) << "start with a comment naming the docs page";
    auto parsed = ParseProvider(file.contents, "built-in:" + std::string(file.name));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    // The file name is how operators find an entry: keep it equal to the provider name.
    EXPECT_EQ(std::string(file.name), parsed->name + ".toml");
    EXPECT_TRUE(names.insert(parsed->name).second) << "duplicate name " << parsed->name;
    if (parsed->auth == AuthKind::kOAuth2) {
      std::string upper;
      for (char c : parsed->name) upper += c == '-' ? '_' : static_cast<char>(std::toupper(c));
      EXPECT_EQ(parsed->client_id.env_var, "LATCHKEY_" + upper + "_CLIENT_ID");
      EXPECT_EQ(parsed->client_secret.env_var, "LATCHKEY_" + upper + "_CLIENT_SECRET");
      EXPECT_TRUE(parsed->client_secret.literal.empty()) << "a built-in must never ship a secret";
      EXPECT_FALSE(parsed->authorization_url.empty());
      EXPECT_FALSE(parsed->token_url.empty());
    }
    // latchkey's own example is the one entry no provider documents.
    if (parsed->name != "example-api-key") {
      EXPECT_THAT(parsed->docs_url, StartsWith("https://")) << "name the documentation the entry follows";
    }
  }
  // The providers SPEC §10 names, at least.
  for (std::string_view expected :
       {"google",   "microsoft", "github",     "github-app",     "gitlab",       "bitbucket",
        "slack",    "discord",   "zoom",       "salesforce",     "hubspot",      "pipedrive",
        "zendesk",  "intercom",  "freshdesk",  "atlassian",      "linear",       "asana",
        "monday",   "clickup",   "trello",     "notion",         "airtable",     "dropbox",
        "box",      "xero",      "quickbooks", "stripe-connect", "shopify",      "mailchimp",
        "calendly", "docusign",  "figma",      "miro",           "spotify",      "twitch",
        "reddit",   "x",         "linkedin",   "okta",           "auth0",        "keycloak",
        "strava",   "webflow",   "canva",      "typeform",       "surveymonkey", "smartsheet",
        "wrike",    "todoist",   "coinbase",   "example-api-key"}) {
    EXPECT_THAT(names, Contains(std::string(expected)));
  }
  EXPECT_GE(names.size(), 51U);
}

TEST(BuiltinProvidersTest, LoadMarksSourceAsBuiltIn) {
  auto loaded = LoadBuiltinProviders();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->size(), BuiltinProviderFiles().size());
  for (const ProviderDefinition& d : *loaded) EXPECT_EQ(d.source, "built-in") << d.name;
}

TEST(BuiltinProvidersTest, GoogleAsksForOfflineAccessAndIncrementalConsent) {
  const ProviderDefinition& google = Builtin("google");
  EXPECT_EQ(google.authorization_params.at("access_type"), "offline");
  EXPECT_EQ(google.authorization_params.at("prompt"), "consent");
  EXPECT_EQ(google.quirks.incremental_consent_params.at("include_granted_scopes"), "true");
  EXPECT_EQ(google.revocation_url, "https://oauth2.googleapis.com/revoke");
  EXPECT_FALSE(google.device_authorization_url.empty());
  EXPECT_EQ(google.quirks.scope_error_format, "google");
}

TEST(BuiltinProvidersTest, MicrosoftRecognisesTerminalEntraCodes) {
  const ProviderDefinition& microsoft = Builtin("microsoft");
  EXPECT_THAT(microsoft.scopes, Contains("offline_access"));
  EXPECT_EQ(microsoft.api_base_url, "https://graph.microsoft.com");
  EXPECT_THAT(microsoft.token_url, HasSubstr("/common/oauth2/v2.0/token"));
  for (std::string_view code : {"AADSTS70008", "AADSTS700082", "AADSTS50173", "AADSTS700084"}) {
    EXPECT_THAT(microsoft.quirks.terminal_error_descriptions, Contains(std::string(code)));
  }
  EXPECT_TRUE(microsoft.quirks.rotates_refresh_token);
  EXPECT_EQ(microsoft.quirks.scope_error_format, "microsoft_graph");
}

TEST(BuiltinProvidersTest, GithubAsksForJsonAndSeparatesScopesWithCommas) {
  const ProviderDefinition& github = Builtin("github");
  EXPECT_EQ(github.quirks.token_request_headers.at("Accept"), "application/json");
  EXPECT_EQ(github.quirks.token_response_format, "auto");
  EXPECT_EQ(github.scope_separator, ",");
  EXPECT_EQ(github.api_base_url, "https://api.github.com");
  EXPECT_FALSE(github.device_authorization_url.empty());
}

TEST(BuiltinProvidersTest, SlackReportsErrorsInsideOkBodies) {
  const ProviderDefinition& slack = Builtin("slack");
  EXPECT_EQ(slack.scope_separator, ",");
  EXPECT_EQ(slack.token_url, "https://slack.com/api/oauth.v2.access");
  EXPECT_TRUE(slack.quirks.error_in_ok_body);
  EXPECT_THAT(slack.quirks.terminal_errors, Contains("invalid_refresh_token"));
  EXPECT_THAT(slack.quirks.terminal_errors, Contains("token_revoked"));
  EXPECT_EQ(slack.quirks.scope_error_format, "slack");
  EXPECT_EQ(slack.api_base_url, "https://slack.com/api");
}

TEST(BuiltinProvidersTest, SalesforceTakesItsApiBaseFromTheTokenResponse) {
  const ProviderDefinition& salesforce = Builtin("salesforce");
  EXPECT_EQ(salesforce.quirks.api_base_url_field, "instance_url");
  EXPECT_FALSE(salesforce.api_base_url.empty());
  EXPECT_TRUE(salesforce.quirks.default_expires_in.has_value());
}

// The refresh-token rules each provider documents (docs/plans/issue-22-catalog/REVIEW.md).
TEST(BuiltinProvidersTest, DocumentedRefreshTokenLifetimesAreCarried) {
  using std::chrono::hours;
  const RefreshTokenRules atlassian = Builtin("atlassian").refresh_tokens;
  EXPECT_EQ(atlassian.lifetime, hours(24 * 365));
  EXPECT_EQ(atlassian.idle_lifetime, hours(24 * 90));
  EXPECT_EQ(atlassian.reuse_grace, std::chrono::minutes(10));
  EXPECT_EQ(Builtin("google").refresh_tokens.idle_lifetime, hours(24 * 180));
  EXPECT_EQ(Builtin("microsoft").refresh_tokens.idle_lifetime, hours(24 * 90));
  EXPECT_EQ(Builtin("spotify").refresh_tokens.lifetime, hours(24 * 180));
  EXPECT_FALSE(Builtin("spotify").refresh_tokens.idle_lifetime) << "refreshing does not extend it";
  EXPECT_EQ(Builtin("zoom").refresh_tokens, RefreshTokenRules{}) << "Zoom's sources disagree";
}

TEST(BuiltinProvidersTest, AtlassianAndDropboxAskForOfflineAccess) {
  const ProviderDefinition& atlassian = Builtin("atlassian");
  EXPECT_EQ(atlassian.authorization_params.at("audience"), "api.atlassian.com");
  EXPECT_EQ(atlassian.authorization_params.at("prompt"), "consent");
  EXPECT_THAT(atlassian.scopes, Contains("offline_access"));
  EXPECT_TRUE(atlassian.quirks.rotates_refresh_token);
  EXPECT_EQ(Builtin("dropbox").authorization_params.at("token_access_type"), "offline");
}

TEST(BuiltinProvidersTest, NotionUsesBasicAuthAndAssumesNoExpiry) {
  const ProviderDefinition& notion = Builtin("notion");
  EXPECT_EQ(notion.token_auth, TokenAuthMethod::kClientSecretBasic);
  EXPECT_FALSE(notion.quirks.default_expires_in.has_value());
}

TEST(BuiltinProvidersTest, ExampleApiKeyPutsTheKeyInAHeader) {
  const ProviderDefinition& example = Builtin("example-api-key");
  EXPECT_EQ(example.auth, AuthKind::kApiKey);
  EXPECT_EQ(example.api_key_header, "Authorization");
  EXPECT_EQ(example.api_key_prefix, "Bearer ");
}

}  // namespace
}  // namespace latchkey::provider
