// The admin API (/v1) and the daemon's /oauth/callback end to end: the admin token shown
// once on first run, listings without secrets, agents created over HTTP, a connection
// started through the API and finished in a browser at the daemon.
#include <regex>

#include "e2e/gateway_fixture.h"

namespace latchkey::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class AdminApiTest : public GatewayTest {};

TEST_F(AdminApiTest, TokenIsShownOnceAndGuardsEveryRoute) {
  StartOAuthServers();
  const json tokens = ImportGrant("work", "ops");
  StartGateway();
  const std::string admin = AdminToken();
  ASSERT_THAT(admin, ::testing::MatchesRegex("lka_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")) << GatewayLog();
  // In a file only the daemon's user reads, never in its output (here not a terminal: a
  // service's stdout is the journal); the log says where it is.
  const std::string file = data_dir() + "/admin-token";
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(GatewayLog().find(admin), std::string::npos) << GatewayLog();
  EXPECT_NE(GatewayLog().find("the first admin token for the /v1 API and the dashboard is in " + file),
            std::string::npos)
      << GatewayLog();

  for (const std::string& bad : {std::string(), std::string("lka_nope"), admin + "x"}) {
    RawReply denied = Admin("GET", "/v1/connections", bad);
    EXPECT_EQ(denied.status, 401) << bad;
    EXPECT_EQ(denied.Header("latchkey-error"), "admin_unauthenticated");
  }
  RawReply agent_key_as_admin = Admin("GET", "/v1/connections", CreateAgent("bot", {"work"}));
  EXPECT_EQ(agent_key_as_admin.status, 401);

  RawReply list = Admin("GET", "/v1/connections", admin);
  ASSERT_EQ(list.status, 200) << list.raw;
  ASSERT_EQ(list.Json().size(), 1u);
  EXPECT_EQ(list.Json()[0]["name"], "work");
  EXPECT_EQ(list.Json()[0]["status"], "active");
  EXPECT_EQ(list.raw.find(tokens["access_token"].get<std::string>()), std::string::npos);
  EXPECT_EQ(list.raw.find(tokens["refresh_token"].get<std::string>()), std::string::npos);
  EXPECT_EQ(Admin("GET", "/v1/connections/work", admin).Json()["provider"], "acme");
  EXPECT_EQ(Admin("GET", "/v1/connections/ghost", admin).status, 404);
  EXPECT_EQ(Admin("GET", "/v1/providers/acme", admin).Json()["client_secret"], "(stored encrypted)");

  // A restart does not make a new token (the operator took the file away); the old one
  // still works.
  EXPECT_EQ(gateway_->Stop(SIGTERM), 0);
  std::filesystem::remove(file);
  port_ = 0;
  StartGateway();
  EXPECT_EQ(AdminToken(), "") << "shown once";
  EXPECT_EQ(GatewayLog().find("first admin token"), std::string::npos);
  EXPECT_EQ(Admin("GET", "/v1/agents", admin).status, 200);
  // `latchkey admin-token create` makes another.
  std::string second = MustRun({"admin-token", "create"});
  second.pop_back();
  EXPECT_EQ(Admin("GET", "/v1/agents", second).status, 200);
}

TEST_F(AdminApiTest, AgentsAuditAndAlertsOverHttp) {
  StartOAuthServers();
  ImportGrant("work", "ops2");
  StartGateway();
  const std::string admin = AdminToken();

  RawReply created = Admin("POST", "/v1/agents", admin, R"({"name":"crawler","allow":["work:GET:/read"]})");
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string key = created.Json()["key"];
  EXPECT_THAT(key, StartsWith("lk_"));
  EXPECT_EQ(Admin("POST", "/v1/agents", admin, R"({"name":"bad","allow":["work:FETCH"]})").status, 400);
  EXPECT_EQ(Admin("POST", "/v1/agents", admin, R"(not json)").status, 400);

  EXPECT_EQ(Call("GET", "/proxy/work/read", key).status, 200);
  EXPECT_EQ(Call("GET", "/proxy/work/write", key).status, 403);
  json audit;
  for (int i = 0; i < 50; ++i) {  // rows are written in batches
    audit = Admin("GET", "/v1/audit?agent=crawler", admin).Json();
    if (audit.size() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(audit.size(), 2u) << audit.dump();
  EXPECT_EQ(audit[0]["code"], "policy_denied");
  EXPECT_EQ(audit[1]["upstream_status"], 200);
  EXPECT_EQ(Admin("GET", "/v1/audit?code=policy_denied&limit=5", admin).Json().size(), 1u);
  EXPECT_EQ(Admin("GET", "/v1/audit?limit=x", admin).status, 400);
  EXPECT_EQ(Admin("GET", "/v1/alerts", admin).Json(), json::array());

  EXPECT_EQ(Admin("DELETE", "/v1/agents/crawler", admin).status, 200);
  EXPECT_EQ(Call("GET", "/proxy/work/read", key).status, 401);

  // The CLI reads the same rows.
  // The CLI reads the same rows; the call with the revoked key is audited without an agent.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  json rows = json::parse(MustRun({"--json", "audit", "--agent", "crawler"}));
  EXPECT_EQ(rows.size(), 2u);
  json refused = json::parse(MustRun({"--json", "audit", "--code", "agent_unauthenticated"}));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]["agent"], "");
  EXPECT_EQ(refused[0]["connection"], "work");
}

// The daemon caches what it read about an agent key for a second, and past that serves
// the entry while it reads it again in the background; a key revoked by another process
// (here the CLI) must still stop working within two cache lifetimes, under steady load.
TEST_F(AdminApiTest, AKeyRevokedByAnotherProcessStopsWorkingSoonUnderLoad) {
  StartOAuthServers();
  ImportGrant("work", "acme");
  const std::string key = CreateAgent("busy", {"work:GET"});
  StartGateway();
  ASSERT_EQ(Call("GET", "/proxy/work/read", key).status, 200) << GatewayLog();
  // Keep the key busy past a cache lifetime, so its entry goes stale under use.
  const auto warm_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < warm_until) {
    ASSERT_EQ(Call("GET", "/proxy/work/read", key).status, 200);
  }
  MustRun({"agent", "revoke", "busy"});
  const auto revoked_at = std::chrono::steady_clock::now();
  int status = 200;
  while (status == 200 && std::chrono::steady_clock::now() - revoked_at < std::chrono::seconds(10)) {
    status = Call("GET", "/proxy/work/read", key).status;
  }
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - revoked_at);
  EXPECT_EQ(status, 401) << "the revoked key still works after " << took.count() << " ms";
  // Two lifetimes (2 s) plus a store read; the bound leaves room for a loaded machine.
  EXPECT_LT(took, std::chrono::seconds(4));
  EXPECT_EQ(Call("GET", "/proxy/work/read", key).status, 401) << "and stays refused";
}

TEST_F(AdminApiTest, ConnectStartedOverTheApiFinishesAtTheDaemonsCallback) {
  StartOAuthServers();
  MustRun({"provider", "add", "--file", "-"},
          "name = \"native\"\nauth = \"oauth2\"\nauthorization_url = \"" + as_->base_url() +
              "/auth\"\ntoken_url = \"" + as_->base_url() +
              "/token\"\nclient_id = \"agent-native\"\nclient_secret = \"native-secret\"\n"
              "scopes = [\"openid\", \"offline_access\", \"api:read\"]\napi_base_url = \"" +
              rs_->base_url() + "\"\n");
  StartGateway();
  const std::string admin = AdminToken();

  RawReply started = Admin("POST", "/v1/connections/team/connect", admin, R"({"provider":"native"})");
  ASSERT_EQ(started.status, 201) << started.raw;
  const std::string url = started.Json()["consent_url"];
  EXPECT_THAT(url, StartsWith("http://127.0.0.1:" + std::to_string(port_) + "/consent/"));
  EXPECT_EQ(started.Json()["redirect_uri"], "http://127.0.0.1:" + std::to_string(port_) + "/oauth/callback");

  TempDir browser;
  HttpResponse page = CompleteConsent(url, browser, "team-user");
  EXPECT_EQ(page.status, 200) << page.body << page.error;
  EXPECT_THAT(page.body, HasSubstr("connected &#39;team&#39;"));
  json connection = Admin("GET", "/v1/connections/team", admin).Json();
  EXPECT_EQ(connection["status"], "active") << connection.dump();
  const std::string key = CreateAgent("bot", {"team"});
  RawReply read = Call("GET", "/proxy/team/read", key);
  EXPECT_EQ(read.status, 200) << read.raw;
  EXPECT_EQ(read.Json()["sub"], "team-user");

  // A callback with a state latchkey did not issue stores nothing.
  HttpResponse forged =
      HttpGet("http://127.0.0.1:" + std::to_string(port_) + "/oauth/callback?state=forged&code=x", {});
  EXPECT_EQ(forged.status, 400) << forged.body;

  RawReply removed = Admin("DELETE", "/v1/connections/team", admin);
  EXPECT_EQ(removed.status, 200) << removed.raw;
  EXPECT_THAT(removed.Json()["revocation"].get<std::string>(), HasSubstr("revoked"));
  EXPECT_EQ(Call("GET", "/proxy/team/read", key).status, 403);
}

}  // namespace
}  // namespace latchkey::testing
