#include "vault/provider_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "provider/catalog.h"
#include "vault/vault_test_support.h"

namespace latchkey::vault {
namespace {

using ::testing::HasSubstr;

// The built-in entry's TOML, as shipped.
std::string BuiltinText(std::string_view name) {
  for (const EmbeddedFile& file : provider::BuiltinProviderFiles()) {
    if (file.name == std::string(name) + ".toml") return std::string(file.contents);
  }
  ADD_FAILURE() << "no built-in " << name;
  return "";
}

std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

using ProviderRegistryTest = VaultTest;

// An admin-token holder overrides a built-in that has no connections yet, keeps its
// secret variable and points the token endpoint at its own host: the operator's GitHub
// client secret would be posted there at the next consent.
TEST_F(ProviderRegistryTest, AnOverrideThatMovesABuiltinsEndpointsCannotReadItsSecretVariable) {
  const std::string github = BuiltinText("github");
  const std::string moved =
      Replaced(github, "https://github.com/login/oauth/access_token", "https://evil.example/token");
  auto refused = vault_->providers().Add(moved, "admin API");
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("changes the built-in entry's token_url"));
  EXPECT_THAT(refused.status().message(), HasSubstr("env:LATCHKEY_GITHUB_CLIENT_SECRET"));
  EXPECT_EQ(vault_->providers().Get("github")->token_url, "https://github.com/login/oauth/access_token");

  // Another variable for the moved entry is fine (the operator sets it for that host), and
  // so is an override that keeps the endpoints (other scopes, say).
  EXPECT_TRUE(
      vault_->providers()
          .Add(Replaced(moved, "env:LATCHKEY_GITHUB_CLIENT_SECRET", "env:LATCHKEY_SECRET_GHE"), "admin API")
          .ok());
  EXPECT_TRUE(vault_->providers().Add(Replaced(github, "[\"read:user\"]", "[\"repo\"]"), "admin API").ok());
}

// The unprefixed "own variable" form (ACME_CLIENT_SECRET for "acme") made an entry named
// "latchkey-github" the owner of LATCHKEY_GITHUB_CLIENT_SECRET (found by review).
TEST_F(ProviderRegistryTest, AnEntryNamedLatchkeySomethingCannotReadThatEntrysVariables) {
  const std::string entry =
      "name = \"latchkey-github\"\nauth = \"oauth2\"\nauthorization_url = \"https://evil.example/a\"\n"
      "token_url = \"https://evil.example/token\"\nclient_id = \"x\"\n"
      "client_secret = \"env:LATCHKEY_GITHUB_CLIENT_SECRET\"\napi_base_url = \"https://evil.example\"\n";
  auto refused = vault_->providers().Add(entry, "admin API");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("is not allowed"));
  // Its own variable still is.
  EXPECT_TRUE(vault_->providers()
                  .Add(Replaced(entry, "env:LATCHKEY_GITHUB_CLIENT_SECRET",
                                "env:LATCHKEY_LATCHKEY_GITHUB_CLIENT_SECRET"),
                       "admin API")
                  .ok());
}

// Two tenants whose values make the same default name (acme.okta.com and a look-alike
// acme-okta.com both give "okta-acme-okta-com"), or an operator's own entry of that name:
// the second never replaces the first (found by review).
TEST_F(ProviderRegistryTest, AnInstanceNeverReplacesAnotherEntryOfItsName) {
  auto first = vault_->providers().Instantiate("okta", {{"domain", "acme.okta.com"}}, "", {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->name, "okta-acme-okta-com");
  auto lookalike = vault_->providers().Instantiate("okta", {{"domain", "acme-okta.com"}}, "", {});
  ASSERT_FALSE(lookalike.ok());
  EXPECT_EQ(lookalike.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(lookalike.status().message(), HasSubstr("--provider-name"));
  EXPECT_EQ(vault_->providers().Get("okta-acme-okta-com")->token_url,
            "https://acme.okta.com/oauth2/v1/token");
  EXPECT_TRUE(vault_->providers().Instantiate("okta", {{"domain", "acme.okta.com"}}, "", {}).ok())
      << "the same instance again";
  EXPECT_TRUE(
      vault_->providers().Instantiate("okta", {{"domain", "acme-okta.com"}}, "okta-lookalike", {}).ok());
}

// A template whose variables stand only in parameters changes no endpoint, yet it cannot
// serve the connections of the entry it would replace (found by review).
TEST_F(ProviderRegistryTest, ATemplateNeverReplacesAnEntryConnectionsUse) {
  const std::string plain =
      "name = \"acme\"\nauth = \"oauth2\"\nauthorization_url = \"https://id.acme.example/a\"\n"
      "token_url = \"https://id.acme.example/token\"\nclient_id = \"x\"\n"
      "api_base_url = \"https://api.acme.example\"\n";
  ASSERT_TRUE(vault_->providers().Add(plain, "acme.toml").ok());
  ASSERT_TRUE(
      vault_->connections()
          .Import({.name = "work", .provider = "acme", .document = R"({"access_token":"a"})", .source = "t"})
          .ok());
  auto refused = vault_->providers().Add(
      plain + "[authorization_params]\naudience = \"{audience}\"\n[template]\naudience = \"the API\"\n",
      "acme.toml", {.change_endpoints = true});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("a template cannot serve a connection"));
}

}  // namespace
}  // namespace latchkey::vault
