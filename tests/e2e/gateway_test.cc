// The gateway (`latchkey serve`) end to end: real as.js and rs.js, agents over loopback.
// SPEC §4: credential injection, 401 refresh-and-retry, scope and re-auth errors,
// policies, problem details, audit rows and metrics.
#include <set>

#include "e2e/gateway_fixture.h"
#include "e2e/sqlite_peek.h"

namespace latchkey::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST_F(GatewayTest, ProxiesWithTheConnectionsTokenAndStripsTheAgentsCredentials) {
  StartOAuthServers();
  ImportGrant("work", "alice");
  const std::string key = CreateAgent("bot", {"work:GET,POST,HEAD"});
  StartGateway();

  RawReply read = Call("GET", "/proxy/work/read", key);
  ASSERT_EQ(read.status, 200) << read.raw << GatewayLog();
  EXPECT_EQ(read.Json()["sub"], "alice");
  EXPECT_EQ(read.Json()["route"], "/read");

  RawReply echo = Call("POST", "/proxy/work/__echo/a/b?x=1&y=two", key, R"({"hello":"world"})",
                       {{"Cookie", "session=agent-cookie"},
                        {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
                        {"X-Custom", "kept"},
                        {"Connection", "close, X-Drop-Me"},
                        {"X-Drop-Me", "hop-by-hop"},
                        {"Content-Type", "application/json"}});
  ASSERT_EQ(echo.status, 200) << echo.raw;
  json seen = echo.Json();
  EXPECT_EQ(seen["method"], "POST");
  EXPECT_EQ(seen["url"], "/__echo/a/b?x=1&y=two");
  EXPECT_EQ(seen["body"], R"({"hello":"world"})");
  EXPECT_EQ(seen["headers"]["x-custom"], "kept");
  EXPECT_FALSE(seen["headers"].contains("cookie"));
  EXPECT_FALSE(seen["headers"].contains("proxy-authorization"));
  EXPECT_FALSE(seen["headers"].contains("x-drop-me"));
  const std::string injected = seen["headers"].value("authorization", "");
  EXPECT_THAT(injected, StartsWith("Bearer ey")) << "the connection's JWT, not the agent key";
  EXPECT_EQ(injected.find(key), std::string::npos);

  // HEAD keeps the upstream's Content-Length without a body.
  RawReply head = Call("HEAD", "/proxy/work/read", key);
  EXPECT_EQ(head.status, 200) << head.raw;
  EXPECT_NE(head.Header("content-length"), "0");
  EXPECT_EQ(head.body, "");

  // One audit row per call, with the query values redacted.
  MustRun({"connection", "list"});  // the CLI works beside the daemon
  EXPECT_EQ(gateway_->Stop(SIGTERM), 0) << GatewayLog();
  SqlitePeek db(data_dir() + "/latchkey.db");
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM audit WHERE agent = 'bot' AND connection = 'work'"), 3);
  EXPECT_EQ(
      db.Int("SELECT COUNT(*) FROM audit WHERE path = '/__echo/a/b?x=***&y=***' AND upstream_status = 200"),
      1);
}

TEST_F(GatewayTest, InsufficientScopeBecomesScopeInsufficientWithAConsentUrl) {
  StartOAuthServers();
  ImportGrant("work", "bob");  // granted api:read only
  const std::string key = CreateAgent("bot", {"work"});
  StartGateway("public_url = \"http://127.0.0.1:8787\"\n");

  RawReply denied = Call("POST", "/proxy/work/write", key, "{}");
  ASSERT_EQ(denied.status, 403) << denied.raw;
  EXPECT_EQ(denied.Header("latchkey-error"), "scope_insufficient");
  EXPECT_THAT(denied.Header("content-type"), StartsWith("application/problem+json"));
  json problem = denied.Json();
  EXPECT_EQ(problem["code"], "scope_insufficient");
  EXPECT_EQ(problem["status"], 403);
  EXPECT_EQ(problem["connection"], "work");
  EXPECT_EQ(problem["required_scopes"], json::array({"api:write"}));
  EXPECT_THAT(problem["granted_scopes"].dump(), HasSubstr("api:read"));
  EXPECT_THAT(problem["detail"].get<std::string>(), HasSubstr("NOT carried out"));
  // The link is latchkey's consent page (at the public URL), never the provider's: only a
  // signed-in human's click there starts the authorization request.
  const std::string url = problem["reconsent_url"];
  EXPECT_THAT(url, StartsWith("http://127.0.0.1:8787/consent/"));
  EXPECT_THAT(url, Not(HasSubstr("state")));
  TempDir browser;
  HttpResponse review;
  HttpResponse started = StartConsent(url, browser, false, &review);
  EXPECT_THAT(review.body, HasSubstr("Agent <b>bot</b> asks for more access on connection <b>work</b>"));
  EXPECT_THAT(review.body, HasSubstr("New scopes: <b>api:write</b>"));
  const std::string provider_url = started.Header("location");
  EXPECT_THAT(provider_url, StartsWith(as_->base_url() + "/auth?"));
  EXPECT_THAT(provider_url, HasSubstr("api%3Awrite"));
  EXPECT_THAT(provider_url, HasSubstr("redirect_uri=http%3A%2F%2F127.0.0.1%3A8787%2Foauth%2Fcallback"));
  EXPECT_THAT(provider_url, HasSubstr("code_challenge="));

  // The same error again gives a link too.
  RawReply again = Call("POST", "/proxy/work/write", key, "{}");
  EXPECT_THAT(again.Json()["reconsent_url"].get<std::string>(), StartsWith("http://127.0.0.1:8787/consent/"));

  // Any other 403 or 404 passes through untouched.
  RawReply missing = Call("GET", "/proxy/work/nope", key);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Header("latchkey-error"), "");
}

// The answer for a forbidden request with the connection's name replaced, for comparison.
std::string Normalized(const RawReply& reply, const std::string& connection) {
  json problem = reply.Json();
  std::string text = problem.dump();
  for (size_t at = text.find(connection); at != std::string::npos; at = text.find(connection, at)) {
    text.replace(at, connection.size(), "<name>");
  }
  return std::to_string(reply.status) + " " + reply.Header("latchkey-error") + " " + text;
}

TEST_F(GatewayTest, PolicyDenialsAreIdenticalForConnectionsThatDoNotExist) {
  StartOAuthServers();
  ImportGrant("work", "carol");
  ImportGrant("private", "dave");
  const std::string key = CreateAgent("reader", {"work:GET:/read", "nosuch:GET:/read"});
  StartGateway();
  const long long before = ResourceRequests();

  RawReply method = Call("POST", "/proxy/work/read", key, "{}");
  EXPECT_EQ(method.status, 403);
  EXPECT_EQ(method.Json()["code"], "policy_denied");
  EXPECT_EQ(method.Json()["method"], "POST");
  EXPECT_EQ(method.Json()["path"], "/read");
  RawReply path = Call("GET", "/proxy/work/write", key);
  EXPECT_EQ(path.status, 403);
  EXPECT_EQ(path.Json()["code"], "policy_denied");
  RawReply other = Call("GET", "/proxy/private/read", key);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.Json()["connection"], "private");
  // Allowed by the policy but absent, or absent and not allowed: the same answer as a
  // connection that exists and is forbidden.
  RawReply allowed_absent = Call("GET", "/proxy/nosuch/read", key);
  RawReply absent = Call("GET", "/proxy/ghost/read", key);
  EXPECT_EQ(Normalized(allowed_absent, "nosuch"), Normalized(other, "private"));
  EXPECT_EQ(Normalized(absent, "ghost"), Normalized(other, "private"));
  EXPECT_EQ(ResourceRequests(), before) << "a denied request never reaches the upstream";

  RawReply ok = Call("GET", "/proxy/work/read", key);
  EXPECT_EQ(ok.status, 200) << ok.raw;
}

}  // namespace
}  // namespace latchkey::testing
