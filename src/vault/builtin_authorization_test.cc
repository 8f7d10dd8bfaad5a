// Every built-in entry's authorization URL, built by ConsentFlows as a connect would build
// it, against what the provider's documentation says it must carry: the sidecar
// src/provider/builtin/<name>.authorize.json, written from that documentation (its
// "sources"), apart from the entry. SPEC §10, issue 22 must-show 3.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "oauth/fake_http_client.h"
#include "oauth/form_encoding.h"
#include "oauth/token_fields.h"
#include "provider/catalog.h"
#include "vault/consent_flow.h"
#include "vault/vault_test_support.h"

namespace latchkey::vault {
namespace {

using ::testing::HasSubstr;

constexpr char kRedirect[] = "http://127.0.0.1:49152/callback";

nlohmann::json ReadSidecar(const std::string& name) {
  const std::filesystem::path path =
      std::filesystem::path(LATCHKEY_BUILTIN_PROVIDER_DIR) / (name + ".authorize.json");
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "no " << path << ": each built-in entry has one, from its documentation";
    return nlohmann::json::object();
  }
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
}

// A valid value of each variable, as the entry's sidecar writes it in its URL ("{shop}").
std::map<std::string, std::string> SampleValues(const provider::ProviderDefinition& entry) {
  std::map<std::string, std::string> values;
  for (const provider::TemplateVariable& variable : entry.template_variables) {
    values[variable.name] =
        variable.kind == provider::TemplateValueKind::kHost ? "tenant.example.com" : "tenant";
  }
  return values;
}

std::string Fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    const std::string placeholder = "{" + name + "}";
    for (size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at)) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

class BuiltinAuthorizationTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    clients_ = std::make_unique<OAuthClients>(vault_->providers(), http_, clock_);
    flows_ = std::make_unique<ConsentFlows>(*vault_, *clients_, clock_, SystemRandom::Instance());
  }

  oauth::FakeHttpClient http_;
  std::unique_ptr<OAuthClients> clients_;
  std::unique_ptr<ConsentFlows> flows_;
};

TEST_F(BuiltinAuthorizationTest, EachEntryBuildsTheAuthorizationUrlItsDocumentationDescribes) {
  auto builtins = provider::LoadBuiltinProviders();
  ASSERT_TRUE(builtins.ok()) << builtins.status().ToString();
  int checked = 0;
  for (const provider::ProviderDefinition& entry : *builtins) {
    SCOPED_TRACE(entry.name);
    if (entry.name == "example-api-key") continue;  // latchkey's own example, documented by no one
    const nlohmann::json sidecar = ReadSidecar(entry.name);
    ASSERT_TRUE(sidecar.is_object()) << entry.name << ".authorize.json is not a JSON object";
    ASSERT_TRUE(sidecar.contains("sources") && !sidecar["sources"].empty())
        << "name the pages it was taken from";
    if (entry.auth != provider::AuthKind::kOAuth2) {
      // Trello, Freshdesk: their sidecar says why the entry takes a key instead.
      EXPECT_TRUE(sidecar.contains("refresh_token_needs")) << "say why there is no OAuth 2 entry";
      continue;
    }
    const std::map<std::string, std::string> values = SampleValues(entry);
    std::string name = entry.name;
    if (entry.is_template()) {
      auto instance = vault_->providers().Instantiate(entry.name, values, "", {});
      ASSERT_TRUE(instance.ok()) << instance.status().ToString();
      name = instance->name;
    }
    // The client id an operator would set for this entry (or for this tenant's instance).
    const std::string client_id = "client-of-" + name;
    ASSERT_EQ(::setenv(provider::OwnEnvVariable(name, "CLIENT_ID").c_str(), client_id.c_str(), 1), 0);
    ASSERT_EQ(::setenv(provider::OwnEnvVariable(name, "CLIENT_SECRET").c_str(), "not-sent-here", 1), 0);

    auto start = flows_->BeginAuthorization(name, "c", {}, kRedirect);
    ASSERT_TRUE(start.ok()) << start.status().ToString();
    const size_t question = start->url.find('?');
    ASSERT_NE(question, std::string::npos);
    EXPECT_EQ(start->url.substr(0, question), Fill(sidecar.value("authorization_url", ""), values));
    auto pairs = oauth::ParseFormEncoded(std::string_view(start->url).substr(question + 1));
    ASSERT_TRUE(pairs.has_value());
    std::map<std::string, std::string> query(pairs->begin(), pairs->end());

    EXPECT_EQ(query["client_id"], client_id);
    EXPECT_EQ(query["redirect_uri"], kRedirect);
    EXPECT_EQ(query["state"].size(), 43U) << "256 random bits";
    // Offline access and whatever else the documentation asks for ("<...>" marks a value
    // the operator chooses, written as an example).
    const nlohmann::json required = sidecar.value("required_params", nlohmann::json::object());
    for (const auto& item : required.items()) {
      const std::string& param = item.key();
      const nlohmann::json& expected = item.value();
      ASSERT_TRUE(expected.is_string()) << param;
      EXPECT_EQ(query.count(param), 1U) << "missing " << param;
      if (!expected.get<std::string>().starts_with("<")) {
        EXPECT_EQ(query[param], Fill(expected.get<std::string>(), values)) << param;
      }
    }
    // The scope separator: the entry's scopes joined as the documentation joins them. An
    // entry without scopes (Pipedrive's come from the app's settings) sends no scope at all.
    if (entry.scopes.empty()) {
      EXPECT_EQ(query.count("scope"), 0U) << "an empty scope= is not 'no scope' to every provider";
    } else {
      ASSERT_TRUE(sidecar.contains("scope_separator") && sidecar["scope_separator"].is_string())
          << "say how scopes are joined";
      EXPECT_EQ(entry.scope_separator, sidecar["scope_separator"].get<std::string>());
      EXPECT_EQ(query["scope"],
                oauth::JoinScopes(entry.scopes, sidecar["scope_separator"].get<std::string>()));
    }
    // PKCE: latchkey always sends S256; an entry whose documentation says the provider
    // refuses it would need an entry field to turn it off, which none has today.
    const std::string pkce = sidecar.value("pkce", "");
    EXPECT_THAT((std::vector<std::string>{"S256", "supported", "not_documented"}), ::testing::Contains(pkce));
    EXPECT_EQ(query["code_challenge_method"], "S256");
    EXPECT_EQ(query["code_challenge"].size(), 43U);
    ++checked;
  }
  EXPECT_GE(checked, 45) << "the OAuth entries of the catalog";
}

TEST_F(BuiltinAuthorizationTest, ATemplateIsUsedOnlyThroughItsInstance) {
  auto direct = flows_->BeginAuthorization("zendesk", "z", {}, kRedirect);
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(direct.status().message(), HasSubstr("latchkey connect zendesk --param subdomain="));

  auto imported = vault_->connections().Import(
      {.name = "z", .provider = "zendesk", .document = R"({"access_token":"a"})", .source = "test"});
  ASSERT_FALSE(imported.ok());
  EXPECT_THAT(imported.status().message(), HasSubstr("is a template"));

  auto instance = vault_->providers().Instantiate("zendesk", {{"subdomain", "acme"}}, "", {});
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  EXPECT_EQ(instance->name, "zendesk-acme");
  EXPECT_EQ(instance->token_url, "https://acme.zendesk.com/oauth/tokens");
  auto again = vault_->providers().Instantiate("zendesk", {{"subdomain", "acme"}}, "", {});
  EXPECT_TRUE(again.ok()) << "making the same instance again changes nothing: " << again.status().ToString();

  auto hostile = vault_->providers().Instantiate("zendesk", {{"subdomain", "acme.evil.example"}}, "", {});
  ASSERT_FALSE(hostile.ok());
  EXPECT_THAT(hostile.status().message(), HasSubstr("must be one DNS label"));
  auto builtin_name = vault_->providers().Instantiate("zendesk", {{"subdomain", "acme"}}, "github", {});
  ASSERT_FALSE(builtin_name.ok());
  EXPECT_THAT(builtin_name.status().message(), HasSubstr("is the name of a built-in entry"));
  auto not_template = vault_->providers().Instantiate("github", {{"subdomain", "acme"}}, "", {});
  ASSERT_FALSE(not_template.ok());
  EXPECT_THAT(not_template.status().message(), HasSubstr("is not a template"));
}

}  // namespace
}  // namespace latchkey::vault
