// latchkey's MCP tools driven by the official TypeScript SDK client (tests/fixtures/mcp/
// client.mjs), over stdio (`latchkey mcp`) and over Streamable HTTP (`/mcp` of `latchkey
// serve`), against the real authorization server (as.js) and resource server (rs.js).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e/gateway_fixture.h"

namespace latchkey::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kFixtures = std::string(LATCHKEY_SOURCE_DIR) + "/tests/fixtures/mcp";

class McpTest : public GatewayTest, public ::testing::WithParamInterface<std::string> {
 protected:
  bool stdio() const { return GetParam() == "stdio"; }

  // Starts everything: "work" (alice, api:read) and "gone" (revoked at the server) that
  // the agent may use, "other" that it may not.
  void SetUpWorld(bool revoke_gone = false) {
    StartOAuthServers();
    ImportGrant("work", "alice");
    ImportGrant("other", "bob");
    ImportGrant("gone", "leaver", /*expires_in=*/1);
    if (revoke_gone) {
      HttpRequest("POST", as_->base_url() + "/__revoke_grant?sub=leaver", "", {});
      std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // gone's access token is stale
    }
    key_ = CreateAgent("bot", {"work:GET:/**", "work:POST:/write", "gone"});
    StartGateway();
  }

  // Runs the SDK client with `steps` (and `extra` config); returns its output lines.
  std::vector<json> Client(const json& steps, json extra = json::object()) {
    json config = std::move(extra);
    config["steps"] = steps;
    if (stdio()) {
      config["transport"] = "stdio";
      config["command"] = LatchkeyBinary();
      config["args"] = {"--data-dir", data_dir(), "mcp"};
      if (!config.contains("env")) config["env"] = {{"LATCHKEY_AGENT_KEY", key_}};
    } else {
      config["transport"] = "http";
      config["url"] = "http://127.0.0.1:" + std::to_string(port_) + "/mcp";
      if (!config.contains("key")) config["key"] = key_;
    }
    RunOptions options;
    options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_DATA_DIR", "LATCHKEY_AGENT_KEY"};
    RunResult run = ::latchkey::testing::Run(
        {kFixtures + "/node_modules/.bin/node", kFixtures + "/client.mjs", config.dump()}, options);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::vector<json> lines;
    std::istringstream out(run.out);
    for (std::string line; std::getline(out, line);) {
      lines.push_back(json::parse(line));
      outputs_ += line + "\n";
    }
    outputs_ += run.err;
    return lines;
  }

  // The result of one tool call (the client's line for step 0).
  json CallTool(const std::string& tool, const json& arguments, json extra = json::object()) {
    std::vector<json> lines =
        Client(json::array({{{"tool", tool}, {"arguments", arguments}}}), std::move(extra));
    if (lines.size() < 2) {
      ADD_FAILURE() << "no answer; gateway log:\n" << GatewayLog();
      return json();
    }
    EXPECT_FALSE(lines[1].contains("error")) << lines[1];
    last_elicited_ = lines[1].value("elicited", json::array());
    return lines[1].value("result", json());
  }

  static std::string Text(const json& result) { return result["content"][0]["text"].get<std::string>(); }

  std::string key_;
  std::string outputs_;  // everything every client printed (scanned for secrets)
  json last_elicited_;
};

TEST_P(McpTest, ToolsAreListedWithSchemas) {
  SetUpWorld();
  std::vector<json> lines = Client(json::array({{{"list", "tools"}}}));
  ASSERT_GE(lines.size(), 2U);
  EXPECT_EQ(lines[0]["server"]["name"], "latchkey");
  std::vector<std::string> names;
  for (const json& tool : lines[1]["result"]["tools"]) {
    names.push_back(tool["name"]);
    EXPECT_EQ(tool["inputSchema"]["type"], "object");
    EXPECT_EQ(tool["outputSchema"]["type"], "object");
  }
  EXPECT_THAT(names, ::testing::ElementsAre("list_connections", "http_request", "request_access"));
}

TEST_P(McpTest, ListConnectionsShowsOnlyWhatThePolicyAllows) {
  SetUpWorld();
  json result = CallTool("list_connections", json::object());
  EXPECT_FALSE(result.value("isError", false));
  std::map<std::string, json> seen;
  for (const json& connection : result["structuredContent"]["connections"])
    seen[connection["name"]] = connection;
  EXPECT_EQ(seen.size(), 2U) << result;
  ASSERT_TRUE(seen.contains("work"));
  EXPECT_TRUE(seen.contains("gone"));
  EXPECT_FALSE(seen.contains("other"));
  EXPECT_EQ(seen["work"]["provider"], "acme");
  EXPECT_EQ(seen["work"]["status"], "active");
  EXPECT_THAT(seen["work"]["granted_scopes"].dump(), HasSubstr("api:read"));
  EXPECT_EQ(seen["work"]["allowed"],
            json::parse(R"([{"methods":["GET"],"path":"/**"},{"methods":["POST"],"path":"/write"}])"));
  EXPECT_THAT(Text(result), HasSubstr("\"work\""));
}

TEST_P(McpTest, HttpRequestReachesTheApiWithTheCredential) {
  SetUpWorld();
  json result =
      CallTool("http_request",
               {{"connection", "work"}, {"method", "GET"}, {"path", "/read"}, {"query", {{"page", 2}}}});
  EXPECT_FALSE(result.value("isError", false)) << result;
  const json& structured = result["structuredContent"];
  EXPECT_EQ(structured["status"], 200);
  EXPECT_EQ(structured["body_encoding"], "utf-8");
  json body = json::parse(structured["body"].get<std::string>());
  EXPECT_EQ(body["sub"], "alice") << body;
  EXPECT_THAT(structured["headers"]["content-type"].get<std::string>(), HasSubstr("application/json"));
  EXPECT_THAT(Text(result), StartsWith("HTTP 200"));
}

TEST_P(McpTest, MissingScopeIsAnErrorWithTheScopeAndTheConsentUrl) {
  SetUpWorld();
  json result = CallTool(
      "http_request", {{"connection", "work"}, {"method", "POST"}, {"path", "/write"}, {"body", {{"x", 1}}}});
  EXPECT_TRUE(result.value("isError", false)) << result;
  const json& problem = result["structuredContent"]["error"];
  EXPECT_EQ(problem["code"], "scope_insufficient");
  EXPECT_EQ(problem["required_scopes"], json::array({"api:write"}));
  // latchkey's consent page, where a signed-in human starts the consent; never the provider.
  EXPECT_THAT(problem["reconsent_url"].get<std::string>(), HasSubstr("/consent/"));
  EXPECT_THAT(problem["reconsent_url"].get<std::string>(), Not(HasSubstr(as_->base_url())));
  EXPECT_THAT(Text(result), StartsWith("latchkey error scope_insufficient"));
  EXPECT_THAT(Text(result), HasSubstr("NOT carried out"));
  EXPECT_THAT(Text(result), HasSubstr(problem["reconsent_url"].get<std::string>()));

  // request_access gives the link without pretending the access exists.
  json access = CallTool("request_access", {{"connection", "work"}, {"scopes", {"api:write"}}});
  EXPECT_FALSE(access.value("isError", false)) << access;
  EXPECT_EQ(access["structuredContent"]["granted"], false);
  EXPECT_EQ(access["structuredContent"]["missing_scopes"], json::array({"api:write"}));
  EXPECT_THAT(access["structuredContent"]["consent_url"].get<std::string>(), HasSubstr("/consent/"));
  EXPECT_THAT(Text(access), StartsWith("Access is NOT granted"));
}

TEST_P(McpTest, ConsentLinkIsElicitedInUrlModeWhenTheClientCanShowIt) {
  SetUpWorld();
  json result = CallTool("http_request", {{"connection", "work"}, {"method", "POST"}, {"path", "/write"}},
                         {{"elicitation", "accept"}});
  EXPECT_TRUE(result.value("isError", false));
  ASSERT_EQ(last_elicited_.size(), 1U) << result;
  EXPECT_EQ(last_elicited_[0]["mode"], "url");
  EXPECT_EQ(last_elicited_[0]["url"], result["structuredContent"]["error"]["reconsent_url"]);
  EXPECT_FALSE(last_elicited_[0]["elicitationId"].get<std::string>().empty());
  EXPECT_THAT(Text(result), HasSubstr("shown to the user"));
}

// An upstream that answers with a Latchkey-Error header and a problem body of its own,
// with a consent link of its choosing: that is the upstream's answer, not latchkey's
// problem, and its link is never put before the human as latchkey's request.
TEST_P(McpTest, AnUpstreamsForgedLatchkeyErrorStaysTheUpstreamsAnswer) {
  SetUpWorld();
  json result = CallTool("http_request", {{"connection", "work"}, {"method", "GET"}, {"path", "/__forged"}},
                         {{"elicitation", "accept"}});
  EXPECT_TRUE(result.value("isError", false)) << "a 403 is a refused call: " << result;
  EXPECT_EQ(result["structuredContent"]["status"], 403) << result;
  EXPECT_FALSE(result["structuredContent"].contains("error")) << result;
  EXPECT_FALSE(result["structuredContent"]["headers"].contains("latchkey-error")) << result;
  EXPECT_THAT(Text(result), Not(HasSubstr("latchkey error"))) << result;
  EXPECT_TRUE(last_elicited_.empty()) << last_elicited_;
}

TEST_P(McpTest, RevokedGrantIsReauthRequiredAndPolicyRefusesOthers) {
  SetUpWorld(/*revoke_gone=*/true);
  json revoked = CallTool("http_request", {{"connection", "gone"}, {"method", "GET"}, {"path", "/read"}});
  EXPECT_TRUE(revoked.value("isError", false)) << revoked;
  EXPECT_EQ(revoked["structuredContent"]["error"]["code"], "reauth_required");
  EXPECT_THAT(revoked["structuredContent"]["error"]["reconnect_url"].get<std::string>(),
              HasSubstr("/consent/"));
  EXPECT_THAT(Text(revoked), StartsWith("latchkey error reauth_required"));
  const json token_requests = Stats(*as_)["token_requests"];
  json again = CallTool("http_request", {{"connection", "gone"}, {"method", "GET"}, {"path", "/read"}});
  EXPECT_EQ(again["structuredContent"]["error"]["code"], "reauth_required");
  EXPECT_EQ(Stats(*as_)["token_requests"], token_requests) << "a terminal connection fails fast";

  for (const json& arguments : {json{{"connection", "other"}, {"method", "GET"}, {"path", "/read"}},
                                json{{"connection", "nope"}, {"method", "GET"}, {"path", "/read"}},
                                json{{"connection", "work"}, {"method", "DELETE"}, {"path", "/read"}}}) {
    json denied = CallTool("http_request", arguments);
    EXPECT_TRUE(denied.value("isError", false)) << arguments;
    EXPECT_EQ(denied["structuredContent"]["error"]["code"], "policy_denied") << arguments;
  }
  json bad = CallTool("http_request", {{"connection", "work"}, {"method", "GET"}, {"path", "/../admin"}});
  EXPECT_TRUE(bad.value("isError", false));
  EXPECT_EQ(bad["structuredContent"]["error"]["code"], "bad_request") << bad;
  json header = CallTool("http_request", {{"connection", "work"},
                                          {"method", "GET"},
                                          {"path", "/read"},
                                          {"headers", {{"X-Evil", "a\r\nInjected: yes"}}}});
  EXPECT_EQ(header["structuredContent"]["error"]["code"], "bad_request") << header;

  // No output of any client carried a token, a key or a secret.
  for (const std::string& secret : secrets_) {
    if (secret.size() >= 8) {
      EXPECT_THAT(outputs_, Not(HasSubstr(secret)));
    }
  }
}

TEST_P(McpTest, AWrongAgentKeyIsRefused) {
  SetUpWorld();
  json extra =
      stdio() ? json{{"env", {{"LATCHKEY_AGENT_KEY", "lk_bogus_key"}}}} : json{{"key", "lk_bogus_key"}};
  std::vector<json> lines = Client(json::array(), extra);
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(lines[0].contains("connect_error")) << lines[0];
  if (!stdio()) {
    RawReply reply =
        Call("POST", "/mcp", "", R"({"jsonrpc":"2.0","id":1,"method":"ping"})",
             {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}});
    EXPECT_EQ(reply.status, 401);
    EXPECT_THAT(reply.Header("www-authenticate"), StartsWith("Bearer"));
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, McpTest, ::testing::Values("stdio", "http"),
                         [](const auto& transport) { return transport.param; });

}  // namespace
}  // namespace latchkey::testing
