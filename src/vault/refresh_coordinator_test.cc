#include "vault/refresh_coordinator.h"

#include <atomic>
#include <thread>

#include "oauth/fake_http_client.h"
#include "vault/vault_test_support.h"

namespace latchkey::vault {
namespace {

constexpr char kTokenUrl[] = "https://id.acme.example/token";

class RefreshCoordinatorTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    ASSERT_TRUE(vault_->providers()
                    .Add("name = \"acme\"\nauth = \"oauth2\"\ntoken_url = \"https://id.acme.example/token\"\n"
                         "api_base_url = \"https://api.acme.example\"\nclient_id = \"cid\"\n"
                         "client_secret = \"cs\"\n",
                         "acme.toml")
                    .ok());
    clients_ = std::make_unique<OAuthClients>(vault_->providers(), http_, clock_);
    coordinator_ = std::make_unique<RefreshCoordinator>(*vault_, *clients_, clock_, SystemRandom::Instance());
  }

  void Import(const std::string& name, const std::string& document) {
    auto imported = vault_->connections().Import(
        {.name = name, .provider = "acme", .document = document, .source = "test", .replace = false});
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  }

  // An access token that has expired, with refresh token rt-1.
  void ImportStale(const std::string& name = "work") {
    Import(name, R"({"access_token":"at-0","refresh_token":"rt-1","expires_in":1})");
    clock_.Advance(std::chrono::seconds(2));
  }

  void RespondTokens(const std::string& access, const std::string& refresh, int expires_in = 3600) {
    std::string body = R"({"access_token":")" + access + R"(","token_type":"Bearer","expires_in":)" +
                       std::to_string(expires_in);
    if (!refresh.empty()) body += R"(,"refresh_token":")" + refresh + R"(")";
    http_.Respond(kTokenUrl, 200, body + "}");
  }

  std::size_t Alerts(const std::string& type) {
    auto alerts = vault_->store().ListAlerts(100);  // keep it: a range-for over *temporary dangles
    std::size_t n = 0;
    for (const auto& a : *alerts) n += a.type == type;
    return n;
  }

  oauth::FakeHttpClient http_;
  std::unique_ptr<OAuthClients> clients_;
  std::unique_ptr<RefreshCoordinator> coordinator_;
};

TEST_F(RefreshCoordinatorTest, FreshTokenIsServedWithoutCallingTheTokenEndpoint) {
  Import("work", R"({"access_token":"at-0","refresh_token":"rt-1","expires_in":3600})");
  auto grant = coordinator_->Current("work");
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->access_token.reveal(), "at-0");
  EXPECT_FALSE(grant->refreshed);
  EXPECT_EQ(http_.request_count(), 0u);
}

TEST_F(RefreshCoordinatorTest, StaleTokenIsRefreshedAndTheRotatedRefreshTokenStored) {
  ImportStale();
  RespondTokens("at-1", "rt-2");
  auto grant = coordinator_->Current("work");
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->access_token.reveal(), "at-1");
  EXPECT_TRUE(grant->refreshed);
  ASSERT_EQ(http_.request_count(), 1u);
  EXPECT_NE(std::string(http_.last_request().body.reveal()).find("refresh_token=rt-1"), std::string::npos);
  auto row = vault_->connections().Get("work");
  auto secrets = vault_->connections().ReadSecrets(*row);
  EXPECT_EQ(secrets->refresh_token.reveal(), "rt-2");
  EXPECT_EQ(row->refresh_started_at, std::nullopt);
  EXPECT_EQ(row->token_obtained_at, clock_.Now());
}

TEST_F(RefreshCoordinatorTest, ANewTokensLifetimeCountsFromWhenItsRequestLeft) {
  // A slow token endpoint: its answer arrives 4 s after the request left, and the
  // provider's clock for expires_in started somewhere in between.
  ImportStale();
  RespondTokens("at-1", "rt-2", /*expires_in=*/60);
  const TimePoint asked_at = clock_.Now();
  http_.OnSend([&](const oauth::HttpRequest&) { clock_.Advance(std::chrono::seconds(4)); });
  auto grant = coordinator_->Current("work");
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->obtained_at, asked_at);
  EXPECT_EQ(grant->expires_at, asked_at + std::chrono::seconds(60));
  auto row = vault_->connections().Get("work");
  EXPECT_EQ(row->token_obtained_at, asked_at);
  EXPECT_EQ(row->expires_at, asked_at + std::chrono::seconds(60));
}

TEST_F(RefreshCoordinatorTest, AnApiThatRefusesTheStoredTokenMarksNeedsReauthWithOneAlert) {
  Import("work", R"({"access_token":"at-0","refresh_token":"rt-1","expires_in":3600})");
  auto marked = coordinator_->MarkRefusedByApi("work", SecretString("at-0"), "the API refused it");
  ASSERT_TRUE(marked.ok()) << marked.status().ToString();
  EXPECT_EQ(marked->status, store::ConnectionStatus::kNeedsReauth);
  auto row = vault_->connections().Get("work");
  EXPECT_EQ(row->status, store::ConnectionStatus::kNeedsReauth);
  EXPECT_EQ(row->last_error, "the API refused it");
  EXPECT_EQ(row->needs_reauth_since, clock_.Now());
  EXPECT_EQ(Alerts("connection.needs_reauth"), 1u);
  // Already marked: nothing more happens, and no second alert.
  ASSERT_TRUE(coordinator_->MarkRefusedByApi("work", SecretString("at-0"), "again").ok());
  EXPECT_EQ(Alerts("connection.needs_reauth"), 1u);
  EXPECT_EQ(vault_->connections().Get("work")->last_error, "the API refused it");
  EXPECT_EQ(coordinator_->Current("work").status().code(), StatusCode::kNeedsHuman);
  EXPECT_EQ(http_.request_count(), 0u);
}

TEST_F(RefreshCoordinatorTest, ARefusalOfATokenAlreadyReplacedMarksNothing) {
  Import("work", R"({"access_token":"at-0","refresh_token":"rt-1","expires_in":3600})");
  auto marked = coordinator_->MarkRefusedByApi("work", SecretString("at-old"), "the API refused it");
  ASSERT_TRUE(marked.ok()) << marked.status().ToString();
  EXPECT_EQ(marked->status, store::ConnectionStatus::kActive);
  EXPECT_EQ(vault_->connections().Get("work")->status, store::ConnectionStatus::kActive);
  EXPECT_EQ(Alerts("connection.needs_reauth"), 0u);
}

TEST_F(RefreshCoordinatorTest, ResponseWithoutRefreshTokenKeepsTheOldOne) {
  ImportStale();
  RespondTokens("at-1", "");
  ASSERT_TRUE(coordinator_->Current("work").ok());
  auto secrets = vault_->connections().ReadSecrets(*vault_->connections().Get("work"));
  EXPECT_EQ(secrets->refresh_token.reveal(), "rt-1");
}

TEST_F(RefreshCoordinatorTest, ManyThreadsShareOneRefresh) {
  ImportStale();
  RespondTokens("at-1", "rt-2");
  constexpr int kThreads = 50;
  std::vector<std::string> tokens(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto grant = coordinator_->Current("work");
      tokens[i] = grant.ok() ? std::string(grant->access_token.reveal()) : grant.status().ToString();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(http_.request_count(), 1u);
  for (const auto& t : tokens) EXPECT_EQ(t, "at-1");
}

TEST_F(RefreshCoordinatorTest, TerminalFailureMarksNeedsReauthOnceAndStopsCallingTheEndpoint) {
  ImportStale();
  http_.Respond(kTokenUrl, 400, R"({"error":"invalid_grant","error_description":"grant revoked"})");
  auto first = coordinator_->Current("work");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), StatusCode::kNeedsHuman);
  EXPECT_NE(first.status().message().find("latchkey connect acme --name work"), std::string::npos);
  auto row = vault_->connections().Get("work");
  EXPECT_EQ(row->status, store::ConnectionStatus::kNeedsReauth);
  EXPECT_NE(row->last_error.find("invalid_grant"), std::string::npos);
  for (int i = 0; i < 100; ++i) {
    auto again = i % 2 == 0 ? coordinator_->Current("work") : coordinator_->ForceRefresh("work");
    EXPECT_EQ(again.status().code(), StatusCode::kNeedsHuman);
  }
  EXPECT_EQ(http_.request_count(), 1u) << "terminal means stop";
  EXPECT_EQ(Alerts("connection.needs_reauth"), 1u);
}

TEST_F(RefreshCoordinatorTest, TransientFailureKeepsTheConnectionActiveAndBacksOff) {
  Import("work", R"({"access_token":"at-0","refresh_token":"rt-1","expires_in":100})");
  clock_.Advance(std::chrono::seconds(90));  // within the refresh lead, not yet expired
  http_.Respond(kTokenUrl, 503, "<html>down</html>", "text/html", {{"retry-after", "120"}});
  RespondTokens("at-1", "rt-2");  // the answer after the backoff
  // Still valid for 100 s: the old token is served, the connection is degraded.
  auto grant = coordinator_->Current("work");
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->access_token.reveal(), "at-0");
  auto row = vault_->connections().Get("work");
  EXPECT_EQ(row->status, store::ConnectionStatus::kActive);
  EXPECT_EQ(row->refresh_failures, 1);
  ASSERT_TRUE(row->next_refresh_attempt_at.has_value());
  EXPECT_GE(*row->next_refresh_attempt_at, clock_.Now() + std::chrono::seconds(120))
      << "Retry-After honoured";
  EXPECT_EQ(Alerts("connection.refresh_degraded"), 1u);

  // During the backoff nobody calls the endpoint; after it expires, a token without
  // a refresh fails as unavailable.
  EXPECT_TRUE(coordinator_->Current("work").ok());
  EXPECT_EQ(http_.request_count(), 1u);
  clock_.Advance(std::chrono::seconds(11));
  auto expired = coordinator_->Current("work");
  EXPECT_EQ(expired.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(http_.request_count(), 1u) << "still backing off";

  clock_.Advance(std::chrono::seconds(120));
  auto recovered = coordinator_->Current("work");
  ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
  EXPECT_EQ(recovered->access_token.reveal(), "at-1");
  EXPECT_EQ(vault_->connections().Get("work")->refresh_failures, 0);
  EXPECT_EQ(Alerts("connection.recovered"), 1u) << "the human who heard it was failing hears it is well";

  RespondTokens("at-2", "rt-3");
  ASSERT_TRUE(coordinator_->ForceRefresh("work").ok());
  EXPECT_EQ(Alerts("connection.recovered"), 1u) << "a healthy refresh is no news";
}

// The keep-alive refreshes a grant whose refresh token was last used half its idle
// lifetime ago, and nothing sooner, whatever its access token says.
TEST_F(RefreshCoordinatorTest, AKeepAliveRefreshesOnlyOnceHalfTheIdleLifetimeHasPassed) {
  Import("work", R"({"access_token":"at-0","refresh_token":"rt-1"})");  // no expiry: never refreshed for it
  const Duration half = std::chrono::hours(24 * 45);
  auto early = coordinator_->KeepAlive("work", half);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_FALSE(early->refreshed);
  clock_.Advance(half - std::chrono::seconds(1));
  EXPECT_FALSE(coordinator_->KeepAlive("work", half)->refreshed);
  EXPECT_EQ(http_.request_count(), 0u);

  clock_.Advance(std::chrono::seconds(1));
  RespondTokens("at-1", "rt-2");
  auto kept = coordinator_->KeepAlive("work", half);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_TRUE(kept->refreshed);
  EXPECT_EQ(vault_->connections().Get("work")->last_refresh_at, clock_.Now());
  EXPECT_FALSE(coordinator_->KeepAlive("work", half)->refreshed) << "one per idle period";
  EXPECT_EQ(http_.request_count(), 1u);
}

// A token response's own figure for the refresh token's end is kept with the grant and is
// the forecast (source "server"); a new refresh token without one clears it.
TEST_F(RefreshCoordinatorTest, TheServersFigureForTheRefreshTokenIsTheForecast) {
  ImportStale();
  http_.Respond(kTokenUrl, 200,
                R"({"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-2",)"
                R"("refresh_token_expires_in":15811200})");
  RespondTokens("at-2", "rt-3");  // the next answer: a new refresh token, no figure
  ASSERT_TRUE(coordinator_->ForceRefresh("work").ok());
  auto row = vault_->connections().Get("work");
  EXPECT_EQ(row->refresh_server_expires_at, clock_.Now() + std::chrono::seconds(15811200));
  RefreshForecast forecast = vault_->connections().Forecast(*row);
  EXPECT_EQ(forecast.expires_at, row->refresh_server_expires_at);
  EXPECT_EQ(RefreshExpirySourceName(forecast.source), "server");

  ASSERT_TRUE(coordinator_->ForceRefresh("work").ok());
  row = vault_->connections().Get("work");
  EXPECT_EQ(row->refresh_server_expires_at, std::nullopt);
  EXPECT_EQ(RefreshExpirySourceName(vault_->connections().Forecast(*row).source), "unknown")
      << "acme states no rule: no forecast, so no alert";
}

TEST_F(RefreshCoordinatorTest, MisconfiguredClientAlertsTheOperator) {
  ImportStale();
  http_.Respond(kTokenUrl, 401, R"({"error":"invalid_client"})");
  auto result = coordinator_->Current("work");
  EXPECT_EQ(result.status().code(), StatusCode::kNeedsHuman);
  EXPECT_NE(result.status().message().find("client id or secret"), std::string::npos);
  EXPECT_EQ(vault_->connections().Get("work")->status, store::ConnectionStatus::kActive)
      << "not the user's fault";
  EXPECT_EQ(Alerts("client.misconfigured"), 1u);
}

TEST_F(RefreshCoordinatorTest, RefreshAfterA401OnlyIfTheRefusedTokenIsStillCurrent) {
  Import("work", R"({"access_token":"at-0","refresh_token":"rt-1","expires_in":3600})");
  auto first = coordinator_->Current("work");
  ASSERT_TRUE(first.ok());
  RespondTokens("at-1", "rt-2");
  auto refreshed = coordinator_->RefreshRejected("work", first->access_token);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status().ToString();
  EXPECT_EQ(refreshed->access_token.reveal(), "at-1");
  // A second caller that got the 401 with the old token gets the new one, no second refresh.
  clock_.Advance(std::chrono::seconds(1));
  auto late = coordinator_->RefreshRejected("work", first->access_token);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->access_token.reveal(), "at-1");
  EXPECT_EQ(http_.request_count(), 1u);
}

TEST_F(RefreshCoordinatorTest, AfterA401ANewerStoredTokenNearItsEndIsRefreshedNotHandedBack) {
  // Another node replaced the refused token long ago; its replacement is now stale too
  // (the API may already refuse it), so the caller gets a refresh, not that one.
  Import("work", R"({"access_token":"at-0","refresh_token":"rt-1","expires_in":3600})");
  auto first = coordinator_->Current("work");
  ASSERT_TRUE(first.ok());
  RespondTokens("at-1", "rt-2", /*expires_in=*/100);
  RespondTokens("at-2", "rt-3");
  ASSERT_TRUE(coordinator_->ForceRefresh("work").ok());
  clock_.Advance(std::chrono::seconds(99));
  auto grant = coordinator_->RefreshRejected("work", first->access_token);
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->access_token.reveal(), "at-2");
  EXPECT_TRUE(grant->refreshed);
  EXPECT_EQ(http_.request_count(), 2u);
}

TEST_F(RefreshCoordinatorTest, InterruptedRefreshFollowedByInvalidGrantSaysSo) {
  ImportStale();
  // A process died after writing the in-flight marker: simulate its row.
  auto row = *vault_->connections().Get("work");
  row.refresh_started_at = clock_.Now();
  ASSERT_TRUE(vault_->store().UpdateConnection(row, row.token_version).ok());
  http_.Respond(kTokenUrl, 400, R"({"error":"invalid_grant"})");
  auto result = coordinator_->Current("work");
  EXPECT_EQ(result.status().code(), StatusCode::kNeedsHuman);
  EXPECT_NE(result.status().message().find("interrupted"), std::string::npos) << result.status().message();
  EXPECT_EQ(vault_->connections().Get("work")->status, store::ConnectionStatus::kNeedsReauth);
}

TEST_F(RefreshCoordinatorTest, ClientCredentialsConnectionsAreObtainedAgain) {
  oauth::TokenResponse tokens;
  tokens.access_token = SecretString("cc-0");
  tokens.expires_in = std::chrono::seconds(1);
  auto provider = vault_->providers().Get("acme");
  ASSERT_TRUE(
      vault_->connections()
          .SaveGrant("machine", *provider, tokens, {"api:read"}, store::CredentialKind::kClientCredentials)
          .ok());
  clock_.Advance(std::chrono::seconds(2));
  RespondTokens("cc-1", "");
  auto grant = coordinator_->Current("machine");
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->access_token.reveal(), "cc-1");
  EXPECT_NE(std::string(http_.last_request().body.reveal()).find("grant_type=client_credentials"),
            std::string::npos);
}

// SurveyMonkey and Todoist grant tokens that live until revoked: no expires_in, no
// refresh token. An assumed hour would make latchkey end a working grant itself.
TEST_F(RefreshCoordinatorTest, ATokenWithNoStatedLifetimeAndNothingToRenewItNeverExpires) {
  oauth::TokenResponse tokens;
  tokens.access_token = SecretString("forever");
  tokens.expires_in = std::chrono::hours(1);
  tokens.expires_in_defaulted = tokens.expires_in_assumed = true;
  auto provider = vault_->providers().Get("acme");
  auto saved = vault_->connections().SaveGrant("survey", *provider, tokens, {"api:read"},
                                               store::CredentialKind::kOAuth2);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_FALSE(saved->expires_at.has_value());
  clock_.Advance(std::chrono::hours(24 * 30));
  auto grant = coordinator_->Current("survey");
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->access_token.reveal(), "forever");
  EXPECT_EQ(http_.request_count(), 0U);

  // With a refresh token the assumed hour stands: a refresh renews the token in time.
  tokens.refresh_token = SecretString("rt");
  auto renewable = vault_->connections().SaveGrant("renewable", *provider, tokens, {"api:read"},
                                                   store::CredentialKind::kOAuth2);
  ASSERT_TRUE(renewable.ok()) << renewable.status().ToString();
  EXPECT_EQ(renewable->expires_at, clock_.Now() + std::chrono::hours(1));
}

TEST_F(RefreshCoordinatorTest, NoRefreshTokenMeansNeedsReauthWhenExpired) {
  Import("work", R"({"access_token":"at-0","expires_in":1})");
  clock_.Advance(std::chrono::seconds(2));
  auto result = coordinator_->Current("work");
  EXPECT_EQ(result.status().code(), StatusCode::kNeedsHuman);
  EXPECT_EQ(http_.request_count(), 0u);
  EXPECT_EQ(vault_->connections().Get("work")->status, store::ConnectionStatus::kNeedsReauth);
}

}  // namespace
}  // namespace latchkey::vault
