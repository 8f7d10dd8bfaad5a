// The OAuth test servers themselves (tests/fixtures/oauth): they start on free loopback ports,
// speak real OAuth (oidc-provider), count what reaches them, and inject token-endpoint faults.
// The OAuth engine's own tests build on these.
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "support/oauth_flows.h"
#include "support/oauth_servers.h"
#include "support/subprocess.h"

namespace latchkey::testing {
namespace {

using nlohmann::json;

HttpOptions WithHeader(const std::string& header) {
  HttpOptions options;
  options.headers.push_back(header);
  return options;
}

const HttpOptions kAgentClient = BasicAuth("agent-client:agent-secret");

HttpResponse Refresh(const NodeServer& server, const std::string& refresh_token) {
  return HttpPostForm(server.base_url() + "/token",
                      {{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}}, kAgentClient);
}

TEST(OAuthFixture, DiscoveryClientCredentialsAndStats) {
  auto as = StartAuthorizationServer({{"AT_TTL", "60"}});
  EXPECT_GT(as->port(), 0);
  EXPECT_EQ(as->base_url(), "http://127.0.0.1:" + std::to_string(as->port()));

  HttpResponse discovery = HttpGet(as->base_url() + "/.well-known/openid-configuration");
  ASSERT_EQ(discovery.status, 200) << discovery.error << as->Stderr();
  json meta = Json(discovery);
  EXPECT_EQ(meta.value("issuer", ""), as->base_url());
  EXPECT_EQ(meta.value("token_endpoint", ""), as->base_url() + "/token");
  EXPECT_FALSE(meta.value("revocation_endpoint", "").empty());
  EXPECT_FALSE(meta.value("device_authorization_endpoint", "").empty());
  EXPECT_EQ(Json(HttpGet(as->base_url() + "/.well-known/oauth-authorization-server")).value("issuer", ""),
            as->base_url());

  for (int i = 0; i < 2; ++i) {
    HttpResponse cc = HttpPostForm(
        meta["token_endpoint"], {{"grant_type", "client_credentials"}, {"scope", "api:read"}}, kAgentClient);
    ASSERT_EQ(cc.status, 200) << cc.body;
    json token = Json(cc);
    EXPECT_FALSE(token.value("access_token", "").empty());
    EXPECT_EQ(token.value("token_type", ""), "Bearer");
    EXPECT_EQ(token.value("expires_in", 0), 60);
    EXPECT_EQ(token.value("scope", ""), "api:read");
    EXPECT_FALSE(token.contains("refresh_token"));
  }
  HttpResponse bad_secret = HttpPostForm(as->base_url() + "/token", {{"grant_type", "client_credentials"}},
                                         BasicAuth("agent-client:wrong"));
  EXPECT_EQ(bad_secret.status, 401);
  EXPECT_EQ(Json(bad_secret).value("error", ""), "invalid_client");

  json stats = Stats(*as);
  EXPECT_EQ(stats["token_requests"]["client_credentials"], 3) << stats.dump();
  EXPECT_EQ(stats["refresh_requests"], 0);

  EXPECT_EQ(HttpRequest("POST", as->base_url() + "/__reset", "").status, 200);
  stats = Stats(*as);
  EXPECT_TRUE(stats["token_requests"].empty()) << stats.dump();
  EXPECT_EQ(stats["reused_refresh_tokens"], 0);
}

TEST(OAuthFixture, AuthorizationCodeRefreshRotationAndReuse) {
  auto as = StartAuthorizationServer({{"AT_TTL", "60"}, {"ROTATE", "1"}});
  json first = AuthorizationCodeFlow(*as, "alice");
  const std::string rt1 = first.value("refresh_token", "");
  ASSERT_FALSE(rt1.empty()) << first.dump();
  EXPECT_FALSE(first.value("id_token", "").empty());
  EXPECT_EQ(first.value("scope", ""), "api:read");

  HttpResponse rotated = Refresh(*as, rt1);
  ASSERT_EQ(rotated.status, 200) << rotated.body << as->Stderr();
  const std::string rt2 = Json(rotated).value("refresh_token", "");
  ASSERT_FALSE(rt2.empty());
  EXPECT_NE(rt2, rt1);  // rotation

  // Replaying the consumed token is refused and revokes the whole grant, rt2 included.
  HttpResponse reuse = Refresh(*as, rt1);
  EXPECT_EQ(reuse.status, 400);
  EXPECT_EQ(Json(reuse).value("error", ""), "invalid_grant");
  HttpResponse after = Refresh(*as, rt2);
  EXPECT_EQ(after.status, 400);
  EXPECT_EQ(Json(after).value("error", ""), "invalid_grant");

  json stats = Stats(*as);
  EXPECT_EQ(stats["token_requests"]["authorization_code"], 1) << stats.dump();
  EXPECT_EQ(stats["token_requests"]["refresh_token"], 3) << stats.dump();
  EXPECT_EQ(stats["refresh_requests"], 3);
  EXPECT_EQ(stats["reused_refresh_tokens"], 1);

  // login_hint=deny: the user refuses consent; the redirect carries access_denied.
  TempDir browser;
  const Pkce pkce = MakePkce();
  HttpResponse denied =
      HttpGet(as->base_url() + "/auth?client_id=agent-client&response_type=code&redirect_uri=" +
                  UrlEncode(as->base_url() + "/cb") + "&scope=openid&code_challenge=" + pkce.challenge +
                  "&code_challenge_method=S256&state=s&login_hint=deny",
              Browser(browser));
  EXPECT_EQ(Json(denied).value("error", ""), "access_denied") << denied.body;
}

TEST(OAuthFixture, AdminRevokesGrantAndRevocationIsCounted) {
  auto as = StartAuthorizationServer({{"AT_TTL", "60"}});
  const std::string bob_rt = AuthorizationCodeFlow(*as, "bob").value("refresh_token", "");
  const std::string carol_rt = AuthorizationCodeFlow(*as, "carol").value("refresh_token", "");
  ASSERT_FALSE(bob_rt.empty());
  ASSERT_FALSE(carol_rt.empty());

  HttpResponse revoke = HttpRequest("POST", as->base_url() + "/__revoke_grant?sub=bob", "");
  ASSERT_EQ(revoke.status, 200) << revoke.body;
  EXPECT_EQ(Json(revoke).value("revoked", -1), 1);
  HttpResponse refused = Refresh(*as, bob_rt);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(Json(refused).value("error", ""), "invalid_grant");
  HttpResponse fine = Refresh(*as, carol_rt);
  ASSERT_EQ(fine.status, 200) << fine.body;
  const std::string carol_rt2 = Json(fine).value("refresh_token", "");

  // RFC 7009 revocation at the token's own endpoint, then by refresh token via the admin hook.
  HttpResponse rfc7009 =
      HttpPostForm(as->base_url() + "/token/revocation",
                   {{"token", carol_rt2}, {"token_type_hint", "refresh_token"}}, kAgentClient);
  EXPECT_EQ(rfc7009.status, 200) << rfc7009.body;
  EXPECT_EQ(Refresh(*as, carol_rt2).status, 400);
  EXPECT_EQ(Json(HttpRequest("POST", as->base_url() + "/__revoke_grant?refresh_token=" + carol_rt2, ""))
                .value("revoked", -1),
            0);  // the token is gone: nothing left to find

  json stats = Stats(*as);
  EXPECT_EQ(stats["revocations"], 1) << stats.dump();
  EXPECT_EQ(stats["admin_revoked_grants"], 1) << stats.dump();
  EXPECT_EQ(stats["reused_refresh_tokens"], 0) << stats.dump();
}

TEST(OAuthFixture, ResourceServerAnswersRfc6750Errors) {
  auto as = StartAuthorizationServer({{"AT_TTL", "60"}});
  auto rs = StartResourceServer(as->base_url());
  HttpResponse cc = HttpPostForm(as->base_url() + "/token",
                                 {{"grant_type", "client_credentials"}, {"scope", "api:read"}}, kAgentClient);
  ASSERT_EQ(cc.status, 200) << cc.body;
  const std::string bearer = "Authorization: Bearer " + Json(cc).value("access_token", "");

  HttpResponse read = HttpGet(rs->base_url() + "/read", WithHeader(bearer));
  EXPECT_EQ(read.status, 200) << read.body << rs->Stderr();
  HttpResponse write = HttpGet(rs->base_url() + "/write", WithHeader(bearer));
  EXPECT_EQ(write.status, 403);
  EXPECT_NE(write.Header("www-authenticate").find("insufficient_scope"), std::string::npos);
  HttpResponse anonymous = HttpGet(rs->base_url() + "/read");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.Header("www-authenticate").rfind("Bearer ", 0), 0u);
  HttpResponse forged = HttpGet(rs->base_url() + "/read", WithHeader("Authorization: Bearer a.b.c"));
  EXPECT_EQ(forged.status, 401);
  EXPECT_NE(forged.Header("www-authenticate").find("invalid_token"), std::string::npos);
}

TEST(OAuthFixture, FaultServerInjectsTokenEndpointFaults) {
  auto fault = StartFaultServer({{"RETRY_AFTER", "7"}});
  HttpResponse discovery = HttpGet(fault->base_url() + "/.well-known/openid-configuration");
  ASSERT_EQ(discovery.status, 200) << fault->Stderr();
  EXPECT_EQ(Json(discovery).value("token_endpoint", ""), fault->base_url() + "/token");

  HttpResponse invalid_grant = Refresh(*fault, "fault-invalid_grant");
  EXPECT_EQ(invalid_grant.status, 400);
  EXPECT_EQ(Json(invalid_grant).value("error", ""), "invalid_grant");

  for (int i = 0; i < 2; ++i) {
    HttpResponse unavailable = Refresh(*fault, "fault-503");
    EXPECT_EQ(unavailable.status, 503);
    EXPECT_EQ(unavailable.Header("retry-after"), "7");
    EXPECT_EQ(Json(unavailable).value("error", ""), "temporarily_unavailable");
  }

  HttpResponse html = Refresh(*fault, "fault-html");
  EXPECT_EQ(html.status, 502);
  EXPECT_NE(html.Header("content-type").find("text/html"), std::string::npos);

  HttpResponse no_rt = Refresh(*fault, "fault-no-rt");
  ASSERT_EQ(no_rt.status, 200) << no_rt.body;
  EXPECT_FALSE(Json(no_rt).contains("refresh_token"));
  HttpResponse as_string = Refresh(*fault, "fault-expires-string");
  EXPECT_TRUE(Json(as_string)["expires_in"].is_string()) << as_string.body;

  HttpResponse ok = Refresh(*fault, "some-ordinary-token");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_FALSE(Json(ok).value("refresh_token", "").empty());

  json stats = Stats(*fault);
  EXPECT_EQ(stats["token_requests"], 7) << stats.dump();
  EXPECT_EQ(stats["behaviours"]["fault-invalid_grant"], 1) << stats.dump();
  EXPECT_EQ(stats["behaviours"]["fault-503"], 2) << stats.dump();
  EXPECT_EQ(stats["behaviours"]["ok"], 1) << stats.dump();
  EXPECT_EQ(stats["grant_types"]["refresh_token"], 7) << stats.dump();

  EXPECT_EQ(HttpRequest("POST", fault->base_url() + "/__reset", "").status, 200);
  EXPECT_EQ(Stats(*fault)["token_requests"], 0);
}

TEST(OAuthFixture, ServerThatNeverGetsReadyFailsClearly) {
  try {
    NodeServer missing("no-such-script.js", {});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-script.js"), std::string::npos) << e.what();
  }
  try {
    // rs.js without an authorization server to read metadata from exits before READY.
    NodeServer rs("rs.js", {{"AS", "http://127.0.0.1:1"}}, std::chrono::seconds(10));
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exited before READY"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace latchkey::testing
