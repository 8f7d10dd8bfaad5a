// The gateway across token lifetimes: 2-second access tokens under concurrent load, a
// grant revoked at the server (one signed webhook, then fast reauth_required), and the
// alert outbox surviving a restart while the webhook is down.
#include <sodium.h>

#include <atomic>
#include <future>
#include <set>

#include "e2e/gateway_fixture.h"
#include "e2e/sqlite_peek.h"

namespace latchkey::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string HmacHex(const std::string& key, const std::string& message) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[2 * sizeof mac + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return hex;
}

// Polls the receiver until it holds `count` deliveries or 15 s pass.
json WaitForDeliveries(const NodeServer& receiver, size_t count) {
  json received = json::array();
  for (int i = 0; i < 300 && received.size() < count; ++i) {
    received = Json(HttpGet(receiver.base_url() + "/__received"));
    if (received.size() < count) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return received;
}

// Every delivery once the first has arrived and half a second more has passed, in which
// a duplicate would have shown up.
json SettledDeliveries(const NodeServer& receiver) {
  WaitForDeliveries(receiver, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  return Json(HttpGet(receiver.base_url() + "/__received"));
}

TEST_F(GatewayTest, TwoSecondTokensUnderConcurrentLoadRefreshOncePerExpiryAndNeverShowA401) {
  StartOAuthServers(/*access_token_ttl=*/2);
  ImportGrant("work", "load-user", /*expires_in=*/2);
  const std::string key = CreateAgent("bot", {"work:GET:/read"});
  StartGateway("[gateway]\nblocking_threads = 64\n");
  HttpRequest("POST", as_->base_url() + "/__reset", "", {});
  HttpRequest("POST", rs_->base_url() + "/__reset", "", {});

  // 300 agents at once, each calling every 1.2 s for 6 rounds: ~7 s, several 2 s expiries.
  constexpr int kAgents = 300, kRounds = 6;
  std::atomic<int> ok{0};
  std::mutex mu;
  std::map<int, int> statuses;
  std::vector<std::thread> agents;
  const auto started = std::chrono::steady_clock::now();
  for (int a = 0; a < kAgents; ++a) {
    agents.emplace_back([&, a] {
      for (int round = 0; round < kRounds; ++round) {
        std::this_thread::sleep_until(started + std::chrono::milliseconds(1200 * round + (a % 50) * 4));
        RawReply reply =
            RawExchange(port_, BuildRequest("GET", "/proxy/work/read", {{"Authorization", "Bearer " + key}}));
        if (reply.status == 200) {
          ++ok;
        } else {
          std::lock_guard lock(mu);
          ++statuses[reply.status];
        }
      }
    });
  }
  for (auto& t : agents) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  EXPECT_EQ(ok.load(), kAgents * kRounds)
      << "non-200 answers by status: " << ::testing::PrintToString(statuses) << "\n"
      << GatewayLog().substr(0, 4000);
  const json as_stats = Stats(*as_);
  const json rs_stats = Stats(*rs_);
  // Exactly one refresh per token generation: no refresh token was ever presented twice
  // (as.js revokes the whole grant on reuse), and the count follows the expiries.
  EXPECT_EQ(as_stats["reused_refresh_tokens"], 0) << as_stats.dump();
  const int refreshes = as_stats["refresh_requests"].get<int>();
  EXPECT_GE(refreshes, static_cast<int>(seconds / 2.0) - 1) << as_stats.dump();
  EXPECT_LE(refreshes, static_cast<int>(seconds / 0.9) + 2) << as_stats.dump() << " over " << seconds << " s";
  std::cerr << "[ measured ] " << kAgents * kRounds << " requests over " << seconds << " s: " << refreshes
            << " refreshes; resource server answered " << rs_stats.dump() << "\n";
}

TEST_F(GatewayTest, ATokenThatExpiresWhileTheApiIsSlowIsReplacedAndNeverCalledADeadGrant) {
  // The API checks the token 2.1 s after the request arrives, and tokens live 2 s: every
  // token it checks late has expired on the way, which says nothing about the grant.
  StartOAuthServers(/*access_token_ttl=*/2);
  ImportGrant("work", "slow-user", /*expires_in=*/2);
  const std::string key = CreateAgent("bot", {"work:GET:/read"});
  StartGateway();
  const std::string slow = "/proxy/work/read?check_after_ms=2100&times=";

  // Two calls at once. The first: two tokens expire in flight (the second obtained after
  // the first 401), the third is checked at once. The second: every round's token expires
  // in flight, so after a bounded number of rounds it fails as "unavailable", not as
  // reauth_required, and the connection stays usable.
  auto recovering = std::async(std::launch::async, [&] {
    return RawExchange(port_,
                       BuildRequest("GET", slow + "2&id=recovers", {{"Authorization", "Bearer " + key}}));
  });
  RawReply exhausted = Call("GET", slow + "4&id=never", key);
  RawReply recovered = recovering.get();
  EXPECT_EQ(recovered.status, 200) << recovered.raw << GatewayLog();
  EXPECT_EQ(recovered.Header("latchkey-refreshed"), "1");
  EXPECT_EQ(exhausted.status, 502) << exhausted.raw << GatewayLog();
  EXPECT_EQ(exhausted.Header("latchkey-error"), "upstream_unavailable");
  EXPECT_THAT(exhausted.Json().value("detail", ""), HasSubstr("expired before the API checked it"));
  RawReply after = Call("GET", "/proxy/work/read", key);
  EXPECT_EQ(after.status, 200) << after.raw;
  EXPECT_EQ(Stats(*as_)["reused_refresh_tokens"], 0);
  EXPECT_EQ(MustRun({"connection", "list"}).find("needs_reauth"), std::string::npos);
}

TEST_F(GatewayTest, AFreshTokenRefusedAgainIsReauthRequiredAfterExactlyOneRefresh) {
  StartOAuthServers();  // hour-long tokens: a second 401 cannot be an expiry
  ImportGrant("work", "refused-user");
  const std::string key = CreateAgent("bot", {"work"});
  StartGateway();
  HttpRequest("POST", as_->base_url() + "/__reset", "", {});
  HttpRequest("POST", rs_->base_url() + "/__reset", "", {});

  RawReply refused = Call("GET", "/proxy/work/__status/401", key);
  EXPECT_EQ(refused.status, 401) << refused.raw << GatewayLog();
  EXPECT_EQ(refused.Header("latchkey-error"), "reauth_required");
  EXPECT_EQ(refused.Header("latchkey-refreshed"), "1");
  EXPECT_THAT(refused.Json()["detail"].get<std::string>(), HasSubstr("refused a freshly refreshed"));
  EXPECT_EQ(Stats(*as_)["refresh_requests"], 1) << "one refresh, shared, then stop";
  EXPECT_EQ(ResourceRequests(), 2) << "the first try and exactly one retry";
}

// The provider keeps issuing tokens that the API refuses (app access revoked at the API):
// each such call ends reauth_required after one refresh; after three in a row the
// connection is marked needs_reauth, one alert goes out, and later calls fail fast
// without refreshing. An accepted call in between ends the streak.
TEST_F(GatewayTest, AnApiThatRefusesEveryNewTokenMarksTheConnectionNeedsReauthAfterThreeCallsInARow) {
  StartOAuthServers();  // hour-long tokens: no refusal can be an expiry
  auto receiver = StartWebhookReceiver();
  ImportGrant("work", "api-refuses");
  const std::string key = CreateAgent("bot", {"work"});
  StartGateway("[alerts]\nwebhook_url = \"" + receiver->base_url() +
               "/hook\"\nwebhook_secret = \"s3cret-hook\"\npoll_interval_ms = 100\n");
  HttpRequest("POST", as_->base_url() + "/__reset", "", {});
  HttpRequest("POST", rs_->base_url() + "/__reset", "", {});
  auto refused_call = [&](const std::string& why) {
    RawReply reply = Call("GET", "/proxy/work/__status/401", key);
    EXPECT_EQ(reply.status, 401) << why << ": " << reply.raw << GatewayLog();
    EXPECT_EQ(reply.Header("latchkey-error"), "reauth_required") << why;
    return reply;
  };
  auto status = [&] { return json::parse(MustRun({"--json", "connection", "show", "work"}))["status"]; };

  refused_call("first refusal");
  refused_call("second refusal");
  EXPECT_EQ(status(), "active") << "two refusals may still be the API lagging behind";
  RawReply accepted = Call("GET", "/proxy/work/read", key);
  ASSERT_EQ(accepted.status, 200) << accepted.raw;  // the streak ends here
  refused_call("first after the accepted call");
  refused_call("second after the accepted call");
  EXPECT_EQ(status(), "active") << "an accepted call ended the first streak";
  EXPECT_EQ(Stats(*as_)["refresh_requests"], 4) << "one refresh per refused call";

  RawReply third = refused_call("third in a row");
  EXPECT_THAT(third.Json()["detail"].get<std::string>(), HasSubstr("3 calls in a row"));
  EXPECT_FALSE(third.Json().value("since", "").empty());
  EXPECT_EQ(status(), "needs_reauth");
  EXPECT_EQ(Stats(*as_)["refresh_requests"], 5);

  const long long resource_before = ResourceRequests();
  for (int i = 0; i < 10; ++i) refused_call("after the mark");
  EXPECT_EQ(Stats(*as_)["refresh_requests"], 5) << "needs_reauth: the token endpoint is not called again";
  EXPECT_EQ(ResourceRequests(), resource_before) << "needs_reauth fails fast without touching the API";

  const json deliveries = SettledDeliveries(*receiver);
  ASSERT_EQ(deliveries.size(), 1u) << "one alert: " << deliveries.dump() << "\n" << GatewayLog();
  json event = json::parse(deliveries[0]["body"].get<std::string>());
  EXPECT_EQ(event["type"], "connection.needs_reauth");
  EXPECT_EQ(event["connection"], "work");
}

TEST_F(GatewayTest, RevokedGrantSendsOneSignedWebhookThenFailsFastWithoutCallingTheServer) {
  StartOAuthServers();
  auto receiver = StartWebhookReceiver();
  ImportGrant("work", "leaver", /*expires_in=*/1);
  const std::string key = CreateAgent("bot", {"work"});
  HttpRequest("POST", as_->base_url() + "/__revoke_grant?sub=leaver", "", {});
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // the imported token is stale
  HttpRequest("POST", as_->base_url() + "/__reset", "", {});
  const std::string secret = UniqueSecret("whsec");
  secrets_.push_back(secret);
  StartGateway("[alerts]\nwebhook_url = \"" + receiver->base_url() +
                   "/hook\"\nwebhook_secret = \"env:HOOK_SECRET\"\npoll_interval_ms = 100\n",
               {{"HOOK_SECRET", secret}});

  RawReply first = Call("GET", "/proxy/work/read", key);
  ASSERT_EQ(first.status, 401) << first.raw;
  EXPECT_EQ(first.Header("latchkey-error"), "reauth_required");
  json problem = first.Json();
  EXPECT_EQ(problem["connection"], "work");
  EXPECT_THAT(problem["reconnect_url"].get<std::string>(),
              StartsWith("http://127.0.0.1:" + std::to_string(port_) + "/consent/"));
  EXPECT_FALSE(problem.value("since", "").empty());
  EXPECT_THAT(problem["detail"].get<std::string>(), HasSubstr("NOT carried out"));
  const json after_first = Stats(*as_);
  EXPECT_EQ(after_first["refresh_requests"], 1) << "one attempt (by the proactive refresher or the request)";

  const long long resource_before = ResourceRequests();
  for (int i = 0; i < 50; ++i) {
    RawReply again = Call("GET", "/proxy/work/read", key);
    ASSERT_EQ(again.status, 401);
    ASSERT_EQ(again.Header("latchkey-error"), "reauth_required");
  }
  EXPECT_EQ(Stats(*as_)["token_requests"], after_first["token_requests"]) << "terminal means stop";
  EXPECT_EQ(ResourceRequests(), resource_before) << "needs_reauth fails fast without touching the upstream";

  const json deliveries = SettledDeliveries(*receiver);
  ASSERT_EQ(deliveries.size(), 1u) << "delivered once: " << deliveries.dump() << "\n" << GatewayLog();
  const json& delivery = deliveries[0];
  const std::string body = delivery["body"];
  const std::string signature = delivery["headers"]["latchkey-signature"];
  const std::string t = signature.substr(2, signature.find(',') - 2);
  EXPECT_EQ(signature, "t=" + t + ",v1=" + HmacHex(secret, t + "." + body));
  EXPECT_NE(signature, "t=" + t + ",v1=" + HmacHex(secret + "x", t + "." + body));
  json event = json::parse(body);
  EXPECT_EQ(event["type"], "connection.needs_reauth");
  EXPECT_EQ(event["connection"], "work");
  EXPECT_EQ(delivery["headers"]["latchkey-event-id"], event["id"]);
}

TEST_F(GatewayTest, AlertOutboxSurvivesARestartWhileTheWebhookFails) {
  StartOAuthServers();
  auto receiver = StartWebhookReceiver({{"FAIL_FIRST", "2"}});
  ImportGrant("work", "gone", /*expires_in=*/1);
  HttpRequest("POST", as_->base_url() + "/__revoke_grant?sub=gone", "", {});
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  RunResult token = Latchkey({"token", "work"});  // the CLI finds the revocation: one outbox row
  ASSERT_EQ(token.exit_code, 3) << token.err;

  const std::string config = "[alerts]\nwebhook_url = \"" + receiver->base_url() +
                             "/hook\"\nwebhook_secret = \"s3cret-hook\"\npoll_interval_ms = 100\n"
                             "first_backoff_ms = 300\n";
  StartGateway(config);
  // The first attempt fails (HTTP 500); stop the daemon before the retry.
  for (int i = 0; i < 100; ++i) {
    SqlitePeek db(data_dir() + "/latchkey.db");
    if (db.Int("SELECT MAX(attempts) FROM alert_outbox") >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_THAT(Call("GET", "/metrics", "").body, HasSubstr("\nlatchkey_alert_outbox_depth 1\n"));
  EXPECT_EQ(gateway_->Stop(SIGTERM), 0);
  EXPECT_EQ(Json(HttpGet(receiver->base_url() + "/__received")).size(), 0u);

  port_ = 0;
  StartGateway(config);
  json deliveries = WaitForDeliveries(*receiver, 1);
  ASSERT_EQ(deliveries.size(), 1u) << GatewayLog();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(Json(HttpGet(receiver->base_url() + "/__received")).size(), 1u);
  SqlitePeek db(data_dir() + "/latchkey.db");
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NOT NULL"), 1);
  EXPECT_GE(db.Int("SELECT attempts FROM alert_outbox"), 2);
  EXPECT_THAT(Call("GET", "/metrics", "").body, HasSubstr("\nlatchkey_alert_outbox_depth 0\n"));
}

}  // namespace
}  // namespace latchkey::testing
