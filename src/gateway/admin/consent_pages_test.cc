#include "gateway/admin/consent_pages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "oauth/fake_http_client.h"
#include "oauth/form_encoding.h"
#include "vault/vault_test_support.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kPublicUrl[] = "http://127.0.0.1:8787";
constexpr char kProvider[] = R"(
name = "acme"
display_name = "Acme <Cloud>"
auth = "oauth2"
authorization_url = "https://id.acme.example/authorize"
token_url = "https://id.acme.example/token"
client_id = "acme-client"
client_secret = "acme-secret"
scopes = ["openid", "api:read"]
api_base_url = "https://api.acme.example"
)";

class ConsentPagesTest : public vault::VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    ASSERT_TRUE(vault_->providers().Add(kProvider, "acme.toml").ok());
    clients_ = std::make_unique<vault::OAuthClients>(vault_->providers(), http_, clock_);
    flows_ = std::make_unique<vault::ConsentFlows>(*vault_, *clients_, clock_, SystemRandom::Instance());
    links_ = std::make_unique<ConsentLinks>(vault_->keys(), clock_, kPublicUrl);
    dashboard_ = std::make_unique<Dashboard>(*vault_, clock_, kPublicUrl);
    pages_ = std::make_unique<ConsentPages>(*vault_, *flows_, *links_, *dashboard_);
  }

  static Request Make(http::verb verb, std::string_view target, const std::string& cookie = "",
                      std::string body = "") {
    Request request(verb, target, 11);
    request.set(http::field::host, "127.0.0.1:8787");
    if (!cookie.empty()) request.set(http::field::cookie, cookie);
    request.body() = std::move(body);
    return request;
  }

  // Signs in with a fresh admin token; the session cookie ("latchkey_session=...").
  std::string SignIn() {
    auto token = vault_->admin_tokens().Create();
    EXPECT_TRUE(token.ok());
    admin_token_ = std::string(token->reveal());
    Response answer =
        dashboard_->Handle(Make(http::verb::post, "/login", "", "token=" + std::string(token->reveal())));
    std::string cookie(answer.Field(http::field::set_cookie));
    return cookie.substr(0, cookie.find(';'));
  }

  static std::string Path(const std::string& url) { return url.substr(std::string(kPublicUrl).size()); }

  std::string Csrf(const std::string& cookie) {
    Request request = Make(http::verb::get, "/ui/session", cookie);
    return nlohmann::json::parse(dashboard_->Handle(request).body()).value("csrf", "");
  }

  oauth::FakeHttpClient http_;
  std::unique_ptr<vault::OAuthClients> clients_;
  std::unique_ptr<vault::ConsentFlows> flows_;
  std::unique_ptr<ConsentLinks> links_;
  std::unique_ptr<Dashboard> dashboard_;
  std::unique_ptr<ConsentPages> pages_;
  std::string admin_token_;  // the one SignIn used
};

TEST_F(ConsentPagesTest, ALinkIsOpaqueSealedAndExpires) {
  store::ConnectionRecord work;
  work.name = "work";
  work.provider = "acme";
  work.scopes = {"openid", "api:read"};
  const std::string url = links_->Reconsent(work, {"api:write"}, "claude");
  ASSERT_THAT(url, StartsWith(std::string(kPublicUrl) + "/consent/"));
  EXPECT_THAT(url, Not(HasSubstr("api"))) << "nothing readable in the link";
  const std::string token = url.substr(url.rfind('/') + 1);
  auto opened = links_->Open(token);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->kind, ConsentKind::kReconsent);
  EXPECT_EQ(opened->connection, "work");
  EXPECT_EQ(opened->asked_by, "claude");
  EXPECT_EQ(opened->scopes, (std::vector<std::string>{"openid", "api:read", "api:write"}));
  EXPECT_EQ(opened->added, (std::vector<std::string>{"api:write"}));

  std::string altered = token;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(links_->Open(altered).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(links_->Open("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(links_->Open(token + "=").status().code(), StatusCode::kInvalidArgument);
  // Another master key (another installation) cannot read or make our links.
  testing::ScopedTempDir other_dir;
  auto other_store = store::OpenSqliteStore({.path = (other_dir.path() / "other.db").string()}, clock_);
  ASSERT_TRUE(other_store.ok());
  auto other = vault::Vault::Open(
      *other_store,
      {.env_value = std::nullopt, .key_file = other_dir.path() / "master.key", .read_only = false}, clock_,
      SystemRandom::Instance());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ConsentLinks foreign((*other)->keys(), clock_, kPublicUrl);
  EXPECT_EQ(foreign.Open(token).status().code(), StatusCode::kInvalidArgument);

  clock_.Advance(kConsentLinkLifetime + std::chrono::seconds(1));
  EXPECT_EQ(links_->Open(token).status().code(), StatusCode::kDeadlineExceeded);
  work.kind = store::CredentialKind::kApiKey;
  EXPECT_EQ(links_->Reconnect(work, "claude"), "") << "no browser flow, no link";
}

TEST_F(ConsentPagesTest, WithoutASessionThePageOffersTheSignInAndStartsNothing) {
  auto link = links_->Connect("acme", "work", {});
  ASSERT_TRUE(link.ok());
  const std::string path = Path(link->url);
  Response first = pages_->Handle(Make(http::verb::get, path));
  EXPECT_EQ(first.result(), http::status::ok);
  EXPECT_THAT(first.body(), HasSubstr("http-equiv=\"refresh\" content=\"0;url=" + path + "?again\""));
  EXPECT_EQ(first.Field("Content-Security-Policy"),
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
  // Not no-referrer: browsers would then send the review form with "Origin: null".
  EXPECT_EQ(first.Field("Referrer-Policy"), "same-origin");
  Response again = pages_->Handle(Make(http::verb::get, path + "?again"));
  EXPECT_THAT(again.body(), HasSubstr("action=\"/login\""));
  EXPECT_THAT(again.body(), HasSubstr("name=\"next\" value=\"" + path + "\""));
  EXPECT_THAT(again.body(), Not(HasSubstr("id.acme.example")));
  Response posted = pages_->Handle(Make(http::verb::post, path, "", "csrf=x"));
  EXPECT_EQ(posted.result(), http::status::unauthorized);
  EXPECT_EQ(http_.request_count(), 0U);
}

TEST_F(ConsentPagesTest, TheHumansClickStartsTheFlowAndBindsItToThisBrowser) {
  store::ConnectionRecord work;
  work.name = "work";
  work.provider = "acme";
  work.scopes = {"openid"};
  const std::string path = Path(links_->Reconsent(work, {"api:read"}, "claude"));
  const std::string cookie = SignIn();

  Response review = pages_->Handle(Make(http::verb::get, path, cookie));
  EXPECT_EQ(review.result(), http::status::ok);
  EXPECT_THAT(review.body(), HasSubstr("Agent <b>claude</b> asks for more access on connection <b>work</b>"));
  EXPECT_THAT(review.body(), HasSubstr("(Acme &lt;Cloud&gt;)"));
  EXPECT_THAT(review.body(), HasSubstr("New scopes: <b>api:read</b>"));
  const std::string csrf = Csrf(cookie);
  EXPECT_THAT(review.body(), HasSubstr("name=\"csrf\" value=\"" + csrf + "\""));
  EXPECT_THAT(review.body(), HasSubstr("name=\"admin_token\""));

  EXPECT_EQ(pages_->Handle(Make(http::verb::post, path, cookie, "csrf=wrong")).result(),
            http::status::forbidden);
  Request foreign = Make(http::verb::post, path, cookie, "csrf=" + csrf);
  foreign.set(http::field::origin, "https://evil.example");
  EXPECT_EQ(pages_->Handle(foreign).result(), http::status::forbidden);

  // The session and its CSRF token are not enough: approving needs the admin token itself
  // (another program on a loopback port may hold a copy of the cookie).
  EXPECT_EQ(pages_->Handle(Make(http::verb::post, path, cookie, "csrf=" + csrf)).result(),
            http::status::unauthorized);
  EXPECT_EQ(pages_->Handle(Make(http::verb::post, path, cookie, "csrf=" + csrf + "&admin_token=lka_wrong"))
                .result(),
            http::status::unauthorized);
  EXPECT_EQ(http_.request_count(), 0U);
  Response started =
      pages_->Handle(Make(http::verb::post, path, cookie, "csrf=" + csrf + "&admin_token=" + admin_token_));
  ASSERT_EQ(started.result(), http::status::see_other) << started.body();
  const std::string location(started.Field(http::field::location));
  EXPECT_THAT(location, StartsWith("https://id.acme.example/authorize?"));
  EXPECT_THAT(location, HasSubstr("redirect_uri=http%3A%2F%2F127.0.0.1%3A8787%2Foauth%2Fcallback"));
  std::smatch state;
  ASSERT_TRUE(std::regex_search(location, state, std::regex("[?&]state=([^&]+)")));
  const std::string set_cookie(started.Field(http::field::set_cookie));
  EXPECT_THAT(set_cookie, StartsWith(ConsentCookieName(state[1].str()) + "="));
  EXPECT_THAT(set_cookie, HasSubstr("; Path=/oauth/callback; HttpOnly; SameSite=Lax; Max-Age=600"));
}

TEST_F(ConsentPagesTest, SignInReturnsOnlyToAConsentPage) {
  auto token = vault_->admin_tokens().Create();
  ASSERT_TRUE(token.ok());
  for (const auto& [next, expected] :
       std::vector<std::pair<std::string, std::string>>{{"/consent/abc_-1", "/consent/abc_-1"},
                                                        {"https://evil.example/", "/#/connections"},
                                                        {"//evil.example/consent/x", "/#/connections"},
                                                        {"/consent/../v1/agents", "/#/connections"},
                                                        {"/consent/a?b", "/#/connections"}}) {
    Response answer = dashboard_->Handle(Make(
        http::verb::post, "/login", "",
        "token=" + std::string(token->reveal()) + "&next=" + oauth::FormEncodePairs({{"", next}}).substr(1)));
    EXPECT_EQ(answer.Field(http::field::location), expected) << next;
  }
}

}  // namespace
}  // namespace latchkey::gateway
