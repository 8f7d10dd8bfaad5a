// Hostile requests against the gateway: each gets a 4xx problem (RFC 9457, Latchkey-Error)
// and the upstream is never contacted. Then a scan of everything the gateway wrote
// (log, audit rows, metrics, every answer) for every secret the test handled.
#include <set>

#include "e2e/gateway_fixture.h"
#include "e2e/sqlite_peek.h"

namespace latchkey::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

struct Hostile {
  std::string name;
  std::string raw;  // the request bytes; "{KEY}" is replaced by a valid agent key
  int status;       // expected status
  std::chrono::milliseconds pause{0};
};

std::string Get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n" + extra_headers +
         "Connection: close\r\n\r\n";
}

std::vector<Hostile> HostileRequests(const std::string& revoked_key) {
  const std::string big(20 * 1024, 'a');
  return {
      {"dot-dot", Get("/proxy/work/../admin"), 400},
      {"dot-dot-at-end", Get("/proxy/work/read/.."), 400},
      {"single-dot", Get("/proxy/work/./read"), 400},
      {"encoded-dot-dot", Get("/proxy/work/%2e%2e/admin"), 400},
      {"encoded-dot-dot-upper", Get("/proxy/work/%2E%2E/admin"), 400},
      {"half-encoded-dot-dot", Get("/proxy/work/.%2e/admin"), 400},
      {"double-encoded-dot-dot", Get("/proxy/work/%252e%252e/admin"), 400},
      {"double-encoded-slash", Get("/proxy/work/a%252fb"), 400},
      {"encoded-slash", Get("/proxy/work/..%2fadmin"), 400},
      {"encoded-backslash", Get("/proxy/work/%5c..%5cadmin"), 400},
      {"raw-backslash", Get("/proxy/work/..\\admin"), 400},
      {"tomcat-params", Get("/proxy/work/..;/admin"), 400},
      {"empty-segment", Get("/proxy/work//evil.example/x"), 400},
      {"absolute-form", Get("http://evil.example/proxy/work/read"), 400},
      {"absolute-form-self", Get("http://127.0.0.1/proxy/work/read"), 400},
      {"at-in-connection", Get("/proxy/work@evil.example/read"), 400},
      {"traversal-as-connection", Get("/proxy/..%2f/read"), 400},
      {"encoded-crlf-in-path", Get("/proxy/work/read%0d%0aX-Injected:%20yes"), 400},
      {"encoded-crlf-in-query", Get("/proxy/work/read?x=%0d%0aSet-Cookie:%20a=b"), 400},
      {"encoded-nul", Get("/proxy/work/%00/read"), 400},
      {"malformed-escape", Get("/proxy/work/read%zz"), 400},
      {"truncated-escape", Get("/proxy/work/read%2"), 400},
      {"raw-lf-in-target", "GET /proxy/work/read\nX: y HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"bare-cr-in-header", Get("/proxy/work/read", "X-Evil: a\rb\r\n"), 400},
      {"raw-non-ascii",
       Get("/proxy/work/r"
           "\xc3\xa9"
           "ad"),
       400},
      {"fragment", Get("/proxy/work/read#frag"), 400},
      {"no-connection", Get("/proxy/"), 400},
      {"upper-case-connection", Get("/proxy/WORK/read"), 400},
      {"long-target", Get("/proxy/work/" + std::string(9000, 'x')), 400},
      {"trace",
       "TRACE /proxy/work/read HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {KEY}\r\nConnection: "
       "close\r\n\r\n",
       400},
      {"smuggling-te-and-cl",
       "POST /proxy/work/read HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {KEY}\r\nContent-Length: 4\r\n"
       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
       400},
      {"oversized-header", Get("/proxy/work/read", "X-Big: " + big + "\r\n"), 431},
      {"oversized-body",
       "POST /proxy/work/read HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {KEY}\r\nContent-Length: "
       "50000000\r\n"
       "Connection: close\r\n\r\nabc",
       413},
      {"slow-client",
       "GET /proxy/work/read HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(60, 's') + "\r\n\r\n",
       408, std::chrono::milliseconds(40)},
      {"no-agent-key", "GET /proxy/work/read HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 401},
      {"malformed-agent-key", Get("/proxy/work/read").replace(Get("").find("{KEY}"), 5, "not-a-key"), 401},
      {"wrong-agent-secret", Get("/proxy/work/read").replace(Get("").find("{KEY}"), 5, "{KEY}x"), 401},
      {"revoked-agent-key", Get("/proxy/work/read").replace(Get("").find("{KEY}"), 5, revoked_key), 401},
      {"basic-instead-of-bearer",
       "GET /proxy/work/read HTTP/1.1\r\nHost: a\r\nAuthorization: Basic Ym90OnNlY3JldA==\r\nConnection: "
       "close\r\n\r\n",
       401},
  };
}

TEST_F(GatewayTest, HostileRequestsGetProblemsAndNeverReachTheUpstream) {
  StartOAuthServers();
  ImportGrant("work", "erin");
  const std::string key = CreateAgent("bot", {"work"});
  const std::string revoked = CreateAgent("fired", {"work"});
  MustRun({"agent", "revoke", "fired"});
  StartGateway("[gateway]\nidle_timeout_ms = 1000\nread_timeout_ms = 1000\n");
  HttpRequest("POST", rs_->base_url() + "/__reset", "", {});

  const auto cases = HostileRequests(revoked);
  ASSERT_GE(cases.size(), 30u);
  for (const Hostile& c : cases) {
    std::string raw = c.raw;
    for (size_t at = raw.find("{KEY}"); at != std::string::npos; at = raw.find("{KEY}"))
      raw.replace(at, 5, key);
    RawReply reply = RawExchange(port_, raw, std::chrono::seconds(10), c.pause);
    problem_bodies_.push_back(reply.raw);
    EXPECT_EQ(reply.status, c.status) << c.name << ": " << reply.raw.substr(0, 600) << reply.error;
    EXPECT_THAT(reply.Header("content-type"), ::testing::StartsWith("application/problem+json")) << c.name;
    EXPECT_FALSE(reply.Header("latchkey-error").empty()) << c.name;
    json problem = reply.Json();
    EXPECT_EQ(problem.value("status", 0), c.status) << c.name;
    EXPECT_THAT(problem.value("detail", ""), HasSubstr("NOT carried out")) << c.name;
  }
  EXPECT_EQ(Stats(*rs_)["requests"], 0) << "the upstream was contacted";

  // The gateway is still healthy and serves the legitimate request.
  RawReply ok = Call("GET", "/proxy/work/read", key);
  EXPECT_EQ(ok.status, 200) << ok.raw;
}

TEST_F(GatewayTest, AStoredCredentialWithALineBreakIsNeverSentAsAHeader) {
  // An API key (or an access token from a hostile authorization server) holding CR LF
  // would otherwise put a header of its own choosing into the upstream request.
  StartOAuthServers();
  MustRun({"provider", "add", "--file", "-"}, "name = \"keyed\"\nauth = \"api_key\"\napi_base_url = \"" +
                                                  rs_->base_url() + "\"\napi_key_header = \"X-Api-Key\"\n");
  MustRun({"connection", "import", "keyed-conn", "--provider", "keyed"},
          json{{"api_key", "k-123\r\nX-Injected: yes"}}.dump());
  const std::string key = CreateAgent("bot", {"keyed-conn"});
  StartGateway();
  HttpRequest("POST", rs_->base_url() + "/__reset", "", {});

  RawReply reply = Call("GET", "/proxy/keyed-conn/read", key);
  EXPECT_EQ(reply.status, 500) << reply.raw;
  EXPECT_EQ(reply.Header("latchkey-error"), "internal_error");
  const std::string detail = reply.Json().value("detail", "");
  EXPECT_THAT(detail, HasSubstr("NOT carried out"));
  EXPECT_THAT(detail, HasSubstr("'X-Api-Key' holds a line break"));
  EXPECT_EQ(reply.raw.find("k-123"), std::string::npos) << reply.raw;
  EXPECT_EQ(ResourceRequests(), 0) << "the upstream was contacted";
}

TEST_F(GatewayTest, NoSecretAppearsInLogsAuditRowsMetricsOrAnswers) {
  StartOAuthServers(/*access_token_ttl=*/2);
  ImportGrant("work", "frank", /*expires_in=*/1);
  ImportGrant("gone", "grace", /*expires_in=*/1);
  MustRun({"provider", "add", "--file", "-"}, "name = \"keyed\"\nauth = \"api_key\"\napi_base_url = \"" +
                                                  rs_->base_url() + "\"\napi_key_query = \"api_key\"\n");
  const std::string api_key = UniqueSecret("apikey");
  secrets_.push_back(api_key);
  MustRun({"connection", "import", "keyed-conn", "--provider", "keyed"}, json{{"api_key", api_key}}.dump());
  const std::string key = CreateAgent("bot", {"work", "gone", "keyed-conn"});
  HttpRequest("POST", as_->base_url() + "/__revoke_grant?sub=grace", "", {});
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const std::string hook_secret = UniqueSecret("whsec");
  secrets_.push_back(hook_secret);
  StartGateway("[alerts]\nwebhook_url = \"http://127.0.0.1:9/hook\"\nwebhook_secret = \"env:HOOK\"\n",
               {{"HOOK", hook_secret}});

  // Success, refresh, scope error, re-auth, policy denial, bad key, API-key injection.
  EXPECT_EQ(Call("GET", "/proxy/work/read", key).status, 200);
  EXPECT_EQ(Call("GET", "/proxy/work/read?token=abc&x=1", key).status, 200);
  EXPECT_EQ(Call("POST", "/proxy/work/write", key, "{}").status, 403);
  EXPECT_EQ(Call("GET", "/proxy/gone/read", key).status, 401);
  EXPECT_EQ(Call("GET", "/proxy/other/read", key).status, 403);
  EXPECT_EQ(Call("GET", "/proxy/work/read", key + "x").status, 401);
  RawReply keyed = Call("GET", "/proxy/keyed-conn/__echo?q=1", key);
  ASSERT_EQ(keyed.status, 200) << keyed.raw;
  EXPECT_THAT(keyed.Json()["url"].get<std::string>(), HasSubstr("api_key=" + api_key))
      << "injected as the provider says";
  problem_bodies_.pop_back();  // the echo shows the injected key by design (it is the upstream's view)
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));  // a refresh or two happen meanwhile
  EXPECT_EQ(Call("GET", "/proxy/work/read", key).status, 200);
  // The refreshed tokens are secrets too.
  secrets_.push_back(MustRun({"token", "work"}));
  RawReply metrics = RawExchange(port_, BuildRequest("GET", "/metrics"));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("latchkey_requests_total{connection=\"work\",code=\"ok\"}"));
  EXPECT_THAT(metrics.body, HasSubstr("latchkey_connections{status=\"needs_reauth\"} 1"));
  EXPECT_EQ(gateway_->Stop(SIGTERM), 0);

  std::string audit;
  {
    SqlitePeek db(data_dir() + "/latchkey.db");
    auto rows = db.Blob(
        "SELECT group_concat(agent || ' ' || connection || ' ' || method || ' ' || path || ' ' || "
        "code, char(10)) FROM audit");
    audit.assign(rows.begin(), rows.end());
  }
  EXPECT_THAT(audit, HasSubstr("/read?token=***&x=***"));
  const std::string log = GatewayLog();
  EXPECT_THAT(log, HasSubstr("needs_reauth"));
  std::string answers;
  for (const auto& body : problem_bodies_) answers += body + "\n";
  int scanned = 0;
  for (std::string secret : secrets_) {
    while (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (secret.size() < 8) continue;
    ++scanned;
    EXPECT_EQ(log.find(secret), std::string::npos) << "log leaks " << secret.substr(0, 6) << "...";
    EXPECT_EQ(audit.find(secret), std::string::npos) << "audit leaks " << secret.substr(0, 6) << "...";
    EXPECT_EQ(metrics.raw.find(secret), std::string::npos) << "metrics leak " << secret.substr(0, 6) << "...";
    EXPECT_EQ(answers.find(secret), std::string::npos) << "answers leak " << secret.substr(0, 6) << "...";
  }
  EXPECT_GE(scanned, 9);
}

}  // namespace
}  // namespace latchkey::testing
