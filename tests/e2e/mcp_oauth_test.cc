// latchkey as the OAuth authorization server for its own /mcp (issue 23), against the
// real daemon: the official TypeScript SDK client (tests/fixtures/mcp/oauth_client.mjs,
// no key configured) discovers, registers (a Client ID Metadata Document it serves over
// TLS, or dynamic registration), a human allows it in Chromium
// (tests/fixtures/web/mcp_consent.mjs), and it acts as agent `bot`; then the refusals
// over plain HTTP.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "e2e/gateway_fixture.h"
#include "support/oauth_flows.h"

namespace latchkey::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kMcpFixtures = std::string(LATCHKEY_SOURCE_DIR) + "/tests/fixtures/mcp";
const std::string kWebFixtures = std::string(LATCHKEY_SOURCE_DIR) + "/tests/fixtures/web";

class McpOAuthTest : public GatewayTest {
 protected:
  // "work" (alice) that bot may read, "other" (bob) that it may not; a certificate for
  // 127.0.0.1 that latchkey trusts for metadata documents (the SDK demands https).
  void SetUpWorld(std::string extra_toml = "") {
    StartOAuthServers();
    ImportGrant("work", "alice");
    ImportGrant("other", "bob");
    CreateAgent("bot", {"work:GET:/**"});
    cert_ = certs_.path() + "/cert.pem";
    key_ = certs_.path() + "/key.pem";
    RunResult made = ::latchkey::testing::Run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                                               "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext",
                                               "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key_,
                                               "-out", cert_});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    // 3-second access tokens, so the client refreshes within the test.
    StartGateway(
        "[mcp_oauth]\naccess_token_lifetime_s = 3\nallow_private_metadata_hosts = true\n"
        "metadata_ca_file = \"" +
        cert_ + "\"\n" + extra_toml);
  }

  std::string Origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The JSON lines the background client printed so far.
  static std::vector<json> Lines(const std::string& path) {
    std::vector<json> lines;
    std::istringstream in(ReadFile(path));
    for (std::string line; std::getline(in, line);) {
      if (!line.starts_with("{")) continue;
      try {
        lines.push_back(json::parse(line));
      } catch (const json::exception&) {
      }
    }
    return lines;
  }

  // Waits (bounded) until the client printed a line with `key`; returns it or null.
  json WaitFor(const Background& client, const std::string& key, int seconds = 90) {
    for (int i = 0; i < seconds * 10; ++i) {
      for (const json& line : Lines(client.stderr_path())) {
        if (line.contains(key)) return line;
        if (line.contains("fatal")) return line;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return json();
  }

  json Browse(const json& config) {
    RunOptions options;
    options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_DATA_DIR"};
    RunResult run = ::latchkey::testing::Run(
        {"/usr/bin/env", "node", kWebFixtures + "/mcp_consent.mjs", config.dump()}, options);
    outputs_ += run.out + run.err;
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    try {
      return json::parse(run.out);
    } catch (const json::exception&) {
      ADD_FAILURE() << "no JSON from the browser script:\n" << run.out << "\n" << run.err;
      return json::object();
    }
  }

  TempDir certs_;
  TempDir files_;
  std::string cert_;
  std::string key_;
  std::string outputs_;  // everything the scripts printed (scanned for secrets)
};

// The whole flow, once per way of registering.
class McpOAuthFlowTest : public McpOAuthTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(McpOAuthFlowTest, AnSdkClientConnectsWithOAuthActsAsBotRefreshesAndIsEndedWithIt) {
  SetUpWorld();
  const bool cimd = GetParam() == "cimd";
  const std::string reached = files_.path() + "/reached";
  const std::string revoked = files_.path() + "/revoked";
  const json inside = {{"connection", "work"}, {"method", "GET"}, {"path", "/read"}};
  const json outside = {{"connection", "other"}, {"method", "GET"}, {"path", "/read"}};
  const json config = {{"url", Origin() + "/mcp"},
                       {"registration", GetParam()},
                       {"cert", cert_},
                       {"key", key_},
                       {"cimd_host", "127.0.0.1"},
                       {"callback_timeout_ms", 90000},
                       {"total_timeout_ms", 150000},
                       {"steps",
                        {{{"list", "tools"}},
                         {{"tool", "http_request"}, {"arguments", inside}},
                         {{"tool", "http_request"}, {"arguments", outside}},
                         {{"sleep_ms", 4000}},  // past the 3-second access token
                         {{"tool", "http_request"}, {"arguments", inside}},
                         {{"signal_file", reached}},
                         {{"wait_file", revoked}, {"wait_timeout_ms", 60000}},
                         {{"tool", "list_connections"}, {"arguments", json::object()}}}}};
  RunOptions options;
  options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_DATA_DIR"};
  Background client(
      {kMcpFixtures + "/node_modules/.bin/node", kMcpFixtures + "/oauth_client.mjs", config.dump()}, options);

  // 1. Discovery ends in the authorization URL, which a human opens in the browser.
  const json authorize = WaitFor(client, "authorize");
  ASSERT_TRUE(authorize.contains("authorize")) << ReadFile(client.stderr_path()) << GatewayLog();
  const std::string url = authorize["authorize"];
  EXPECT_THAT(url, HasSubstr(Origin() + "/oauth/authorize?"));
  EXPECT_THAT(url, HasSubstr("code_challenge_method=S256"));
  EXPECT_THAT(url, HasSubstr("resource=" + UrlEncode(Origin() + "/mcp")));
  const json ready = WaitFor(client, "ready");
  const std::string redirect_uri = ready["ready"]["redirect_uri"];
  json seen = Browse({{"authorize_url", url},
                      {"admin_token", AdminToken()},
                      {"agent", "bot"},
                      {"decision", "allow"},
                      {"redirect_prefix", redirect_uri},
                      {"screenshots", std::string(LATCHKEY_ARTIFACTS_DIR) + "/mcp-oauth-" + GetParam()}});
  EXPECT_EQ(seen.value("no_grant_button_before_sign_in", false), true) << seen;
  EXPECT_THAT(seen.value("client_text", ""), HasSubstr("latchkey e2e client")) << seen;
  EXPECT_THAT(seen.value("final_url", ""), HasSubstr(redirect_uri)) << seen;
  for (const json& error : seen.value("console_errors", json::array())) {
    EXPECT_THAT(error.get<std::string>(), Not(HasSubstr("Content Security Policy")))
        << "the redirect was blocked";
  }

  // 2. The client gets tokens, lists the tools and calls within bot's policy only.
  const json done_line_probe = WaitFor(client, "connected");
  ASSERT_EQ(done_line_probe.value("connected", false), true) << ReadFile(client.stderr_path()) << "\n"
                                                             << GatewayLog();
  for (int i = 0; i < 900 && !std::filesystem::exists(reached); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(std::filesystem::exists(reached)) << ReadFile(client.stderr_path());

  // 3. The agent is revoked: the client's next call gets 401 and cannot come back.
  MustRun({"agent", "revoke", "bot"});
  WriteFile(revoked, "");
  const json done = WaitFor(client, "done", 120);
  ASSERT_TRUE(done.contains("done")) << ReadFile(client.stderr_path());
  const std::vector<json> lines = Lines(client.stderr_path());
  outputs_ += ReadFile(client.stderr_path());

  std::map<int, json> steps;
  std::vector<json> clients;
  std::vector<json> token_saves;
  std::vector<json> callbacks;
  std::vector<json> http;
  for (const json& line : lines) {
    if (line.contains("step") && line["step"].is_number()) steps[line["step"].get<int>()] = line;
    if (line.contains("client")) clients.push_back(line["client"]);
    if (line.contains("tokens")) token_saves.push_back(line["tokens"]);
    if (line.contains("callback")) callbacks.push_back(line["callback"]);
    for (const json& entry : line.value("http", json::array())) http.push_back(entry);
  }
  ASSERT_FALSE(clients.empty());
  if (cimd) {
    EXPECT_EQ(clients.front()["client_id"], ready["ready"]["client_metadata_url"]) << "a metadata document";
    EXPECT_GE(done.value("cimd_fetches", json::array()).size(), 1U) << done;
  } else {
    EXPECT_THAT(clients.front()["client_id"].get<std::string>(), ::testing::StartsWith("lkc_"));
  }
  bool registered = false;
  for (const json& entry : http) registered |= entry.value("path", "") == "/oauth/register";
  EXPECT_EQ(registered, !cimd) << "dynamic registration only without a metadata document";
  ASSERT_FALSE(callbacks.empty());
  EXPECT_EQ(callbacks.front()["state_ok"], true);
  EXPECT_EQ(callbacks.front()["iss"], Origin()) << "RFC 9207";

  ASSERT_TRUE(steps.contains(0) && steps[0].contains("result")) << steps[0];
  std::vector<std::string> tools;
  for (const json& tool : steps[0]["result"]["tools"]) tools.push_back(tool["name"]);
  EXPECT_THAT(tools, ::testing::ElementsAre("list_connections", "http_request", "request_access"));
  ASSERT_TRUE(steps[1].contains("result")) << steps[1];
  EXPECT_FALSE(steps[1]["result"].value("isError", false)) << steps[1];
  EXPECT_EQ(steps[1]["result"]["structuredContent"]["status"], 200) << steps[1];
  ASSERT_TRUE(steps[2].contains("result")) << steps[2];
  EXPECT_TRUE(steps[2]["result"].value("isError", false)) << "outside bot's policy";
  EXPECT_EQ(steps[2]["result"]["structuredContent"]["error"]["code"], "policy_denied") << steps[2];

  // After the access token's 3 seconds: 401, the refresh_token grant, and the call goes on.
  ASSERT_TRUE(steps[4].contains("result")) << steps[4];
  EXPECT_FALSE(steps[4]["result"].value("isError", false)) << steps[4];
  bool refreshed = false;
  for (const json& entry : steps[4]["http"]) {
    refreshed |= entry.value("grant_type", "") == "refresh_token" && entry.value("status", 0) == 200;
  }
  EXPECT_TRUE(refreshed) << steps[4];
  ASSERT_GE(token_saves.size(), 2U);
  EXPECT_NE(token_saves[0]["access"], token_saves[1]["access"]);
  EXPECT_NE(token_saves[0]["refresh"], token_saves[1]["refresh"]) << "refresh tokens rotate";

  // After the revocation: 401, and the refresh is refused (invalid_grant): no new tokens.
  ASSERT_TRUE(steps.contains(7)) << lines.back();
  EXPECT_FALSE(steps[7].contains("result")) << steps[7];
  bool got_401 = false;
  bool refresh_refused = false;
  for (const json& entry : steps[7]["http"]) {
    got_401 |= entry.value("path", "") == "/mcp" && entry.value("status", 0) == 401;
    refresh_refused |= entry.value("grant_type", "") == "refresh_token" && entry.value("status", 0) == 400;
  }
  EXPECT_TRUE(got_401) << steps[7];
  EXPECT_TRUE(refresh_refused) << steps[7];

  // The audit log names the agent for the call the client made.
  const std::string audit = MustRun({"audit", "--agent", "bot"});
  EXPECT_THAT(audit, HasSubstr("work"));

  // No token, code, or admin token in anything the scripts printed.
  for (const std::string& secret : secrets_) {
    if (!secret.empty()) {
      EXPECT_THAT(outputs_, Not(HasSubstr(secret)));
    }
  }
  EXPECT_THAT(outputs_, Not(HasSubstr(AdminToken())));
  EXPECT_THAT(outputs_, Not(HasSubstr("lkma_")));
  EXPECT_THAT(outputs_, Not(HasSubstr("lkmr_")));
  EXPECT_THAT(outputs_, Not(HasSubstr("lkmc_")));
  client.Stop(SIGKILL);
}

INSTANTIATE_TEST_SUITE_P(Registration, McpOAuthFlowTest, ::testing::Values("cimd", "dcr"),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace latchkey::testing
