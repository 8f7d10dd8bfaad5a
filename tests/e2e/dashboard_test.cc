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
  std::string AdminToken() {
    std::smatch m;
    const std::string log = GatewayLog();
    static const std::regex token(R"(lka_[0-9a-f]{16}_[A-Za-z0-9_-]{43})");
    return std::regex_search(log, m, token) ? m.str() : "";
  }

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

TEST_F(DashboardTest, SignInWatchAConnectionTurnNeedsReauthLiveAndRefuseForgedChanges) {
  // 3-second tokens: the proactive refresher keeps refreshing, so a revoked grant is
  // noticed within seconds.
  StartOAuthServers(/*access_token_ttl=*/3);
  ImportGrant("work", "dashboard-user", /*expires_in=*/3);
  const std::string key = CreateAgent("bot", {"work"});
  StartGateway();
  const std::string admin = AdminToken();
  ASSERT_FALSE(admin.empty()) << GatewayLog();

  const std::string screenshots = std::string(LATCHKEY_ARTIFACTS_DIR) + "/dashboard";
  std::filesystem::remove_all(screenshots);
  std::vector<std::string> secrets = secrets_;
  secrets.push_back(admin);
  const json seen = Browse({{"base", "http://127.0.0.1:" + std::to_string(port_)},
                            {"admin_token", admin},
                            {"agent_key", key},
                            {"as_url", as_->base_url()},
                            {"user", "dashboard-user"},
                            {"secrets", secrets},
                            {"screenshots", screenshots}});
  const json& steps = seen["steps"];
  ASSERT_FALSE(steps.contains("error")) << steps["error"] << "\n" << GatewayLog();

  EXPECT_EQ(steps["wrong_token_refused"], true);
  EXPECT_EQ(steps["active_after_sign_in"], true);
  EXPECT_EQ(steps["cookie"], json({{"httpOnly", true}, {"sameSite", "Strict"}}));
  EXPECT_EQ(steps["request_failed"], json({{"status", 401}, {"code", "reauth_required"}}));
  EXPECT_EQ(steps["needs_reauth_without_reload"], true);
  const json& csrf = steps["csrf"];
  EXPECT_EQ(csrf["no_token"], 403);
  EXPECT_EQ(csrf["wrong_token"], 403);
  EXPECT_EQ(csrf["no_session"], 401);
  EXPECT_EQ(csrf["session_without_token"], 403);
  EXPECT_EQ(csrf["foreign_origin"], 403);
  ASSERT_EQ(csrf["agents_after"].size(), 1u) << csrf.dump();
  EXPECT_TRUE(csrf["agents_after"][0]["revoked_at"].is_null()) << "a refused change changed nothing";
  EXPECT_EQ(steps["signed_out"], true);

  EXPECT_EQ(seen["leaks"], json::array()) << "no token, key or admin token in anything served";
  EXPECT_EQ(seen["console_errors"], json::array()) << "the page ran without errors, within its CSP";
  for (const char* name : {"01-sign-in", "02-connections-active", "03-connections-needs-reauth"}) {
    EXPECT_TRUE(std::filesystem::exists(screenshots + "/" + name + ".png")) << name;
  }
}

}  // namespace
}  // namespace latchkey::testing
