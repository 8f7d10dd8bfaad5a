#include "vault/proactive_refresher.h"

#include <nlohmann/json.hpp>

#include "oauth/fake_http_client.h"
#include "vault/vault_test_support.h"

namespace latchkey::vault {
namespace {

store::ConnectionRecord Row(std::optional<Duration> expires_in, TimePoint now) {
  store::ConnectionRecord row;
  row.id = "c1";
  row.kind = store::CredentialKind::kOAuth2;
  row.status = store::ConnectionStatus::kActive;
  row.token_obtained_at = now;
  if (expires_in) row.expires_at = now + *expires_in;
  return row;
}

TEST(ProactiveRefresherTest, RefreshesAheadOfExpiryByTheLeadWithJitter) {
  const TimePoint now = FromUnixMillis(1'800'000'000'000);
  for (int i = 0; i < 200; ++i) {
    auto due =
        ProactiveRefresher::NextRefreshAt(Row(std::chrono::hours(1), now), {}, SystemRandom::Instance());
    ASSERT_TRUE(due.has_value());
    // 10% of an hour = 6 min lead, plus up to a quarter of it as jitter.
    EXPECT_LE(*due, now + std::chrono::minutes(54));
    EXPECT_GE(*due, now + std::chrono::minutes(54) - std::chrono::seconds(90));
  }
}

TEST(ProactiveRefresherTest, SkipsWhatNeedsNoRefresh) {
  const TimePoint now = FromUnixMillis(1'800'000'000'000);
  auto& random = SystemRandom::Instance();
  EXPECT_FALSE(ProactiveRefresher::NextRefreshAt(Row(std::nullopt, now), {}, random)) << "unknown expiry";
  auto reauth = Row(std::chrono::hours(1), now);
  reauth.status = store::ConnectionStatus::kNeedsReauth;
  EXPECT_FALSE(ProactiveRefresher::NextRefreshAt(reauth, {}, random)) << "terminal means stop";
  auto keys = Row(std::chrono::hours(1), now);
  keys.kind = store::CredentialKind::kApiKey;
  EXPECT_FALSE(ProactiveRefresher::NextRefreshAt(keys, {}, random));
}

TEST(ProactiveRefresherTest, BackoffPostponesTheNextAttempt) {
  const TimePoint now = FromUnixMillis(1'800'000'000'000);
  auto row = Row(std::chrono::minutes(10), now);
  row.next_refresh_attempt_at = now + std::chrono::minutes(30);
  EXPECT_EQ(ProactiveRefresher::NextRefreshAt(row, {}, SystemRandom::Instance()),
            now + std::chrono::minutes(30));
}

// A grant that would die of idleness is refreshed halfway through its idle lifetime,
// unless its access token asks for a refresh sooner; a server's figure never schedules one.
TEST(ProactiveRefresherTest, AnIdleGrantIsKeptAliveHalfwayThroughItsIdleLifetime) {
  const TimePoint now = FromUnixMillis(1'800'000'000'000);
  auto& random = SystemRandom::Instance();
  auto row = Row(std::nullopt, now);  // an access token that never expires
  row.refresh_token = Bytes{};
  row.last_refresh_at = now;
  provider::RefreshTokenRules idle{
      .lifetime = std::nullopt, .idle_lifetime = std::chrono::hours(24 * 90), .reuse_grace = std::nullopt};
  const RefreshForecast forecast = ForecastRefreshExpiry(row, idle);
  EXPECT_EQ(ProactiveRefresher::NextRefreshAt(row, forecast, random), now + std::chrono::hours(24 * 45));

  auto hourly = Row(std::chrono::hours(1), now);
  hourly.refresh_token = Bytes{};
  hourly.last_refresh_at = now;
  auto due = ProactiveRefresher::NextRefreshAt(hourly, ForecastRefreshExpiry(hourly, idle), random);
  ASSERT_TRUE(due);
  EXPECT_LE(*due, now + std::chrono::hours(1))
      << "the access token's refresh comes first (and resets the idle clock)";

  row.refresh_server_expires_at = now + std::chrono::hours(1);  // a server saying "soon", each time
  EXPECT_EQ(ProactiveRefresher::NextRefreshAt(row, ForecastRefreshExpiry(row, {}), random), std::nullopt);
}

// connection.expiring is raised once per forecast, within the window, with the reconnect
// link; a forecast that moved (the operator's rule changed) is news again.
TEST_F(VaultTest, AGrantNearItsForecastEndRaisesOneExpiringAlertPerForecast) {
  ASSERT_TRUE(vault_->connections()
                  .Import({.name = "work",
                           .provider = "google",
                           .document = R"({"access_token":"x","refresh_token":"r","expires_in":3600})",
                           .source = "t"})
                  .ok());
  oauth::FakeHttpClient http;
  OAuthClients clients(vault_->providers(), http, clock_);
  RefreshCoordinator coordinator(*vault_, clients, clock_, SystemRandom::Instance());
  ProactiveRefresher refresher(
      *vault_, coordinator, clock_, SystemRandom::Instance(),
      {.expiring_within = std::chrono::hours(24 * 7), .reconnect_link = [](const store::ConnectionRecord& c) {
         return "https://latchkey.test/consent/" + c.name;
       }});
  auto expiring = [&] {
    std::vector<nlohmann::json> found;
    auto alerts = vault_->store().ListAlerts(100);
    for (const auto& a : *alerts) {
      if (a.type == "connection.expiring") found.push_back(nlohmann::json::parse(a.payload));
    }
    return found;
  };
  ASSERT_TRUE(refresher.Rescan().ok());
  EXPECT_TRUE(expiring().empty()) << "Google's 180 idle days are far off";

  ASSERT_TRUE(
      vault_->connections().SetRefreshTokenRules("work", std::chrono::hours(24 * 3), std::nullopt).ok());
  ASSERT_TRUE(refresher.Rescan().ok());
  ASSERT_EQ(expiring().size(), 1u);
  nlohmann::json alert = expiring()[0];
  EXPECT_EQ(alert["connection"], "work");
  EXPECT_EQ(alert["refresh_expiry_source"], "operator");
  EXPECT_EQ(alert["refresh_expires_at"],
            FormatRfc3339(*vault_->connections().Get("work")->consented_at + std::chrono::hours(24 * 3)));
  EXPECT_EQ(alert["reconnect_url"], "https://latchkey.test/consent/work");
  EXPECT_EQ(alert.dump().find("\"r\""), std::string::npos) << "no secret";

  for (int i = 0; i < 3; ++i) {
    clock_.Advance(std::chrono::hours(1));
    ASSERT_TRUE(refresher.Rescan().ok());
  }
  EXPECT_EQ(expiring().size(), 1u) << "once per forecast";

  ASSERT_TRUE(vault_->connections().SetRefreshTokenRules("work", std::chrono::hours(24), std::nullopt).ok());
  ASSERT_TRUE(refresher.Rescan().ok());
  EXPECT_EQ(expiring().size(), 2u) << "two days sooner: news";
}

TEST_F(VaultTest, RescanSchedulesEachActiveOAuthConnectionOnce) {
  for (const char* name : {"a", "b"}) {
    ASSERT_TRUE(vault_->connections()
                    .Import({.name = name,
                             .provider = "google",
                             .document = R"({"access_token":"x","expires_in":3600})",
                             .source = "t"})
                    .ok());
  }
  ASSERT_TRUE(
      vault_->connections()
          .Import(
              {.name = "k", .provider = "example-api-key", .document = R"({"api_key":"k"})", .source = "t"})
          .ok());
  oauth::FakeHttpClient http;
  OAuthClients clients(vault_->providers(), http, clock_);
  RefreshCoordinator coordinator(*vault_, clients, clock_, SystemRandom::Instance());
  ProactiveRefresher refresher(*vault_, coordinator, clock_, SystemRandom::Instance());
  ASSERT_TRUE(refresher.Rescan().ok());
  EXPECT_EQ(refresher.scheduled(), 2u);
  ASSERT_TRUE(refresher.Rescan().ok());
  EXPECT_EQ(refresher.scheduled(), 2u) << "a rescan does not duplicate";
  ASSERT_TRUE(vault_->connections().Disconnect("a").ok());
  ASSERT_TRUE(refresher.Rescan().ok());
  EXPECT_EQ(refresher.scheduled(), 1u) << "a disconnected connection is dropped";
}

TEST_F(VaultTest, LaterRescansReadOnlyWhatChangedAndKeepTheRest) {
  auto import = [&](const char* name) {
    return vault_->connections()
        .Import({.name = name,
                 .provider = "google",
                 .document = R"({"access_token":"x","refresh_token":"r","expires_in":86400})",
                 .source = "t"})
        .ok();
  };
  ASSERT_TRUE(import("a"));
  ASSERT_TRUE(import("b"));
  oauth::FakeHttpClient http;
  OAuthClients clients(vault_->providers(), http, clock_);
  RefreshCoordinator coordinator(*vault_, clients, clock_, SystemRandom::Instance());
  ProactiveRefresher refresher(*vault_, coordinator, clock_, SystemRandom::Instance(),
                               {.workers = 1,
                                .rescan_interval = std::chrono::seconds(30),
                                .rescan_overlap = std::chrono::seconds(60),
                                .full_rescan_interval = std::chrono::hours(1)});
  ASSERT_TRUE(refresher.Rescan().ok());  // full
  EXPECT_EQ(refresher.scheduled(), 2u);
  // Ten minutes on, "a" and "b" are older than the overlap: a partial scan does not
  // return them, and they stay scheduled; a new connection is picked up.
  clock_.Advance(std::chrono::minutes(10));
  ASSERT_TRUE(refresher.Rescan().ok());
  clock_.Advance(std::chrono::minutes(10));
  ASSERT_TRUE(import("c"));
  ASSERT_TRUE(refresher.Rescan().ok());
  EXPECT_EQ(refresher.scheduled(), 3u);
  // A connection disconnected since is dropped by the next partial scan.
  clock_.Advance(std::chrono::minutes(10));
  ASSERT_TRUE(vault_->connections().Disconnect("a").ok());
  ASSERT_TRUE(refresher.Rescan().ok());
  EXPECT_EQ(refresher.scheduled(), 2u);
  // The hourly full scan changes nothing that is already right.
  clock_.Advance(std::chrono::hours(1));
  ASSERT_TRUE(refresher.Rescan().ok());
  EXPECT_EQ(refresher.scheduled(), 2u);
}

}  // namespace
}  // namespace latchkey::vault
