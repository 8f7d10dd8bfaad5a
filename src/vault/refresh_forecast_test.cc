#include "vault/refresh_forecast.h"

#include <gtest/gtest.h>

namespace latchkey::vault {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
constexpr auto kDay = hours(24);

const TimePoint kConsent = FromUnixMillis(1'800'000'000'000);

store::ConnectionRecord Active() {
  store::ConnectionRecord row;
  row.kind = store::CredentialKind::kOAuth2;
  row.status = store::ConnectionStatus::kActive;
  row.refresh_token = Bytes{1, 2, 3};
  row.created_at = kConsent - kDay;  // consent counts, not creation
  row.consented_at = kConsent;
  return row;
}

provider::RefreshTokenRules Rules(std::optional<seconds> lifetime, std::optional<seconds> idle) {
  return {.lifetime = lifetime, .idle_lifetime = idle, .reuse_grace = std::nullopt};
}

TEST(RefreshForecastTest, WithNoRuleTheEndIsUnknown) {
  RefreshForecast forecast = ForecastRefreshExpiry(Active(), {});
  EXPECT_EQ(forecast.expires_at, std::nullopt);
  EXPECT_EQ(forecast.source, RefreshExpirySource::kUnknown);
  EXPECT_EQ(RefreshExpirySourceName(forecast.source), "unknown");
  EXPECT_EQ(ExpiringAlertAt(forecast, seconds(7 * 86400)), std::nullopt) << "no alert without a forecast";
  EXPECT_EQ(KeepAliveAt(Active(), forecast), std::nullopt);
}

TEST(RefreshForecastTest, TheServersFigureIsTakenAsGiven) {
  store::ConnectionRecord row = Active();
  row.refresh_server_expires_at = kConsent + 30 * kDay;
  RefreshForecast forecast = ForecastRefreshExpiry(row, {});
  EXPECT_EQ(forecast.expires_at, kConsent + 30 * kDay);
  EXPECT_EQ(RefreshExpirySourceName(forecast.source), "server");
  EXPECT_FALSE(forecast.idle);
  EXPECT_EQ(KeepAliveAt(row, forecast), std::nullopt) << "a server's figure never schedules a keep-alive";
}

TEST(RefreshForecastTest, AnAbsoluteLifetimeCountsFromConsentAndRefreshesDoNotMoveIt) {
  store::ConnectionRecord row = Active();
  row.last_refresh_at = kConsent + 100 * kDay;
  RefreshForecast forecast = ForecastRefreshExpiry(row, Rules(365 * kDay, std::nullopt));
  EXPECT_EQ(forecast.expires_at, kConsent + 365 * kDay);
  EXPECT_EQ(forecast.source, RefreshExpirySource::kProviderRule);
  EXPECT_EQ(RefreshExpirySourceName(forecast.source), "provider_rule");
  EXPECT_FALSE(forecast.idle);
  EXPECT_EQ(KeepAliveAt(row, forecast), std::nullopt) << "a refresh would not help";
}

TEST(RefreshForecastTest, AnIdleLifetimeCountsFromTheLastUseAndAKeepAliveFallsHalfway) {
  store::ConnectionRecord row = Active();
  RefreshForecast fresh = ForecastRefreshExpiry(row, Rules(std::nullopt, 90 * kDay));
  EXPECT_EQ(fresh.expires_at, kConsent + 90 * kDay) << "never refreshed: from consent";
  EXPECT_TRUE(fresh.idle);
  EXPECT_EQ(KeepAliveAt(row, fresh), kConsent + 45 * kDay);

  row.last_refresh_at = kConsent + 40 * kDay;
  RefreshForecast used = ForecastRefreshExpiry(row, Rules(std::nullopt, 90 * kDay));
  EXPECT_EQ(used.expires_at, kConsent + 130 * kDay);
  EXPECT_EQ(KeepAliveAt(row, used), kConsent + 85 * kDay);
}

TEST(RefreshForecastTest, TheEarliestRuleWinsAndNamesItsSource) {
  store::ConnectionRecord row = Active();
  row.last_refresh_at = kConsent + 300 * kDay;
  // Atlassian's rules: 90 days idle, 365 days absolute. Late in the grant the absolute one ends it.
  RefreshForecast late = ForecastRefreshExpiry(row, Rules(365 * kDay, 90 * kDay));
  EXPECT_EQ(late.expires_at, kConsent + 365 * kDay);
  EXPECT_FALSE(late.idle);
  EXPECT_EQ(late.idle_lifetime, 90 * kDay);
  EXPECT_EQ(KeepAliveAt(row, late), std::nullopt) << "a keep-alive cannot pass the absolute end";

  row.last_refresh_at = kConsent + 10 * kDay;
  RefreshForecast early = ForecastRefreshExpiry(row, Rules(365 * kDay, 90 * kDay));
  EXPECT_EQ(early.expires_at, kConsent + 100 * kDay);
  EXPECT_TRUE(early.idle);

  // A server figure earlier than every rule wins; a later one loses to the rules.
  row.refresh_server_expires_at = kConsent + 50 * kDay;
  EXPECT_EQ(ForecastRefreshExpiry(row, Rules(365 * kDay, 90 * kDay)).source, RefreshExpirySource::kServer);
  row.refresh_server_expires_at = kConsent + 500 * kDay;
  EXPECT_EQ(ForecastRefreshExpiry(row, Rules(365 * kDay, 90 * kDay)).expires_at, kConsent + 100 * kDay);
}

TEST(RefreshForecastTest, TheOperatorsRuleReplacesTheProvidersOfTheSameKind) {
  store::ConnectionRecord row = Active();
  row.refresh_lifetime_override = 7 * kDay;  // a Google app in "Testing"
  RefreshForecast testing = ForecastRefreshExpiry(row, Rules(std::nullopt, 180 * kDay));
  EXPECT_EQ(testing.expires_at, kConsent + 7 * kDay);
  EXPECT_EQ(RefreshExpirySourceName(testing.source), "operator");

  store::ConnectionRecord longer = Active();
  longer.refresh_idle_lifetime_override = 400 * kDay;  // replaces the provider's 90 days, even if later
  RefreshForecast replaced = ForecastRefreshExpiry(longer, Rules(std::nullopt, 90 * kDay));
  EXPECT_EQ(replaced.expires_at, kConsent + 400 * kDay);
  EXPECT_EQ(replaced.source, RefreshExpirySource::kOperator);
}

TEST(RefreshForecastTest, OnlyAnActiveGrantWithARefreshTokenHasAForecast) {
  const auto rules = Rules(365 * kDay, 90 * kDay);
  store::ConnectionRecord no_offline = Active();
  no_offline.refresh_token.reset();
  store::ConnectionRecord dead = Active();
  dead.status = store::ConnectionStatus::kNeedsReauth;
  store::ConnectionRecord key = Active();
  key.kind = store::CredentialKind::kApiKey;
  store::ConnectionRecord machine = Active();
  machine.kind = store::CredentialKind::kClientCredentials;
  for (const auto& row : {no_offline, dead, key, machine}) {
    EXPECT_EQ(ForecastRefreshExpiry(row, rules), RefreshForecast{});
  }
}

TEST(RefreshForecastTest, AnAlertIsNewsOnlyWhenTheForecastMovedBeyondASeventhOfTheWindow) {
  const seconds week = 7 * kDay;
  EXPECT_TRUE(IsNewForecast(kConsent, std::nullopt, week));
  EXPECT_FALSE(IsNewForecast(kConsent + seconds(3), kConsent, week)) << "a server figure drifting by seconds";
  EXPECT_FALSE(IsNewForecast(kConsent - kDay, kConsent, week));
  EXPECT_TRUE(IsNewForecast(kConsent + kDay + seconds(1), kConsent, week)) << "a keep-alive moved it";
  EXPECT_TRUE(IsNewForecast(kConsent - 2 * kDay, kConsent, week)) << "sooner than said: news";
  EXPECT_EQ(ExpiringAlertAt(RefreshForecast{.expires_at = kConsent,
                                            .source = RefreshExpirySource::kServer,
                                            .idle = false,
                                            .idle_lifetime = std::nullopt},
                            week),
            kConsent - week);
}

}  // namespace
}  // namespace latchkey::vault
