// Proxy, driven through a ProxyRuntime like the daemon's, against a scripted upstream on
// loopback, a real vault on SQLite, a scripted token endpoint and a simulated wall clock:
// each rule of SPEC §4 that the proxy owns, on its own.
#include "gateway/proxy/proxy.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "gateway/proxy/proxy_runtime.h"
#include "oauth/fake_http_client.h"
#include "support/extreme_random.h"
#include "support/scripted_upstream.h"
#include "vault/oauth_clients.h"
#include "vault/vault_test_support.h"

namespace latchkey::gateway {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using testing::ScriptedUpstream;

constexpr char kTokenUrl[] = "https://id.acme.example/token";

std::string Answer(int status, std::string_view body = "", std::string_view extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

struct Outcome {
  Response response;
  std::optional<ProblemDetails> problem;
  std::string code() const { return problem ? problem->code : ""; }
  nlohmann::json member(const std::string& name) const {
    return problem && problem->members.contains(name) ? problem->members[name] : nlohmann::json();
  }
};

class ProxyTest : public vault::VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    clients_ = std::make_unique<vault::OAuthClients>(vault_->providers(), http_, clock_);
    coordinator_ = std::make_unique<vault::RefreshCoordinator>(*vault_, *clients_, clock_, random_);
    flows_ = std::make_unique<vault::ConsentFlows>(*vault_, *clients_, clock_, random_);
  }
  void TearDown() override {
    if (runtime_) runtime_->Stop();
  }

  // The API, answering with `answers` in turn (one segment each). It lives as long as the
  // runtime, whose pooled connections it waits to see closed.
  ScriptedUpstream& Upstream(const std::vector<std::string>& answers) {
    std::vector<std::vector<std::string>> script;
    for (const std::string& answer : answers) script.push_back({answer});
    upstream_ = std::make_unique<ScriptedUpstream>(std::move(script));
    return *upstream_;
  }

  // Connection "work" of an OAuth provider whose API is `upstream`, with access token
  // at-0 (refresh token rt-1, scope "read"), and agent "bot" allowed `rules`.
  void ConnectOAuth(const ScriptedUpstream& upstream, const std::vector<std::string>& rules = {"work"}) {
    AddProvider("name = \"acme\"\nauth = \"oauth2\"\ntoken_url = \"" + std::string(kTokenUrl) +
                "\"\nclient_id = \"cid\"\nclient_secret = \"cs\"\napi_base_url = \"" + Base(upstream) +
                "\"\n");
    Import("acme", R"({"access_token":"at-0","refresh_token":"rt-1","expires_in":3600,"scope":"read"})");
    AddAgent(rules);
  }

  // Connection "work" of a provider that takes key k-123 in the query parameter `key`.
  void ConnectApiKeyInQuery(const ScriptedUpstream& upstream) {
    AddProvider("name = \"keyed\"\nauth = \"api_key\"\napi_key_query = \"key\"\napi_base_url = \"" +
                Base(upstream) + "\"\n");
    Import("keyed", R"({"api_key":"k-123"})");
    AddAgent({"work"});
  }

  void RespondTokens(const std::string& access) {
    http_.Respond(kTokenUrl, 200,
                  R"({"access_token":")" + access + R"(","token_type":"Bearer","expires_in":3600})");
  }

  // One call through the proxy, as agent "bot".
  Outcome Call(http::verb method, const std::string& target, const std::string& body = "") {
    if (!runtime_) {
      auto created = ProxyRuntime::Create(
          options_, {*vault_, *coordinator_, *flows_, clock_, steady_, random_}, {io_.get_executor()});
      EXPECT_TRUE(created.ok()) << created.status().ToString();
      runtime_ = std::move(*created);
    }
    Request request(method, target, 11);
    request.set(http::field::host, "latchkey.test");
    request.set(http::field::authorization, "Bearer " + std::string(agent_key_.reveal()));
    if (!body.empty()) request.body() = body;
    request.prepare_payload();
    Outcome out;
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          out.response = co_await runtime_->proxy().Handle(request, 0, nullptr, &out.problem);
          done = true;
        },
        asio::detached);
    io_.restart();
    // Until the call ends (pooled connections keep the loop busy after it), within a bound.
    const auto bound = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done && std::chrono::steady_clock::now() < bound) io_.run_one_for(std::chrono::seconds(1));
    EXPECT_TRUE(done) << "the call did not end";
    return out;
  }

  oauth::FakeHttpClient http_;

 private:
  static std::string Base(const ScriptedUpstream& upstream) {
    return "http://127.0.0.1:" + std::to_string(upstream.port());
  }
  void AddProvider(const std::string& toml) {
    auto added = vault_->providers().Add(toml, "test.toml");
    ASSERT_TRUE(added.ok()) << added.status().ToString();
  }
  void Import(const std::string& provider, const std::string& document) {
    auto imported = vault_->connections().Import(
        {.name = "work", .provider = provider, .document = document, .source = "test", .replace = false});
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  }
  void AddAgent(const std::vector<std::string>& rules) {
    auto created = vault_->agents().Create("bot", rules);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    agent_key_ = std::move(created->key);
  }

  testing::ExtremeRandom random_{false};  // the shortest backoff
  std::unique_ptr<vault::OAuthClients> clients_;
  std::unique_ptr<vault::RefreshCoordinator> coordinator_;
  SimulatedSteadyClock steady_;
  std::unique_ptr<vault::ConsentFlows> flows_;
  ProxyRuntimeOptions options_ = [] {
    ProxyRuntimeOptions options;
    options.proxy.retry = {.max_attempts = 3, .first_backoff = std::chrono::milliseconds(1)};
    return options;
  }();
  std::unique_ptr<ScriptedUpstream> upstream_;  // (destroyed after the runtime and its connections)
  asio::io_context io_;
  std::unique_ptr<ProxyRuntime> runtime_;
  SecretString agent_key_;
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
  EXPECT_EQ(out.response["Latchkey-Refreshed"], "1");
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

}  // namespace
}  // namespace latchkey::gateway
