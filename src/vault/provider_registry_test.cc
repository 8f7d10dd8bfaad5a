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

}  // namespace
}  // namespace latchkey::vault
