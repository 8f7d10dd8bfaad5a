// The dashboard (issue 7) in a real browser: Debian's chromium, headless, driven by
// playwright-core (tests/fixtures/web/dashboard.mjs), against `latchkey serve` and the
// test authorization and resource servers. Screenshots go to build/artifacts/dashboard/.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "e2e/gateway_fixture.h"

namespace latchkey::testing {
namespace {

using json = nlohmann::json;

const std::string kFixtures = std::string(LATCHKEY_SOURCE_DIR) + "/tests/fixtures/web";

class DashboardTest : public GatewayTest {
 protected:
  // Runs the browser script; its one JSON line.
  json Browse(const json& config) {
    RunOptions options;
    options.unset_env = {"LATCHKEY_MASTER_KEY", "LATCHKEY_DATA_DIR"};
    RunResult run = ::latchkey::testing::Run(
        {"/usr/bin/env", "node", kFixtures + "/dashboard.mjs", config.dump()}, options);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    try {
      return json::parse(run.out);
    } catch (const json::exception&) {
      ADD_FAILURE() << "no JSON from the browser script:\n" << run.out << "\n" << run.err;
      return json::object();
    }
  }
};

TEST_F(DashboardTest, ConnectWatchRepairAgentsAuditAndRefusedForgeries) {
  // 3-second tokens: the proactive refresher keeps refreshing, so a revoked grant is
  // noticed within seconds. "native" is a client the test server lets redirect to any
  // loopback port, so consent can come back to this daemon's /oauth/callback.
  StartOAuthServers(/*access_token_ttl=*/3);
  // Both providers revoke at the server on disconnect; "native" asks for consent (the
  // test server grants a refresh token, offline_access, only with prompt=consent).
  auto provider = [&](const std::string& name, const std::string& client, const std::string& secret,
                      const std::string& extra) {
    MustRun({"provider", "add", "--file", "-"},
            "name = \"" + name + "\"\nauth = \"oauth2\"\nauthorization_url = \"" + as_->base_url() +
                "/auth\"\ntoken_url = \"" + as_->base_url() + "/token\"\nrevocation_url = \"" +
                as_->base_url() + "/token/revocation\"\nclient_id = \"" + client + "\"\nclient_secret = \"" +
                secret + "\"\nscopes = [\"openid\", \"offline_access\", \"api:read\"]\napi_base_url = \"" +
                rs_->base_url() + "\"\n" + extra);
  };
  provider("acme", "agent-client", "agent-secret", "refresh_token_idle_lifetime = \"90d\"\n");
  provider("native", "agent-native", "native-secret",
           "display_name = \"Native test provider\"\n[authorization_params]\nprompt = \"consent\"\n");
  ImportGrant("legacy", "legacy-user");
  // A connection without a person: its token expires too, and the page says when.
  MustRun({"connect", "acme", "--name", "robot", "--client-credentials", "--scope", "api:read"});
  const std::string key = CreateAgent("bot", {"work"});
  StartGateway();
  const std::string admin = AdminToken();
  ASSERT_FALSE(admin.empty()) << GatewayLog();

  const std::string screenshots = std::string(LATCHKEY_ARTIFACTS_DIR) + "/dashboard";
  const std::string bodies = std::string(LATCHKEY_ARTIFACTS_DIR) + "/dashboard-bodies.json";
  std::filesystem::remove_all(screenshots);
  std::vector<std::string> secrets = secrets_;
  secrets.push_back(admin);
  const json seen = Browse({{"base", "http://127.0.0.1:" + std::to_string(port_)},
                            {"admin_token", admin},
                            {"agent_key", key},
                            {"as_url", as_->base_url()},
                            {"user", "agent-user"},
                            {"provider", "native"},
                            {"secrets", secrets},
                            {"screenshots", screenshots},
                            {"bodies", bodies}});
  const json& steps = seen["steps"];
  ASSERT_FALSE(steps.contains("error")) << steps["error"] << "\n" << GatewayLog();

  EXPECT_EQ(steps["wrong_token_refused"], true);
  EXPECT_EQ(steps["active_after_sign_in"], true);
  EXPECT_EQ(steps["cookie"], json({{"httpOnly", true}, {"sameSite", "Strict"}}));
  EXPECT_THAT(steps["robot_expires"].dump(), ::testing::ContainsRegex("[0-9]+ (s|min)"))
      << "a client-credentials token's expiry is shown, not a dash";
  EXPECT_EQ(steps["reconsent_by"], json({{"legacy", "in 90 d"}, {"robot", "—"}}))
      << "the forecast by acme's 90 idle days; none for a grant without a refresh token";
  EXPECT_EQ(steps["request_failed"], json({{"status", 401}, {"code", "reauth_required"}}));
  EXPECT_EQ(steps["needs_reauth_without_reload"], true);
  EXPECT_EQ(steps["connect_callback"], "Connected");
  EXPECT_EQ(steps["connected_active"], true);
  EXPECT_EQ(steps["reconnect_callback"], "Connected");
  EXPECT_EQ(steps["reconnected_active"], true);
  EXPECT_EQ(steps["agent_rules"], json({"work:GET:/read", "legacy"}));
  EXPECT_EQ(steps["copy_button"], true);
  EXPECT_EQ(steps["agent_key"],
            json({{"before_revoke", 200}, {"after_revoke", 401}, {"shown_after_reload", false}}));
  const json& audit = steps["audit"];
  EXPECT_GE(audit["by_agent"].get<int>(), 1) << audit.dump();
  EXPECT_EQ(audit["agents"], json({"bot"})) << audit.dump();
  EXPECT_GE(audit["by_connection"].get<int>(), 1) << audit.dump();
  EXPECT_EQ(audit["connections"], json({"legacy"})) << audit.dump();
  EXPECT_GE(audit["by_code"].get<int>(), 1) << audit.dump();
  EXPECT_EQ(audit["codes"], json({"reauth_required"})) << audit.dump();
  EXPECT_THAT(steps["alerts"].dump(), ::testing::HasSubstr("connection.needs_reauth"));
  EXPECT_THAT(steps["disconnected"].dump(), ::testing::HasSubstr("Disconnected 'legacy'"));
  EXPECT_EQ(steps["provider_added"], "api_key");
  EXPECT_THAT(MustRun({"provider", "show", "notes-api"}), ::testing::HasSubstr("notes.example.test"));
  EXPECT_GE(Stats(*as_)["revocations"].get<int>(), 1) << "disconnect revoked the grant at the provider";
  const json& csrf = steps["csrf"];
  EXPECT_EQ(csrf["no_token"], 403);
  EXPECT_EQ(csrf["wrong_token"], 403);
  EXPECT_EQ(csrf["no_session"], 401);
  EXPECT_EQ(csrf["session_without_token"], 403);
  EXPECT_EQ(csrf["foreign_origin"], 403);
  bool bot_intact = false;
  for (const json& agent : csrf["agents_after"])
    bot_intact |= agent["name"] == "bot" && agent["revoked_at"].is_null();
  EXPECT_TRUE(bot_intact) << "a refused change changed nothing: " << csrf.dump();
  EXPECT_EQ(steps["signed_out"], true);

  EXPECT_EQ(seen["leaks"], json::array()) << "no token, key or admin token in anything served";
  // The tokens of the connection made in the browser, learned only now, are in nothing
  // the browser was sent either (the new agent's key is, once, by design: not scanned).
  const std::string served = ReadFile(bodies);
  ASSERT_FALSE(served.empty());
  const std::string access_token = MustRun({"token", "work"});
  ASSERT_GT(access_token.size(), 20u);
  EXPECT_EQ(served.find(access_token.substr(0, access_token.size() - 1)), std::string::npos);
  EXPECT_EQ(seen["console_errors"], json::array()) << "the page ran without errors, within its CSP";
  for (const char* name :
       {"01-sign-in", "02-connect", "03-connections-active", "04-connections-needs-reauth",
        "05-connections-reconnected", "06-agents-key-shown-once", "07-audit", "08-alerts", "09-providers"}) {
    EXPECT_TRUE(std::filesystem::exists(screenshots + "/" + name + ".png")) << name;
  }
}

}  // namespace
}  // namespace latchkey::testing
