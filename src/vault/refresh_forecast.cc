#include "vault/refresh_forecast.h"

namespace latchkey::vault {

std::string_view RefreshExpirySourceName(RefreshExpirySource source) {
  switch (source) {
    case RefreshExpirySource::kServer: return "server";
    case RefreshExpirySource::kProviderRule: return "provider_rule";
    case RefreshExpirySource::kOperator: return "operator";
    case RefreshExpirySource::kUnknown: break;
  }
  return "unknown";
}

TimePoint RefreshTokenLastUsed(const store::ConnectionRecord& connection) {
  if (connection.last_refresh_at) return *connection.last_refresh_at;
  return connection.consented_at.value_or(connection.created_at);
}

RefreshForecast ForecastRefreshExpiry(const store::ConnectionRecord& connection,
                                      const provider::RefreshTokenRules& provider_rules) {
  RefreshForecast forecast;
  if (connection.kind != store::CredentialKind::kOAuth2 ||
      connection.status != store::ConnectionStatus::kActive || !connection.refresh_token) {
    return forecast;
  }
  // Each known rule, in the order that wins a tie: the server knows best.
  auto consider = [&](TimePoint at, RefreshExpirySource source, bool idle) {
    if (forecast.expires_at && *forecast.expires_at <= at) return;
    forecast.expires_at = at;
    forecast.source = source;
    forecast.idle = idle;
  };
  if (connection.refresh_server_expires_at) {
    consider(*connection.refresh_server_expires_at, RefreshExpirySource::kServer, false);
  }
  auto rule = [](const std::optional<std::chrono::seconds>& mine,
                 const std::optional<std::chrono::seconds>& theirs)
      -> std::pair<std::optional<std::chrono::seconds>, RefreshExpirySource> {
    if (mine) return {mine, RefreshExpirySource::kOperator};
    return {theirs, RefreshExpirySource::kProviderRule};
  };
  if (auto [lifetime, source] = rule(connection.refresh_lifetime_override, provider_rules.lifetime);
      lifetime) {
    consider(connection.consented_at.value_or(connection.created_at) + *lifetime, source, false);
  }
  auto [idle, source] = rule(connection.refresh_idle_lifetime_override, provider_rules.idle_lifetime);
  forecast.idle_lifetime = idle;
  if (idle) consider(RefreshTokenLastUsed(connection) + *idle, source, true);
  return forecast;
}

std::optional<TimePoint> KeepAliveAt(const store::ConnectionRecord& connection,
                                     const RefreshForecast& forecast) {
  if (!forecast.idle || !forecast.idle_lifetime) return std::nullopt;
  return RefreshTokenLastUsed(connection) + *forecast.idle_lifetime / 2;
}

std::optional<TimePoint> ExpiringAlertAt(const RefreshForecast& forecast, std::chrono::seconds within) {
  if (!forecast.expires_at) return std::nullopt;
  return *forecast.expires_at - within;
}

bool IsNewForecast(TimePoint forecast, std::optional<TimePoint> alerted_for, std::chrono::seconds within) {
  if (!alerted_for) return true;
  const Duration moved = forecast > *alerted_for ? forecast - *alerted_for : *alerted_for - forecast;
  return moved > within / 7;
}

bool IsExpiringAlertDue(TimePoint expires_at, std::optional<TimePoint> alerted_for,
                        std::chrono::seconds within, TimePoint now) {
  return now >= expires_at - within && IsNewForecast(expires_at, alerted_for, within);
}

}  // namespace latchkey::vault
