#include "vault/proactive_refresher.h"

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
    auto due = ProactiveRefresher::NextRefreshAt(Row(std::chrono::hours(1), now), SystemRandom::Instance());
    ASSERT_TRUE(due.has_value());
    // 10% of an hour = 6 min lead, plus up to a quarter of it as jitter.
    EXPECT_LE(*due, now + std::chrono::minutes(54));
    EXPECT_GE(*due, now + std::chrono::minutes(54) - std::chrono::seconds(90));
  }
}

TEST(ProactiveRefresherTest, SkipsWhatNeedsNoRefresh) {
  const TimePoint now = FromUnixMillis(1'800'000'000'000);
  auto& random = SystemRandom::Instance();
  EXPECT_FALSE(ProactiveRefresher::NextRefreshAt(Row(std::nullopt, now), random)) << "unknown expiry";
  auto reauth = Row(std::chrono::hours(1), now);
  reauth.status = store::ConnectionStatus::kNeedsReauth;
  EXPECT_FALSE(ProactiveRefresher::NextRefreshAt(reauth, random)) << "terminal means stop";
  auto keys = Row(std::chrono::hours(1), now);
  keys.kind = store::CredentialKind::kApiKey;
  EXPECT_FALSE(ProactiveRefresher::NextRefreshAt(keys, random));
}

TEST(ProactiveRefresherTest, BackoffPostponesTheNextAttempt) {
  const TimePoint now = FromUnixMillis(1'800'000'000'000);
  auto row = Row(std::chrono::minutes(10), now);
  row.next_refresh_attempt_at = now + std::chrono::minutes(30);
  EXPECT_EQ(ProactiveRefresher::NextRefreshAt(row, SystemRandom::Instance()), now + std::chrono::minutes(30));
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
