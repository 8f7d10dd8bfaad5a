// When a connection's refresh token will stop working, forecast from three rules (issue
// 22): the token endpoint's own figure, the absolute lifetime since consent, and the idle
// lifetime since the token was last used (a refresh resets it). The forecast is the
// earliest of those that are known; `source` names the rule that gave it. The operator's
// rule for a connection replaces the provider's rule of the same kind.
//
// Computed when asked, never stored: a change of a provider entry shows at once. Pure
// functions; any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "common/clock.h"
#include "provider/provider.h"
#include "store/records.h"

namespace latchkey::vault {

enum class RefreshExpirySource { kUnknown, kServer, kProviderRule, kOperator };
// "unknown" | "server" | "provider_rule" | "operator"
std::string_view RefreshExpirySourceName(RefreshExpirySource source);

struct RefreshForecast {
  std::optional<TimePoint> expires_at;  // nullopt: no rule is known (source kUnknown)
  RefreshExpirySource source = RefreshExpirySource::kUnknown;
  // The idle rule gives the forecast: a refresh before it pushes the end back. Only then
  // can a keep-alive help.
  bool idle = false;
  // The idle lifetime that applies (the operator's or the provider's), if any.
  std::optional<std::chrono::seconds> idle_lifetime;

  friend bool operator==(const RefreshForecast&, const RefreshForecast&) = default;
};

// The forecast of an active connection that holds a refresh token; kUnknown for any
// other (API keys, client credentials, a grant without offline access, one already dead).
RefreshForecast ForecastRefreshExpiry(const store::ConnectionRecord& connection,
                                      const provider::RefreshTokenRules& provider_rules);

// When the refresh token was last used: its last refresh, else the consent.
TimePoint RefreshTokenLastUsed(const store::ConnectionRecord& connection);

// When a keep-alive refresh is due: halfway through the idle lifetime since the last use,
// if the idle rule gives the forecast; nullopt otherwise. A token endpoint's own figure
// never sets it (a hostile server could otherwise set the refresh rate).
std::optional<TimePoint> KeepAliveAt(const store::ConnectionRecord& connection,
                                     const RefreshForecast& forecast);

// When to raise connection.expiring for the forecast: `within` before its end; nullopt when
// the end is unknown.
std::optional<TimePoint> ExpiringAlertAt(const RefreshForecast& forecast, std::chrono::seconds within);

// Whether `forecast` is news against the one last alerted for (`alerted_for`): none was,
// or it moved by more than a seventh of the warning window (a day at the default week).
// Keeps a server figure that drifts by seconds with each refresh to one alert.
bool IsNewForecast(TimePoint forecast, std::optional<TimePoint> alerted_for, std::chrono::seconds within);

// Whether connection.expiring for a forecast end `expires_at` is due at `now`: within the
// window, and news against `alerted_for`.
bool IsExpiringAlertDue(TimePoint expires_at, std::optional<TimePoint> alerted_for,
                        std::chrono::seconds within, TimePoint now);

}  // namespace latchkey::vault
