#include "provider/provider_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/url.h"
#include "provider/provider.h"

namespace latchkey::provider {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kZendesk = R"(# A shop-per-tenant provider
name = "desk"
display_name = "Desk"
auth = "oauth2"
authorization_url = "https://{subdomain}.desk.example/oauth/authorize"
token_url = "https://{subdomain}.desk.example/oauth/token"
client_id = "env:LATCHKEY_DESK_CLIENT_ID"
api_base_url = "https://{subdomain}.desk.example/api/v2"
[template]
subdomain = "the Desk subdomain, e.g. acme for acme.desk.example"
)";

constexpr std::string_view kRealm = R"(
name = "realm"
auth = "oauth2"
issuer = "https://{host}/realms/{realm}"
authorization_url = "https://{host}/realms/{realm}/auth"
token_url = "https://{host}/realms/{realm}/token"
client_id = "env:LATCHKEY_REALM_CLIENT_ID"
api_base_url = "https://{host}/realms/{realm}"
authorization_params = { audience = "{audience}" }
[template]
host = "the server's host, e.g. sso.example.com"
realm = "the realm"
audience = "the API the tokens are for"
)";

TEST(ProviderTemplateTest, EachVariableTakesTheKindItsPlaceCallsFor) {
  auto desk = ParseProvider(kZendesk, "desk.toml");
  ASSERT_TRUE(desk.ok()) << desk.status().ToString();
  ASSERT_TRUE(desk->is_template());
  ASSERT_EQ(desk->template_variables.size(), 1U);
  EXPECT_EQ(desk->template_variables[0].kind, TemplateValueKind::kLabel);
  EXPECT_EQ(desk->authorization_url, "https://{subdomain}.desk.example/oauth/authorize") << "kept as written";

  auto realm = ParseProvider(kRealm, "realm.toml");
  ASSERT_TRUE(realm.ok()) << realm.status().ToString();
  std::map<std::string, TemplateValueKind> kinds;
  for (const TemplateVariable& v : realm->template_variables) kinds[v.name] = v.kind;
  EXPECT_EQ(kinds["host"], TemplateValueKind::kHost);
  EXPECT_EQ(kinds["realm"], TemplateValueKind::kPathSegment);
  EXPECT_EQ(kinds["audience"], TemplateValueKind::kText);
}

TEST(ProviderTemplateTest, AnInstanceIsAPlainEntryWithTheValuesFilledIn) {
  auto text = InstantiateTemplate(kZendesk, "desk.toml", {{"subdomain", "Acme"}}, "desk-acme");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto instance = ParseProvider(*text, "instance");
  ASSERT_TRUE(instance.ok()) << instance.status().ToString() << "\n" << *text;
  EXPECT_FALSE(instance->is_template());
  EXPECT_EQ(instance->name, "desk-acme");
  EXPECT_EQ(instance->display_name, "Desk (acme)");
  EXPECT_EQ(instance->authorization_url, "https://acme.desk.example/oauth/authorize") << "lower-cased";
  EXPECT_EQ(instance->api_base_url, "https://acme.desk.example/api/v2");
  // Each tenant has its own OAuth client: the instance reads its own variable, never the
  // template's, so two tenants cannot share (or read) one client by accident.
  EXPECT_EQ(instance->client_id.env_var, "LATCHKEY_DESK_ACME_CLIENT_ID");

  auto realm = InstantiateTemplate(
      kRealm, "realm.toml",
      {{"host", "sso.example.com:8443"}, {"realm", "Team_1"}, {"audience", "https://api.x/"}}, "realm-x");
  ASSERT_TRUE(realm.ok()) << realm.status().ToString();
  auto parsed = ParseProvider(*realm, "instance");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->token_url, "https://sso.example.com:8443/realms/Team_1/token");
  EXPECT_EQ(parsed->authorization_params.at("audience"), "https://api.x/");
}

// The attacker here is whoever supplies a value (an operator's typo, a pasted link, or an
// agent that talked a human into it): no value may move the entry off the host the
// template leaves open, or add a path, user info, a port or a query.
TEST(ProviderTemplateTest, NoValueCanLeaveTheHostTheTemplateFixes) {
  for (std::string_view hostile :
       {"acme.evil.example", "evil.example/", "evil.example#", "a@evil.example", "acme:443", "acme/..", "",
        "-acme", "acme-", "ac me", "acme%2eevil", "acme\r\n", "xn--\xc3\xa9", "{subdomain}", "?x=1"}) {
    SCOPED_TRACE(std::string(hostile));
    auto text = InstantiateTemplate(kZendesk, "desk.toml", {{"subdomain", std::string(hostile)}}, "desk-x");
    ASSERT_FALSE(text.ok());
    EXPECT_THAT(text.status().message(), HasSubstr("'subdomain' must be one DNS label"));
  }
  for (std::string_view value : {"acme", "a", "acme-1", "0acme"}) {
    auto text = InstantiateTemplate(kZendesk, "desk.toml", {{"subdomain", std::string(value)}}, "desk-x");
    ASSERT_TRUE(text.ok()) << value;
    auto instance = ParseProvider(*text, "instance");
    ASSERT_TRUE(instance.ok());
    for (const std::string& url :
         {instance->authorization_url, instance->token_url, instance->api_base_url}) {
      auto parsed = ParseHttpUrl(url);
      ASSERT_TRUE(parsed.ok()) << url;
      EXPECT_EQ(parsed->host, std::string(value) + ".desk.example");
    }
  }
  for (std::string_view hostile : {"evil.example/path", "user@evil.example", "evil.example:0",
                                   "evil.example:99999", "evil..example", "[::1]", "evil.example:80:80"}) {
    EXPECT_FALSE(InstantiateTemplate(kRealm, "realm.toml",
                                     {{"host", std::string(hostile)}, {"realm", "r"}, {"audience", "a"}},
                                     "r-x")
                     .ok())
        << hostile;
  }
  for (std::string_view hostile : {"..", ".", "a/b", "a?b", "a#b", "a%2fb"}) {
    EXPECT_FALSE(InstantiateTemplate(
                     kRealm, "realm.toml",
                     {{"host", "sso.example.com"}, {"realm", std::string(hostile)}, {"audience", "a"}}, "r-x")
                     .ok())
        << hostile;
  }
}

TEST(ProviderTemplateTest, EveryVariableNeedsAValueAndNoOtherIsTaken) {
  auto missing =
      InstantiateTemplate(kRealm, "realm.toml", {{"host", "sso.example.com"}, {"realm", "r"}}, "r-x");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("no value for 'audience' (the API the tokens are for)"));
  auto extra =
      InstantiateTemplate(kZendesk, "desk.toml", {{"subdomain", "acme"}, {"token_url", "x"}}, "desk-x");
  ASSERT_FALSE(extra.ok());
  EXPECT_THAT(extra.status().message(), HasSubstr("'token_url' is not a variable of this template"));
  auto plain = InstantiateTemplate(
      "name = \"p\"\nauth = \"api_key\"\napi_base_url = \"https://p.example\"\n"
      "api_key_header = \"X-Key\"\n",
      "p.toml", {}, "p-x");
  ASSERT_FALSE(plain.ok());
  EXPECT_THAT(plain.status().message(), HasSubstr("is not a template"));
}

TEST(ProviderTemplateTest, AMisplacedOrUndeclaredVariableIsRefusedWithItsLine) {
  auto refused = [](std::string_view text) {
    auto parsed = ParseProvider(text, "t.toml");
    return parsed.ok() ? std::string("accepted") : parsed.status().message();
  };
  const std::string head = "name = \"t\"\nauth = \"oauth2\"\nclient_id = \"env:LATCHKEY_T_CLIENT_ID\"\n";
  const std::string urls = "token_url = \"https://t.example/token\"\napi_base_url = \"https://t.example\"\n";
  EXPECT_THAT(
      refused(head + urls + "authorization_url = \"https://{tenant}.t.example/a\"\n[template]\nx = \"p\"\n"),
      HasSubstr("t.toml:6: field 'authorization_url': {tenant} is not declared in [template]"));
  EXPECT_THAT(
      refused(head + urls + "authorization_url = \"https://t{x}.t.example/a\"\n[template]\nx = \"p\"\n"),
      HasSubstr("{x} must be the whole host or one whole DNS label of it"));
  EXPECT_THAT(
      refused(head + urls + "authorization_url = \"https://t.example/a{x}\"\n[template]\nx = \"p\"\n"),
      HasSubstr("{x} must be one whole path segment"));
  EXPECT_THAT(
      refused(head + urls + "authorization_url = \"https://t.example/a?t={x}\"\n[template]\nx = \"p\"\n"),
      HasSubstr("{x} may stand only in the host or the path"));
  EXPECT_THAT(refused(head + urls +
                      "authorization_url = \"https://t.example/a\"\ndocs_url = \"https://{x}.d/\"\n"
                      "[template]\nx = \"p\"\n"),
              HasSubstr("field 'docs_url': a template variable may stand only in a URL"));
  EXPECT_THAT(
      refused(head + urls + "authorization_url = \"https://{x}.t.example/{x}\"\n[template]\nx = \"p\"\n"),
      HasSubstr("{x} stands as a path segment here and as part of a host elsewhere"));
  EXPECT_THAT(refused(head + urls + "authorization_url = \"https://t.example/a\"\n[template]\nx = \"p\"\n"),
              HasSubstr("field 'template.x': is not used by any field"));
  EXPECT_THAT(
      refused(head + urls + "authorization_url = \"https://{x}.t.example/a\"\n[template]\nX = \"p\"\n"),
      HasSubstr("field 'template.X': a variable name is a lower-case letter"));
  // The entry an instance would be is validated too: http:// stays loopback-only.
  EXPECT_THAT(
      refused(head + urls + "authorization_url = \"http://{x}.t.example/a\"\n[template]\nx = \"p\"\n"),
      HasSubstr("http:// is allowed only for loopback hosts"));
}

TEST(ProviderTemplateTest, TheInstanceNameComesFromTheValuesThatShapeItsUrls) {
  auto realm = ParseProvider(kRealm, "realm.toml");
  ASSERT_TRUE(realm.ok());
  EXPECT_EQ(TemplateInstanceName(
                "realm", realm->template_variables,
                {{"host", "SSO.example.com:8443"}, {"realm", "Team_1"}, {"audience", "https://a/"}}),
            "realm-sso-example-com-8443-team-1");
  EXPECT_EQ(TemplateInstanceName("realm", realm->template_variables,
                                 {{"host", std::string(70, 'a')}, {"realm", "r"}, {"audience", "a"}}),
            "")
      << "too long for a provider name: the caller asks for one";
}

}  // namespace
}  // namespace latchkey::provider
