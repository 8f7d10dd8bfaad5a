// ProxyRuntimeTest: a ProxyRuntime like the daemon's, for unit tests of what runs through
// it (the proxy, the MCP tools): a real vault on SQLite with a simulated wall clock, a
// scripted token endpoint (FakeHttpClient), a scripted API on loopback (ScriptedUpstream),
// a simulated monotonic clock, and one worker, the test's own io_context.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/proxy/proxy_runtime.h"
#include "oauth/fake_http_client.h"
#include "support/extreme_random.h"
#include "support/scripted_upstream.h"
#include "vault/oauth_clients.h"
#include "vault/vault_test_support.h"

namespace latchkey::gateway {

// One HTTP/1.1 answer as the scripted upstream writes it.
inline std::string Answer(int status, std::string_view body = "", std::string_view extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

class ProxyRuntimeTest : public vault::VaultTest {
 protected:
  static constexpr char kTokenUrl[] = "https://id.acme.example/token";

  void SetUp() override {
    VaultTest::SetUp();
    clients_ = std::make_unique<vault::OAuthClients>(vault_->providers(), http_, clock_);
    coordinator_ = std::make_unique<vault::RefreshCoordinator>(*vault_, *clients_, clock_, random_);
    flows_ = std::make_unique<vault::ConsentFlows>(*vault_, *clients_, clock_, random_);
    options_.proxy.retry = {.max_attempts = 3, .first_backoff = std::chrono::milliseconds(1)};
    options_.public_url = "http://latchkey.test";
  }
  void TearDown() override {
    if (runtime_) runtime_->Stop();
  }

  // The API, answering with `answers` in turn (one segment each). It lives as long as the
  // runtime, whose pooled connections it waits to see closed.
  testing::ScriptedUpstream& Upstream(const std::vector<std::string>& answers) {
    std::vector<std::vector<std::string>> script;
    for (const std::string& answer : answers) script.push_back({answer});
    upstream_ = std::make_unique<testing::ScriptedUpstream>(std::move(script));
    return *upstream_;
  }

  // Connection `name` of an OAuth provider "acme" whose API is `upstream`, with access
  // token at-0 (refresh token rt-1, scope "read"), and agent "bot" allowed `rules`.
  void ConnectOAuth(const testing::ScriptedUpstream& upstream,
                    const std::vector<std::string>& rules = {"work"}, const std::string& name = "work") {
    AddProvider("name = \"acme\"\nauth = \"oauth2\"\ntoken_url = \"" + std::string(kTokenUrl) +
                "\"\nauthorization_url = \"https://id.acme.example/authorize\"\nclient_id = \"cid\"\n"
                "client_secret = \"cs\"\napi_base_url = \"" +
                Base(upstream) + "\"\n");
    Import("acme", R"({"access_token":"at-0","refresh_token":"rt-1","expires_in":3600,"scope":"read"})",
           name);
    AddAgent(rules);
  }

  // Connection "work" of a provider that takes key k-123 in the query parameter `key`.
  void ConnectApiKeyInQuery(const testing::ScriptedUpstream& upstream) {
    AddProvider("name = \"keyed\"\nauth = \"api_key\"\napi_key_query = \"key\"\napi_base_url = \"" +
                Base(upstream) + "\"\n");
    Import("keyed", R"({"api_key":"k-123"})");
    AddAgent({"work"});
  }

  void RespondTokens(const std::string& access) {
    http_.Respond(kTokenUrl, 200,
                  R"({"access_token":")" + access + R"(","token_type":"Bearer","expires_in":3600})");
  }

  void Import(const std::string& provider, const std::string& document, const std::string& name = "work") {
    auto imported = vault_->connections().Import(
        {.name = name, .provider = provider, .document = document, .source = "test", .replace = false});
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  }

  // The runtime, made on first use from options_, with io_ as its only worker.
  ProxyRuntime& Runtime() {
    if (!runtime_) {
      auto created = ProxyRuntime::Create(
          options_, {*vault_, *coordinator_, *flows_, clock_, steady_, random_}, {io_.get_executor()});
      EXPECT_TRUE(created.ok()) << created.status().ToString();
      runtime_ = std::move(*created);
    }
    return *runtime_;
  }

  // Runs the worker until `done()` (pooled connections keep the loop busy after a call
  // ends), for at most a minute; false if it never was.
  bool RunUntil(const std::function<bool()>& done) {
    io_.restart();
    const auto bound = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done() && std::chrono::steady_clock::now() < bound) io_.run_one_for(std::chrono::seconds(1));
    return done();
  }

  // The runtime's one worker: calls through it are spawned here.
  boost::asio::io_context& io() { return io_; }

  oauth::FakeHttpClient http_;
  ProxyRuntimeOptions options_;  // read when the runtime is made
  SecretString agent_key_;       // agent "bot"'s key

 private:
  static std::string Base(const testing::ScriptedUpstream& upstream) {
    return "http://127.0.0.1:" + std::to_string(upstream.port());
  }
  void AddProvider(const std::string& toml) {
    auto added = vault_->providers().Add(toml, "test.toml");
    ASSERT_TRUE(added.ok()) << added.status().ToString();
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
  std::unique_ptr<testing::ScriptedUpstream> upstream_;  // (destroyed after the runtime and its connections)
  boost::asio::io_context io_;
  std::unique_ptr<ProxyRuntime> runtime_;
};

}  // namespace latchkey::gateway
