#include "gateway/admin/dashboard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "vault/vault_test_support.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;

class DashboardSessionTest : public vault::VaultTest {
 protected:
  Request Post(std::string_view target, std::string body = "") {
    Request request(http::verb::post, target, 11);
    request.set(http::field::host, "127.0.0.1:8787");
    request.body() = std::move(body);
    return request;
  }

  // Signs in with a fresh admin token; the Set-Cookie value ("latchkey_session=...").
  std::string SignIn(Dashboard& dashboard) {
    auto token = vault_->admin_tokens().Create();
    EXPECT_TRUE(token.ok());
    Response answer = dashboard.Handle(Post("/login", "token=" + std::string(token->reveal())));
    EXPECT_EQ(answer.result(), http::status::see_other);
    std::string cookie(answer.Field(http::field::set_cookie));
    return cookie.substr(0, cookie.find(';'));
  }

  std::string Csrf(Dashboard& dashboard, const std::string& cookie) {
    Request request(http::verb::get, "/ui/session", 11);
    request.set(http::field::cookie, cookie);
    auto body = nlohmann::json::parse(dashboard.Handle(request).body());
    return body.value("csrf", "");
  }

  Status Change(Dashboard& dashboard, const std::string& cookie, const std::string& csrf,
                std::string_view origin = "") {
    Request request(http::verb::delete_, "/v1/agents/bot", 11);
    request.set(http::field::host, "127.0.0.1:8787");
    request.set(http::field::cookie, "theme=dark; " + cookie);
    if (!csrf.empty()) request.set("X-CSRF-Token", csrf);
    if (!origin.empty()) request.set(http::field::origin, origin);
    return dashboard.AuthorizeAdmin(request);
  }
};

TEST_F(DashboardSessionTest, ASignedInSessionMayChangeThingsOnlyWithItsCsrfTokenFromItsOrigin) {
  Dashboard dashboard(*vault_, clock_, "http://127.0.0.1:8787");
  const std::string cookie = SignIn(dashboard);
  const std::string csrf = Csrf(dashboard, cookie);
  ASSERT_EQ(csrf.size(), 64u);
  EXPECT_TRUE(Change(dashboard, cookie, csrf).ok());
  EXPECT_TRUE(Change(dashboard, cookie, csrf, "http://127.0.0.1:8787").ok());
  EXPECT_EQ(Change(dashboard, cookie, "").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Change(dashboard, cookie, std::string(64, '0')).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Change(dashboard, cookie, csrf, "https://evil.example").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Change(dashboard, "", csrf).code(), StatusCode::kUnauthenticated);
}

// The Origin a browser sends is compared with the page's address and the configured
// public URL as origins (scheme, host and port, normalized), not as text: the old text
// comparison refused "https://gw.example" for public_url "https://GW.example:443/".
TEST_F(DashboardSessionTest, OriginsCompareNormalizedAndOddOnesAreRefused) {
  Dashboard dashboard(*vault_, clock_, "https://GW.example:443/");
  const std::string cookie = SignIn(dashboard);
  const std::string csrf = Csrf(dashboard, cookie);
  EXPECT_TRUE(Change(dashboard, cookie, csrf, "https://gw.example").ok());
  EXPECT_TRUE(Change(dashboard, cookie, csrf, "HTTPS://gw.EXAMPLE:443").ok());
  EXPECT_TRUE(Change(dashboard, cookie, csrf, "http://127.0.0.1:8787").ok()) << "the Host it was reached by";
  for (std::string_view foreign :
       {"http://gw.example", "https://gw.example:8443", "https://gw.example.evil.example", "null",
        "https://user@gw.example", "https://gw.example/path", "not a url"}) {
    EXPECT_EQ(Change(dashboard, cookie, csrf, foreign).code(), StatusCode::kPermissionDenied) << foreign;
  }
}

TEST_F(DashboardSessionTest, TheSessionCookieIsSecureWhenThePublicUrlIsHttpsInAnyCase) {
  for (const char* public_url : {"https://gw.example", "HTTPS://gw.example"}) {
    Dashboard dashboard(*vault_, clock_, public_url);
    auto token = vault_->admin_tokens().Create();
    ASSERT_TRUE(token.ok());
    Response answer = dashboard.Handle(Post("/login", "token=" + std::string(token->reveal())));
    EXPECT_NE(std::string(answer.Field(http::field::set_cookie)).find("; Secure"), std::string::npos)
        << public_url;
  }
  Dashboard plain(*vault_, clock_, "http://127.0.0.1:8787");
  auto token = vault_->admin_tokens().Create();
  ASSERT_TRUE(token.ok());
  Response answer = plain.Handle(Post("/login", "token=" + std::string(token->reveal())));
  EXPECT_EQ(std::string(answer.Field(http::field::set_cookie)).find("; Secure"), std::string::npos);
}

// Signing out ends the session on every node (each a Dashboard over the one store): a copy
// of the cookie, kept by someone else, stops working everywhere.
TEST_F(DashboardSessionTest, SigningOutEndsTheSessionOnEveryNode) {
  Dashboard first(*vault_, clock_, "http://127.0.0.1:8787");
  Dashboard second(*vault_, clock_, "http://127.0.0.1:8787");
  const std::string cookie = SignIn(first);
  const std::string csrf = Csrf(first, cookie);
  ASSERT_TRUE(Change(second, cookie, csrf).ok()) << "the other node takes the session";
  Request logout = Post("/logout");
  logout.set(http::field::cookie, cookie);
  logout.set("X-CSRF-Token", csrf);
  EXPECT_EQ(first.Handle(logout).result(), http::status::no_content);
  EXPECT_EQ(Change(second, cookie, csrf).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Change(first, cookie, csrf).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Csrf(second, cookie), "") << "/ui/session says signed out";
  const std::string again = SignIn(second);
  EXPECT_TRUE(Change(first, again, Csrf(first, again)).ok()) << "a new session works";
}

TEST_F(DashboardSessionTest, ATamperedExpiredOrForeignCookieIsNoSession) {
  Dashboard dashboard(*vault_, clock_, "http://127.0.0.1:8787");
  const std::string cookie = SignIn(dashboard);
  const std::string csrf = Csrf(dashboard, cookie);
  // Tampered: a later expiry, a different id, a cut signature.
  const size_t equals = cookie.find('=');
  std::string later = cookie;
  later[equals + 1] = later[equals + 1] == '9' ? '8' : '9';
  std::string other_id = cookie;
  other_id[cookie.find('.') + 1] ^= 1;
  for (const std::string& forged :
       {later, other_id, cookie.substr(0, cookie.size() - 2), std::string("latchkey_session=1.2.3.4")}) {
    EXPECT_EQ(Change(dashboard, forged, csrf).code(), StatusCode::kUnauthenticated) << forged;
  }
  // Another data dir (another master key) does not accept it.
  ::latchkey::testing::ScopedTempDir other_dir;
  auto other_store = store::OpenSqliteStore({.path = (other_dir.path() / "latchkey.db").string()}, clock_);
  ASSERT_TRUE(other_store.ok());
  auto other = vault::Vault::Open(
      *other_store,
      {.env_value = std::nullopt, .key_file = other_dir.path() / "master.key", .read_only = false}, clock_,
      SystemRandom::Instance());
  ASSERT_TRUE(other.ok());
  Dashboard foreign(**other, clock_, "http://127.0.0.1:8787");
  EXPECT_EQ(Change(foreign, cookie, csrf).code(), StatusCode::kUnauthenticated);
  // A second dashboard on the same master key (another node) does.
  Dashboard sibling(*vault_, clock_, "http://127.0.0.1:8787");
  EXPECT_TRUE(Change(sibling, cookie, csrf).ok());
  // Revoking the admin token it was opened with ends it.
  Dashboard again(*vault_, clock_, "http://127.0.0.1:8787");
  const std::string second = SignIn(again);
  const std::string second_csrf = Csrf(again, second);
  ASSERT_TRUE(Change(again, second, second_csrf).ok());
  auto tokens = vault_->admin_tokens().List();
  ASSERT_TRUE(tokens.ok());
  ASSERT_TRUE(vault_->admin_tokens().Revoke(tokens->back().id).ok());
  EXPECT_EQ(Change(again, second, second_csrf).code(), StatusCode::kUnauthenticated);
  // Twelve hours later it has expired.
  clock_.Advance(std::chrono::hours(12) + std::chrono::seconds(1));
  EXPECT_EQ(Change(dashboard, cookie, csrf).code(), StatusCode::kUnauthenticated);
}

TEST_F(DashboardSessionTest, AWrongTokenOrAForeignFormSetsNoCookie) {
  Dashboard dashboard(*vault_, clock_, "http://127.0.0.1:8787");
  Response wrong = dashboard.Handle(Post("/login", "token=lka_0000000000000000_nope"));
  EXPECT_EQ(wrong.result(), http::status::see_other);
  EXPECT_EQ(wrong.Field(http::field::location), "/?failed");
  EXPECT_TRUE(wrong.Field(http::field::set_cookie).empty());
  auto token = vault_->admin_tokens().Create();
  Request cross = Post("/login", "token=" + std::string(token->reveal()));
  cross.set(http::field::origin, "https://evil.example");
  Response refused = dashboard.Handle(cross);
  EXPECT_EQ(refused.result(), http::status::forbidden);
  EXPECT_TRUE(refused.Field(http::field::set_cookie).empty());
  EXPECT_EQ(refused.body().find(std::string(token->reveal())), std::string::npos);
  // Every answer carries the policy.
  EXPECT_NE(std::string(refused.Field("Content-Security-Policy")).find("script-src 'self'"),
            std::string::npos);
}

}  // namespace
}  // namespace latchkey::gateway
