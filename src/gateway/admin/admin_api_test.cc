// AdminApi on a real vault (SQLite in a temporary dir), called as the gateway calls it:
// who may call is decided first, and a refused call changes nothing; agents are made,
// listed and revoked with the key shown once; bad input gets a problem and changes
// nothing; every change (and only a change) tells the gateway to drop its caches.
#include "gateway/admin/admin_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/random.h"
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
        .authorize = [this](const Request&) { return authorized_; },
    });
  }

  Response Call(http::verb method, std::string target, std::string body = "") {
    Request request(method, target, 11);
    request.body() = std::move(body);
    request.prepare_payload();
    return api_->Handle(request);
  }
  static json Json(const Response& response) { return json::parse(response.body()); }
  size_t AgentCount() { return vault_->agents().List()->size(); }

  oauth::FakeHttpClient http_;
  std::unique_ptr<vault::OAuthClients> clients_;
  std::unique_ptr<vault::RefreshCoordinator> coordinator_;
  std::unique_ptr<ConsentLinks> links_;
  std::unique_ptr<AdminApi> api_;
  Status authorized_ = Status::Ok();
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
  EXPECT_EQ(refused[http::field::www_authenticate], "Bearer realm=\"latchkey\"");
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
    EXPECT_EQ(refused[http::field::content_type], "application/problem+json") << body;
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

}  // namespace
}  // namespace latchkey::gateway
