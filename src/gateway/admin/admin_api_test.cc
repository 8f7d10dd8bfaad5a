// AdminApi on a real vault (SQLite in a temporary dir), called as the gateway calls it:
// who may call is decided first, and a refused call changes nothing; agents are made,
// listed and revoked with the key shown once; bad input gets a problem and changes
// nothing; every change (and only a change) tells the gateway to drop its caches. What
// humans allowed MCP clients is listed with the names the clients chose, and revoked.
#include "gateway/admin/admin_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/random.h"
#include "gateway/admin/dashboard.h"
#include "oauth/fake_http_client.h"
#include "vault/oauth_clients.h"
#include "vault/vault_test_support.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

class AdminApiTest : public vault::VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    clients_ = std::make_unique<vault::OAuthClients>(vault_->providers(), http_, clock_);
    coordinator_ =
        std::make_unique<vault::RefreshCoordinator>(*vault_, *clients_, clock_, SystemRandom::Instance());
    links_ = std::make_unique<ConsentLinks>(vault_->keys(), clock_, "https://gw.example");
    api_ = std::make_unique<AdminApi>(AdminApi::Parts{
        .vault = *vault_,
        .coordinator = *coordinator_,
        .links = *links_,
        .clients = *clients_,
        .on_change = [this] { ++changes_; },
        .authorize = [this](const Request& request) { return gate_ ? gate_(request) : authorized_; },
        .clock = &clock_,
    });
  }

  Response Call(http::verb method, std::string_view target, std::string body = "") {
    Request request(method, target, 11);
    request.body() = std::move(body);
    request.prepare_payload();
    return api_->Handle(request);
  }
  static json Json(const Response& response) { return json::parse(response.body()); }
  size_t AgentCount() { return vault_->agents().List()->size(); }

  // A human let `client_id` act as `agent` (made here when new), with a token issued under it.
  void GiveConsent(const std::string& client_id, const std::string& agent, std::string client_name) {
    if (!vault_->agents().Find(agent).ok()) {
      ASSERT_TRUE(vault_->agents().Create(agent, {"work"}).ok());
    }
    if (!client_name.empty()) {
      store::McpClientRecord client;
      client.client_id = client_id;
      client.metadata_document = client_id.starts_with("https://");
      client.name = std::move(client_name);
      client.redirect_uris = {"http://127.0.0.1/callback"};
      client.token_endpoint_auth_method = "none";
      client.created_at = client.updated_at = clock_.Now();
      ASSERT_TRUE(vault_->store().UpsertMcpClient(client).ok());
    }
    ASSERT_TRUE(vault_->store()
                    .UpsertMcpConsent({.client_id = client_id,
                                       .agent = agent,
                                       .scopes = {"mcp"},
                                       .created_at = clock_.Now(),
                                       .revoked_at = std::nullopt})
                    .ok());
    store::McpTokenRecord token;
    token.token_hash = TokenHash(client_id + "|" + agent + "|" + std::to_string(++tokens_));
    token.kind = store::McpTokenKind::kAccess;
    token.family_id = "family-" + client_id + "-" + agent;
    token.client_id = client_id;
    token.agent = agent;
    token.resource = "https://gw.example/mcp";
    token.scopes = {"mcp"};
    token.created_at = clock_.Now();
    token.expires_at = clock_.Now() + std::chrono::hours(1);
    ASSERT_TRUE(vault_->store().InsertMcpToken(token).ok());
  }
  static Bytes TokenHash(std::string_view text) { return {text.begin(), text.end()}; }
  std::optional<store::McpConsentRecord> ConsentOf(std::string_view client_id, std::string_view agent) {
    auto consents = vault_->store().ListMcpConsents();  // kept: `*temporary` would dangle in the loop
    EXPECT_TRUE(consents.ok()) << consents.status().ToString();
    if (!consents.ok()) return std::nullopt;
    for (const auto& c : *consents) {
      if (c.client_id == client_id && c.agent == agent) return c;
    }
    return std::nullopt;
  }
  Response Revoke(const std::string& client_id, const std::string& agent) {
    return Call(http::verb::post, "/v1/mcp-consents/revoke",
                json{{"client_id", client_id}, {"agent", agent}}.dump());
  }

  oauth::FakeHttpClient http_;
  std::unique_ptr<vault::OAuthClients> clients_;
  std::unique_ptr<vault::RefreshCoordinator> coordinator_;
  std::unique_ptr<ConsentLinks> links_;
  std::unique_ptr<AdminApi> api_;
  Status authorized_ = Status::Ok();
  std::function<Status(const Request&)> gate_;  // when set, decides instead of authorized_
  int tokens_ = 0;
  int changes_ = 0;
};

TEST_F(AdminApiTest, AnAgentIsMadeWithItsKeyShownOnceListedAndRevoked) {
  Response created = Call(http::verb::post, "/v1/agents", R"({"name":"bot","allow":["work:GET:/v1/**"]})");
  ASSERT_EQ(created.result(), http::status::created) << created.body();
  const json made = Json(created);
  ASSERT_TRUE(made.contains("key"));
  const std::string key = made["key"];
  EXPECT_TRUE(vault_->agents().Authenticate(key).ok()) << "the key shown is the agent's";
  EXPECT_EQ(changes_, 1);

  Response listed = Call(http::verb::get, "/v1/agents");
  ASSERT_EQ(listed.result(), http::status::ok);
  const json agents = Json(listed);
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0]["name"], "bot");
  EXPECT_EQ(listed.body().find(key), std::string::npos) << "the key is shown once, at creation";
  EXPECT_EQ(changes_, 1) << "a read changes nothing";

  EXPECT_EQ(Call(http::verb::delete_, "/v1/agents/bot").result(), http::status::ok);
  EXPECT_FALSE(vault_->agents().Authenticate(key).ok());
  EXPECT_EQ(changes_, 2);
  EXPECT_EQ(Call(http::verb::delete_, "/v1/agents/ghost").result(), http::status::not_found);
  EXPECT_EQ(changes_, 2) << "a refused change tells no one";
}

TEST_F(AdminApiTest, ACallerTheGateRefusesChangesNothing) {
  authorized_ = UnauthenticatedError("no admin token");
  Response refused = Call(http::verb::post, "/v1/agents", R"({"name":"bot","allow":["work"]})");
  EXPECT_EQ(refused.result(), http::status::unauthorized);
  EXPECT_EQ(refused.Field(http::field::www_authenticate), "Bearer realm=\"latchkey\"");
  EXPECT_EQ(Json(refused)["code"], "admin_unauthenticated");
  authorized_ = PermissionDeniedError("a read-only token");
  EXPECT_EQ(Call(http::verb::post, "/v1/agents", R"({"name":"bot","allow":["work"]})").result(),
            http::status::forbidden);
  EXPECT_EQ(Call(http::verb::get, "/v1/agents").result(), http::status::forbidden);
  EXPECT_EQ(AgentCount(), 0u);
  EXPECT_EQ(changes_, 0);
}

TEST_F(AdminApiTest, BadInputIsAProblemAndChangesNothing) {
  for (const char* body : {"", "not json", "[1,2]", R"({"name":"bot","allow":"work"})",
                           R"({"name":"bot","allow":[1]})", R"({"name":"Bad Name!","allow":["work"]})"}) {
    Response refused = Call(http::verb::post, "/v1/agents", body);
    EXPECT_EQ(refused.result(), http::status::bad_request) << body << " -> " << refused.body();
    EXPECT_EQ(refused.Field(http::field::content_type), "application/problem+json") << body;
    EXPECT_NE(Json(refused)["detail"].get<std::string>().find("NOT carried out"), std::string::npos);
  }
  for (const char* target :
       {"/v1/audit?after_id=12abc", "/v1/audit?limit=10x", "/v1/audit?after_id=", "/v1/alerts?limit=many",
        "/v1/audit?%zz=1", "/v1/audit?limit=0", "/v1/audit?limit=5000", "/v1/alerts?limit=-1"}) {
    EXPECT_EQ(Call(http::verb::get, target).result(), http::status::bad_request) << target;
  }
  EXPECT_EQ(AgentCount(), 0u);
  EXPECT_EQ(changes_, 0);
}

TEST_F(AdminApiTest, UnknownThingsAreNotFound) {
  EXPECT_EQ(Call(http::verb::get, "/v1/connections/nope").result(), http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "/v1/providers/nope").result(), http::status::not_found);
  EXPECT_EQ(Call(http::verb::delete_, "/v1/connections/nope").result(), http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "/v1/nothing").result(), http::status::not_found);
  EXPECT_EQ(Call(http::verb::put, "/v1/agents").result(), http::status::not_found);
  EXPECT_EQ(changes_, 0);
}

TEST_F(AdminApiTest, AConnectLinkIsLatchkeysConsentPageNotTheProvidersUrl) {
  Response linked = Call(http::verb::post, "/v1/connections/work/connect", R"({"provider":"github"})");
  ASSERT_EQ(linked.result(), http::status::created) << linked.body();
  const json link = Json(linked);
  EXPECT_EQ(link["connection"], "work");
  EXPECT_EQ(link["consent_url"].get<std::string>().rfind("https://gw.example/consent/", 0), 0u) << link;
  EXPECT_EQ(link["redirect_uri"], "https://gw.example/oauth/callback");
  EXPECT_EQ(Call(http::verb::post, "/v1/connections/other/connect", "{}").result(), http::status::bad_request)
      << "a new connection names its provider";
}

constexpr const char* kDocumentClient = "https://client.example/oauth/client.json";

TEST_F(AdminApiTest, AuditRowsNameTheMcpClientACallCameThroughAndAreFilteredByIt) {
  store::AuditRecord row;
  row.at = clock_.Now();
  row.agent = "bot";
  row.connection = "work";
  row.method = "GET";
  row.path = "/v1/me";
  row.upstream_status = 200;
  ASSERT_TRUE(vault_->store().AppendAudit(row).ok());  // with the agent's own key
  row.client = kDocumentClient;
  ASSERT_TRUE(vault_->store().AppendAudit(row).ok());

  Response all = Call(http::verb::get, "/v1/audit");
  ASSERT_EQ(all.result(), http::status::ok) << all.body();
  const json rows = Json(all);
  ASSERT_EQ(rows.size(), 2u) << rows;
  EXPECT_EQ(rows[0]["client"], kDocumentClient);
  EXPECT_EQ(rows[0]["agent"], "bot");
  EXPECT_EQ(rows[1]["client"], "");

  Response through =
      Call(http::verb::get, "/v1/audit?client=https%3A%2F%2Fclient.example%2Foauth%2Fclient.json");
  ASSERT_EQ(through.result(), http::status::ok) << through.body();
  ASSERT_EQ(Json(through).size(), 1u) << through.body();
  EXPECT_EQ(Json(through)[0]["id"], rows[0]["id"]);
  EXPECT_EQ(changes_, 0) << "a read changes nothing";
}

TEST_F(AdminApiTest, McpConsentsAreListedStandingFirstWithTheNamesTheirClientsChose) {
  GiveConsent(kDocumentClient, "bot", "<img src=x onerror=alert(1)> Claude Code");
  GiveConsent("lkc_registered", "bot", "Registered Tool");
  GiveConsent("lkc_forgotten", "alpha", "");  // no client row: the name is unknown
  ASSERT_TRUE(vault_->store().RevokeMcpConsent("lkc_registered", "bot", clock_.Now()).ok());

  Response listed = Call(http::verb::get, "/v1/mcp-consents");
  ASSERT_EQ(listed.result(), http::status::ok) << listed.body();
  const json consents = Json(listed)["consents"];
  ASSERT_EQ(consents.size(), 3u) << consents;
  EXPECT_EQ(consents[0]["client_id"], "lkc_forgotten") << "standing ones by agent, then client";
  EXPECT_EQ(consents[0]["client_name"], "");
  EXPECT_EQ(consents[0]["client_kind"], "registered");
  EXPECT_EQ(consents[0]["agent"], "alpha");
  EXPECT_EQ(consents[1]["client_id"], kDocumentClient);
  EXPECT_EQ(consents[1]["client_name"], "<img src=x onerror=alert(1)> Claude Code")
      << "as the client states it";
  EXPECT_EQ(consents[1]["client_kind"], "metadata_document");
  EXPECT_EQ(consents[1]["agent"], "bot");
  EXPECT_EQ(consents[1]["scopes"], json::array({"mcp"}));
  EXPECT_EQ(consents[1]["created_at"], FormatRfc3339(clock_.Now()));
  EXPECT_TRUE(consents[1]["revoked_at"].is_null());
  EXPECT_EQ(consents[2]["client_id"], "lkc_registered") << "the revoked one last";
  EXPECT_EQ(consents[2]["client_name"], "Registered Tool");
  EXPECT_EQ(consents[2]["revoked_at"], FormatRfc3339(clock_.Now()));
  EXPECT_EQ(changes_, 0) << "a read changes nothing";
}

TEST_F(AdminApiTest, RevokingAnMcpConsentEndsItAndEveryTokenIssuedUnderIt) {
  GiveConsent(kDocumentClient, "bot", "Claude Code");
  GiveConsent(kDocumentClient, "other", "Claude Code");
  clock_.Advance(std::chrono::minutes(5));

  Response revoked = Revoke(kDocumentClient, "bot");
  ASSERT_EQ(revoked.result(), http::status::ok) << revoked.body();
  EXPECT_EQ(Json(revoked)["revoked"], true);
  EXPECT_EQ(changes_, 1) << "the gateway drops its caches";
  EXPECT_EQ(ConsentOf(kDocumentClient, "bot")->revoked_at, clock_.Now());
  EXPECT_EQ(vault_->store().GetMcpToken(TokenHash(std::string(kDocumentClient) + "|bot|1"))->revoked_at,
            clock_.Now());
  EXPECT_FALSE(ConsentOf(kDocumentClient, "other")->revoked_at) << "only the one named";
  const json listed = Json(Call(http::verb::get, "/v1/mcp-consents"))["consents"];
  EXPECT_EQ(listed[1]["agent"], "bot");
  EXPECT_EQ(listed[1]["revoked_at"], FormatRfc3339(clock_.Now()));

  Response again = Revoke(kDocumentClient, "bot");
  EXPECT_EQ(again.result(), http::status::not_found) << again.body();
  EXPECT_EQ(again.Field(http::field::content_type), "application/problem+json");
  EXPECT_EQ(Revoke("lkc_never", "bot").result(), http::status::not_found);
  EXPECT_EQ(Revoke(kDocumentClient, "ghost").result(), http::status::not_found);
  EXPECT_EQ(changes_, 1) << "a refused change tells no one";
}

TEST_F(AdminApiTest, AMalformedMcpRevocationIsAProblemAndRevokesNothing) {
  GiveConsent(kDocumentClient, "bot", "Claude Code");
  for (const char* body :
       {"", "not json", "[]", R"({"agent":"bot"})",
        R"({"client_id":"https://client.example/oauth/client.json"})", R"({"client_id":1,"agent":"bot"})",
        R"({"client_id":"https://client.example/oauth/client.json","agent":""})",
        R"({"client_id":["https://client.example/oauth/client.json"],"agent":"bot"})"}) {
    Response refused = Call(http::verb::post, "/v1/mcp-consents/revoke", body);
    EXPECT_EQ(refused.result(), http::status::bad_request) << body << " -> " << refused.body();
    EXPECT_EQ(refused.Field(http::field::content_type), "application/problem+json") << body;
  }
  EXPECT_EQ(Call(http::verb::get, "/v1/mcp-consents/revoke").result(), http::status::not_found);
  EXPECT_EQ(Call(http::verb::delete_, "/v1/mcp-consents").result(), http::status::not_found);
  EXPECT_FALSE(ConsentOf(kDocumentClient, "bot")->revoked_at);
  EXPECT_EQ(changes_, 0);
}

// The real gate (Dashboard::AuthorizeAdmin), as the gateway wires it: an admin token, or a
// dashboard session whose changes carry its CSRF token.
TEST_F(AdminApiTest, McpConsentRoutesTakeAnAdminTokenOrASessionWithItsCsrfToken) {
  GiveConsent(kDocumentClient, "bot", "Claude Code");
  Dashboard dashboard(*vault_, clock_, "http://127.0.0.1:8787");
  gate_ = [&dashboard](const Request& request) { return dashboard.AuthorizeAdmin(request); };
  auto send = [&](http::verb method, std::string_view target, const std::string& cookie,
                  const std::string& csrf, const std::string& bearer) {
    Request request(method, target, 11);
    request.set(http::field::host, "127.0.0.1:8787");
    if (!cookie.empty()) request.set(http::field::cookie, cookie);
    if (!csrf.empty()) request.set("X-CSRF-Token", csrf);
    if (!bearer.empty()) request.set(http::field::authorization, "Bearer " + bearer);
    if (method == http::verb::post) {
      request.body() = json{{"client_id", kDocumentClient}, {"agent", "bot"}}.dump();
    }
    request.prepare_payload();
    return api_->Handle(request);
  };
  const std::string revoke = "/v1/mcp-consents/revoke";

  Response anonymous = send(http::verb::get, "/v1/mcp-consents", "", "", "");
  EXPECT_EQ(anonymous.result(), http::status::unauthorized);
  EXPECT_EQ(Json(anonymous)["code"], "admin_unauthenticated");
  EXPECT_EQ(send(http::verb::post, revoke, "", "", "").result(), http::status::unauthorized);
  EXPECT_EQ(send(http::verb::post, revoke, "", "", "lka_not.a-token").result(), http::status::unauthorized);

  auto token = vault_->admin_tokens().Create();
  ASSERT_TRUE(token.ok());
  Request login(http::verb::post, "/login", 11);
  login.set(http::field::host, "127.0.0.1:8787");
  login.body() = "token=" + std::string(token->reveal());
  login.prepare_payload();
  std::string cookie(dashboard.Handle(login).Field(http::field::set_cookie));
  cookie = cookie.substr(0, cookie.find(';'));
  ASSERT_FALSE(cookie.empty());
  Request session(http::verb::get, "/ui/session", 11);
  session.set(http::field::cookie, cookie);
  const std::string csrf = json::parse(dashboard.Handle(session).body()).value("csrf", "");
  ASSERT_FALSE(csrf.empty());

  EXPECT_EQ(send(http::verb::get, "/v1/mcp-consents", cookie, "", "").result(), http::status::ok)
      << "a session reads without its CSRF token";
  EXPECT_EQ(send(http::verb::post, revoke, cookie, "", "").result(), http::status::forbidden);
  EXPECT_EQ(send(http::verb::post, revoke, cookie, std::string(64, '0'), "").result(),
            http::status::forbidden);
  EXPECT_FALSE(ConsentOf(kDocumentClient, "bot")->revoked_at) << "a refused caller revokes nothing";
  EXPECT_EQ(changes_, 0);

  EXPECT_EQ(send(http::verb::post, revoke, cookie, csrf, "").result(), http::status::ok);
  EXPECT_TRUE(ConsentOf(kDocumentClient, "bot")->revoked_at);
  GiveConsent(kDocumentClient, "bot", "Claude Code");  // renewed
  EXPECT_EQ(send(http::verb::post, revoke, "", "", std::string(token->reveal())).result(), http::status::ok)
      << "an admin token needs no CSRF token";
  EXPECT_EQ(changes_, 2);
}

}  // namespace
}  // namespace latchkey::gateway
