#include "vault/account_identity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "oauth/fake_http_client.h"

namespace latchkey::vault {
namespace {

using ::testing::HasSubstr;

constexpr char kIssuer[] = "https://id.acme.example";
constexpr char kJwks[] = "https://id.acme.example/jwks";
constexpr char kUserinfo[] = "https://api.acme.example/user";

provider::ProviderDefinition Provider() {
  provider::ProviderDefinition p;
  p.name = "acme";
  p.issuer = kIssuer;
  p.jwks_url = kJwks;
  return p;
}

oauth::TokenResponse Tokens(std::string id_token = "") {
  oauth::TokenResponse tokens;
  tokens.access_token = SecretString("at-1");
  tokens.id_token = SecretString(std::move(id_token));
  return tokens;
}

// A JWS whose header names key `kid`; payload and signature are never looked at when
// the key is unknown.
std::string TokenWithKid(const std::string& kid) {
  return Base64UrlEncode(AsBytes(R"({"alg":"RS256","kid":")" + kid + R"("})")) + "." +
         Base64UrlEncode(AsBytes(R"({"sub":"x"})")) + "." + Base64UrlEncode(AsBytes("sig"));
}

class AccountIdentityTest : public ::testing::Test {
 protected:
  std::size_t Fetches(const std::string& url) const {
    std::size_t n = 0;
    for (const auto& r : http_.requests()) n += r.url == url ? 1 : 0;
    return n;
  }

  SimulatedClock clock_{FromUnixMillis(1'790'000'000'000)};
  oauth::FakeHttpClient http_;
  AccountIdentities identities_{http_, clock_};
};

TEST_F(AccountIdentityTest, TheIdentityEndpointGivesAStableIdAndALabel) {
  provider::ProviderDefinition github = Provider();
  github.issuer.clear();
  github.userinfo_url = kUserinfo;
  github.identity_id_pointer = "/id";
  github.identity_label_pointer = "/login";
  http_.Respond(kUserinfo, 200, R"({"id": 583231, "login": "octocat", "email": null})");
  auto account = identities_.Identify(github, Tokens(), "client", "");
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_EQ(account->id, "583231");
  EXPECT_EQ(account->label, "octocat");
  EXPECT_EQ(account->source, "identity_endpoint");
  EXPECT_EQ(http_.last_request().method, "GET");
  EXPECT_EQ(http_.last_request().authorization.reveal(), "Bearer at-1");
}

TEST_F(AccountIdentityTest, WithoutPointersAnOidcUserinfoAnswerIsRead) {
  provider::ProviderDefinition p = Provider();
  p.issuer.clear();
  p.identity_url = kUserinfo;
  http_.Respond(kUserinfo, 200,
                "{\"sub\": \"u-1\", \"name\": \"Ada\", \"email\": \"ada@example.com\\u0007\"}");
  auto account = identities_.Identify(p, Tokens(), "client", "");
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_EQ(account->id, "u-1");
  EXPECT_EQ(account->label, "ada@example.com") << "control characters are dropped";
}

TEST_F(AccountIdentityTest, AnIdentityAnswerWithoutTheIdIsAnError) {
  provider::ProviderDefinition p = Provider();
  p.issuer.clear();
  p.identity_url = kUserinfo;
  http_.Respond(kUserinfo, 200, R"({"ok": false, "error": "invalid_auth"})");
  auto account = identities_.Identify(p, Tokens(), "client", "");
  EXPECT_EQ(account.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(account.status().message(), HasSubstr("has no account id at /sub"));
}

TEST_F(AccountIdentityTest, APointerThroughAnArrayTheAnswerCannotIndexFindsNoId) {
  // Found by account_identity_fuzz: nlohmann's contains() threw for these.
  provider::ProviderDefinition p = Provider();
  p.issuer.clear();
  p.identity_url = kUserinfo;
  http_.Respond(kUserinfo, 200, R"({"accounts": [{"id": "a-1"}], "login": "ada"})");
  for (const char* pointer : {"/accounts//id", "/accounts/99999999999999999999999/id"}) {
    p.identity_id_pointer = pointer;
    auto account = identities_.Identify(p, Tokens(), "client", "");
    EXPECT_EQ(account.status().code(), StatusCode::kUnavailable) << pointer;
    EXPECT_THAT(account.status().message(), HasSubstr(std::string("has no account id at ") + pointer));
  }
  p.identity_id_pointer = "/accounts/0/id";
  p.identity_label_pointer = "/accounts/";
  auto account = identities_.Identify(p, Tokens(), "client", "");
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_EQ(account->id, "a-1");
  EXPECT_EQ(account->label, "");
}

TEST_F(AccountIdentityTest, NoIdTokenAndNoIdentityEndpointIsAnUnknownAccount) {
  auto account = identities_.Identify(Provider(), Tokens(), "client", "");
  ASSERT_TRUE(account.ok());
  EXPECT_EQ(account->id, "");
  EXPECT_EQ(DescribeAccount(account->id, account->label), "unknown");
  EXPECT_EQ(http_.request_count(), 0U);
}

TEST_F(AccountIdentityTest, AnIdTokenThatDoesNotParseIsRefused) {
  http_.Respond(kJwks, 200, R"({"keys": []})");
  auto account = identities_.Identify(Provider(), Tokens("not-a-jws"), "client", "n");
  EXPECT_EQ(account.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(account.status().message(), HasSubstr("nothing was stored"));
}

// A token naming a key the set lacks makes latchkey fetch the set again (keys rotate),
// but at most once a minute: a forged kid cannot make it hammer the issuer.
TEST_F(AccountIdentityTest, AnUnknownSigningKeyRefetchesTheKeysAtMostOnceAMinute) {
  http_.Respond(kJwks, 200, R"({"keys": []})");
  auto first = identities_.Identify(Provider(), Tokens(TokenWithKid("k9")), "client", "n");
  EXPECT_EQ(first.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(first.status().message(), HasSubstr("nothing was stored"));
  EXPECT_EQ(Fetches(kJwks), 1U) << "just fetched: not again";
  EXPECT_FALSE(identities_.Identify(Provider(), Tokens(TokenWithKid("k9")), "client", "n").ok());
  EXPECT_EQ(Fetches(kJwks), 1U);
  clock_.Advance(std::chrono::minutes(2));
  EXPECT_FALSE(identities_.Identify(Provider(), Tokens(TokenWithKid("k9")), "client", "n").ok());
  EXPECT_EQ(Fetches(kJwks), 2U);
}

TEST_F(AccountIdentityTest, DescribeAccountSaysWhatIsKnown) {
  EXPECT_EQ(DescribeAccount("42", "octocat"), "octocat (id 42)");
  EXPECT_EQ(DescribeAccount("42", ""), "id 42");
  EXPECT_EQ(DescribeAccount("", "octocat"), "octocat (id unknown)");
  EXPECT_EQ(DescribeAccount("", ""), "unknown");
}

}  // namespace
}  // namespace latchkey::vault
