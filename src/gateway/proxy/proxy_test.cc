// Proxy, driven through a ProxyRuntime like the daemon's, against a scripted upstream on
// loopback, a real vault on SQLite, a scripted token endpoint and a simulated wall clock:
// each rule of SPEC §4 that the proxy owns, on its own.
#include "gateway/proxy/proxy.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "gateway/proxy/proxy_runtime_test_support.h"

namespace latchkey::gateway {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using testing::ScriptedUpstream;

struct Outcome {
  Response response;
  std::optional<ProblemDetails> problem;
  std::string code() const { return problem ? problem->code : ""; }
  nlohmann::json member(const std::string& name) const {
    return problem && problem->members.contains(name) ? problem->members[name] : nlohmann::json();
  }
};

class ProxyTest : public ProxyRuntimeTest {
 protected:
  // One call through the proxy, as agent "bot" by its key in the Authorization header, or
  // as `caller` (the MCP tools' way) when given.
  Outcome Call(http::verb method, const std::string& target, const std::string& body = "",
               const Caller* caller = nullptr) {
    ProxyRuntime& runtime = Runtime();
    Request request(method, target, 11);
    request.set(http::field::host, "latchkey.test");
    if (caller == nullptr)
      request.set(http::field::authorization, "Bearer " + std::string(agent_key_.reveal()));
    if (!body.empty()) request.body() = body;
    request.prepare_payload();
    Outcome out;
    bool done = false;
    asio::co_spawn(
        io(),
        [&]() -> asio::awaitable<void> {
          out.response = co_await runtime.proxy().Handle(request, 0, caller, &out.problem);
          done = true;
        },
        asio::detached);
    EXPECT_TRUE(RunUntil([&] { return done; })) << "the call did not end";
    return out;
  }
};

bool Contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST_F(ProxyTest, A401IsAnsweredByOneRefreshAndTheCallSentAgainWithTheNewToken) {
  ScriptedUpstream& upstream = Upstream({Answer(401), Answer(200, "fresh")});
  ConnectOAuth(upstream);
  RespondTokens("at-1");
  Outcome out = Call(http::verb::get, "/proxy/work/v1/me");
  EXPECT_EQ(out.code(), "");
  EXPECT_EQ(out.response.result_int(), 200);
  EXPECT_EQ(out.response.body(), "fresh");
  EXPECT_EQ(out.response.Field("Latchkey-Refreshed"), "1");
  const std::vector<std::string> sent = upstream.received();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(Contains(sent[0], "Authorization: Bearer at-0\r\n")) << sent[0];
  EXPECT_TRUE(Contains(sent[1], "Authorization: Bearer at-1\r\n")) << sent[1];
  EXPECT_EQ(http_.request_count(), 1u);
}

TEST_F(ProxyTest, AnIdempotentCallIsSentAgainAfterA5xxAndAPostIsNot) {
  ScriptedUpstream& upstream = Upstream({Answer(503), Answer(200, "second"), Answer(503)});
  ConnectOAuth(upstream);
  Outcome get = Call(http::verb::get, "/proxy/work/v1/items");
  EXPECT_EQ(get.code(), "");
  EXPECT_EQ(get.response.body(), "second");
  EXPECT_EQ(upstream.requests(), 2);

  Outcome post = Call(http::verb::post, "/proxy/work/v1/items", "{}");
  EXPECT_EQ(post.code(), "upstream_unavailable");
  EXPECT_EQ(post.member("attempts"), 1);
  EXPECT_EQ(post.member("upstream_status"), 503);
  EXPECT_EQ(upstream.requests(), 3) << "a POST that may have acted is not sent twice";
}

TEST_F(ProxyTest, AttemptsCountEverySendOfTheCallAcrossRefreshRounds) {
  // 401, refresh, then three 503s: four sends in all.
  ScriptedUpstream& upstream = Upstream({Answer(401), Answer(503), Answer(503), Answer(503)});
  ConnectOAuth(upstream);
  RespondTokens("at-1");
  Outcome out = Call(http::verb::get, "/proxy/work/v1/me");
  EXPECT_EQ(out.code(), "upstream_unavailable");
  EXPECT_EQ(out.member("attempts"), 4);
  EXPECT_EQ(upstream.requests(), 4);
}

TEST_F(ProxyTest, A429WhoseRetryAfterOutlastsTheDeadlineIsRateLimitedAtOnce) {
  ScriptedUpstream& upstream = Upstream({Answer(429, "", "Retry-After: 120\r\n")});
  ConnectOAuth(upstream);
  Outcome out = Call(http::verb::get, "/proxy/work/v1/me");
  EXPECT_EQ(out.code(), "rate_limited");
  EXPECT_EQ(out.member("retry_after"), 120);
  EXPECT_EQ(out.member("attempts"), 1);
  EXPECT_EQ(upstream.requests(), 1);
}

TEST_F(ProxyTest, A403NamingAMissingScopeBecomesScopeInsufficientWithTheScopes) {
  ScriptedUpstream& upstream = Upstream(
      {Answer(403, "", "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"read write\"\r\n")});
  ConnectOAuth(upstream);
  Outcome out = Call(http::verb::get, "/proxy/work/v1/repos");
  EXPECT_EQ(out.code(), "scope_insufficient");
  EXPECT_EQ(out.response.result_int(), 403);
  EXPECT_EQ(out.member("granted_scopes"), nlohmann::json::array({"read"}));
  EXPECT_TRUE(Contains(out.member("required_scopes").dump(), "write")) << out.member("required_scopes");
}

TEST_F(ProxyTest, ACallThePolicyRefusesNeverReachesTheUpstream) {
  ScriptedUpstream& upstream = Upstream({Answer(200)});
  ConnectOAuth(upstream, {"work:GET:/v1/**"});
  Outcome out = Call(http::verb::delete_, "/proxy/work/v1/repos/x");
  EXPECT_EQ(out.code(), "policy_denied");
  EXPECT_EQ(upstream.requests(), 0);
}

// An MCP client's access token acts as its agent: the agent's policy applies unchanged, and
// each audit row, allowed or refused, names the client; a call with the agent's own key
// (through the MCP tools or the header) names none.
TEST_F(ProxyTest, TheAuditRowNamesTheMcpClientACallCameThrough) {
  ScriptedUpstream& upstream = Upstream({Answer(200, "a"), Answer(200, "b"), Answer(200, "c")});
  ConnectOAuth(upstream, {"work:GET:/v1/**"});
  const std::string client = "https://client.example/m.json";
  const Caller through_client{.agent_key = {}, .agent_name = "bot", .client_id = client};
  const Caller by_key{.agent_key = agent_key_, .agent_name = "", .client_id = ""};
  EXPECT_EQ(Call(http::verb::get, "/proxy/work/v1/me", "", &through_client).code(), "");
  EXPECT_EQ(Call(http::verb::delete_, "/proxy/work/v1/me", "", &through_client).code(), "policy_denied");
  EXPECT_EQ(Call(http::verb::get, "/proxy/work/v1/me", "", &by_key).code(), "");
  EXPECT_EQ(Call(http::verb::get, "/proxy/work/v1/me").code(), "");
  EXPECT_EQ(upstream.requests(), 3);

  Runtime().Stop();  // writes the queued audit rows
  auto rows = vault_->store().QueryAudit({});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 4u);  // newest first
  for (const store::AuditRecord& row : *rows) EXPECT_EQ(row.agent, "bot");
  EXPECT_EQ((*rows)[3].client, client);
  EXPECT_EQ((*rows)[3].code, "");
  EXPECT_EQ((*rows)[2].client, client);
  EXPECT_EQ((*rows)[2].code, "policy_denied");
  EXPECT_EQ((*rows)[1].client, "");
  EXPECT_EQ((*rows)[0].client, "");
}

TEST_F(ProxyTest, AnApiKeyReplacesTheAgentsOwnParameterAndTheAgentsKeyStaysBehind) {
  ScriptedUpstream& upstream = Upstream({Answer(200, "ok")});
  ConnectApiKeyInQuery(upstream);
  Outcome out = Call(http::verb::get, "/proxy/work/v1/search?key=guess&q=1");
  EXPECT_EQ(out.code(), "");
  const std::vector<std::string> sent = upstream.received();
  ASSERT_EQ(sent.size(), 1u);
  const std::string line = sent[0].substr(0, sent[0].find("\r\n"));
  EXPECT_TRUE(Contains(line, "key=k-123")) << line;
  EXPECT_FALSE(Contains(line, "guess")) << line;
  EXPECT_FALSE(Contains(sent[0], "Authorization")) << "the agent's own key went upstream: " << sent[0];
}

// The agent's answer carries the upstream's fields but the hop-by-hop ones, cookies and
// latchkey's own names, the same whether the answer's header was read by the scanner (a
// plain answer, its fields kept as lines) or by Beast (here a chunked one).
TEST_F(ProxyTest, TheUpstreamsFieldsReachTheAgentLessHopByHopOnesWhicheverWayTheHeaderWasRead) {
  const std::string fields =
      "Content-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=30\r\nX-Kept: one\r\n"
      "Set-Cookie: session=1\r\nProxy-Authenticate: Basic\r\nLatchkey-Refreshed: 1\r\nX-Kept: two\r\n";
  ScriptedUpstream& upstream =
      Upstream({Answer(200, "plain", fields), "HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n" + fields +
                                                  "\r\n7\r\nchunked\r\n0\r\n\r\n"});
  ConnectApiKeyInQuery(upstream);
  const std::vector<std::string> expected = {"Content-Type: text/plain", "X-Kept: one", "X-Kept: two"};
  for (const char* shape : {"plain", "chunked"}) {
    SCOPED_TRACE(shape);
    Outcome out = Call(http::verb::get, "/proxy/work/v1/items");
    ASSERT_EQ(out.code(), "");
    std::vector<std::string> seen;
    out.response.ForEachField([&](std::string_view name, std::string_view value) {
      if (!AsciiEqualsIgnoreCase(name, "Content-Length"))
        seen.push_back(std::string(name) + ": " + std::string(value));
    });
    EXPECT_EQ(seen, expected);
    EXPECT_EQ(out.response.Field("x-kept"), "one")
        << "Field() finds a field by any case, the first of its name";
    EXPECT_EQ(out.response.Field(http::field::set_cookie), "");
  }
  EXPECT_EQ(upstream.connections(), 1) << "both answers came over one pooled connection";
}

}  // namespace
}  // namespace latchkey::gateway
