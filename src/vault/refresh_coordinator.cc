#include "vault/refresh_coordinator.h"

#include "oauth/token_fields.h"
#include "oauth/token_result.h"
#include "scheduler/refresh_timing.h"
#include "vault/alert_events.h"
#include "vault/refresh_forecast.h"

namespace latchkey::vault {
namespace {

using store::ConnectionRecord;
using store::ConnectionStatus;

std::string Quoted(std::string_view name) { return "connection '" + std::string(name) + "'"; }

// Lifetimes of tokens whose expiry is known but whose issue time is not (imported).
constexpr Duration kAssumedLifetime = std::chrono::hours(1);

std::string ReconnectHint(const ConnectionRecord& row) {
  return "run `latchkey connect " + row.provider + " --name " + row.name + "` to re-consent";
}

// Puts `row` (read at `version`) into needs_reauth and returns the one alert that says so;
// the caller commits both in one store transaction.
store::AlertEvent MarkNeedsReauth(ConnectionRecord& row, int64_t version, TimePoint now, std::string reason,
                                  const std::string& error_code) {
  row.status = ConnectionStatus::kNeedsReauth;
  row.needs_reauth_since = now;
  row.refresh_failures = 0;
  row.next_refresh_attempt_at.reset();
  row.last_error = std::move(reason);
  return MakeAlert("connection.needs_reauth", row, version + 1, now,
                   {{"reason", row.last_error}, {"error", error_code}});
}

}  // namespace

struct RefreshCoordinator::Flight {
  std::promise<StatusOr<AccessGrant>> promise;
  std::shared_future<StatusOr<AccessGrant>> result = promise.get_future().share();
  Mode mode;
};

RefreshCoordinator::RefreshCoordinator(Vault& vault, const OAuthClients& clients, const Clock& clock,
                                       Random& random, RefreshOptions options)
    : vault_(vault), clients_(clients), clock_(clock), random_(random), options_(options) {}

StatusOr<AccessGrant> RefreshCoordinator::Current(std::string_view connection_name) {
  return Coordinate(connection_name, Mode::kIfStale, nullptr);
}

StatusOr<AccessGrant> RefreshCoordinator::RefreshRejected(std::string_view connection_name,
                                                          const SecretString& rejected) {
  return Coordinate(connection_name, Mode::kReplace, &rejected);
}

StatusOr<ConnectionRecord> RefreshCoordinator::MarkRefusedByApi(std::string_view connection_name,
                                                                const SecretString& refused,
                                                                const std::string& reason) {
  store::Store& store = vault_.store();
  LATCHKEY_ASSIGN_OR_RETURN(ConnectionRecord row, vault_.connections().Get(connection_name));
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<store::ConnectionLock> lock,
                            store.LockConnection(row.id, options_.lock_wait));
  LATCHKEY_ASSIGN_OR_RETURN(row, store.GetConnectionById(row.id));
  if (row.status != ConnectionStatus::kActive) return row;
  LATCHKEY_ASSIGN_OR_RETURN(AccessGrant stored, StoredGrant(row));
  if (!stored.access_token.Equals(refused)) return row;
  const int64_t version = row.token_version;
  const TimePoint now = clock_.Now();
  const store::AlertEvent alert = MarkNeedsReauth(row, version, now, reason, "api_refuses_new_tokens");
  LATCHKEY_RETURN_IF_ERROR(store.UpdateConnection(row, version, alert));
  row.token_version = version + 1;
  return row;
}

StatusOr<AccessGrant> RefreshCoordinator::RefreshIfDue(std::string_view connection_name) {
  return Coordinate(connection_name, Mode::kIfDue, nullptr);
}

StatusOr<AccessGrant> RefreshCoordinator::KeepAlive(std::string_view connection_name, Duration idle_half) {
  return Coordinate(connection_name, Mode::kKeepAlive, nullptr, idle_half);
}

StatusOr<AccessGrant> RefreshCoordinator::ForceRefresh(std::string_view connection_name) {
  return Coordinate(connection_name, Mode::kAlways, nullptr);
}

bool RefreshCoordinator::IsExpired(const ConnectionRecord& row) const {
  return row.expires_at && *row.expires_at <= clock_.Now();
}

bool RefreshCoordinator::IsStale(const ConnectionRecord& row, double fraction) const {
  if (!row.access_token) return true;
  if (!row.expires_at) return false;  // unknown expiry: use it until an upstream says 401
  Duration lifetime = row.token_obtained_at ? *row.expires_at - *row.token_obtained_at : kAssumedLifetime;
  // Callers use half the proactive lead: the scheduler normally refreshes first (at the
  // full lead); this catches the rest.
  const auto lead = std::chrono::duration_cast<Duration>(scheduler::RefreshLeadTime(lifetime) * fraction);
  return clock_.Now() >= *row.expires_at - lead;
}

StatusOr<AccessGrant> RefreshCoordinator::StoredGrant(const ConnectionRecord& row) const {
  LATCHKEY_ASSIGN_OR_RETURN(ConnectionSecrets secrets, vault_.connections().ReadSecrets(row));
  return AccessGrant{.access_token = std::move(secrets.access_token),
                     .token_type = oauth::NormalizeTokenType(row.token_type),
                     .expires_at = row.expires_at,
                     .obtained_at = row.token_obtained_at,
                     .refreshed = false};
}

StatusOr<AccessGrant> RefreshCoordinator::Coordinate(std::string_view name, Mode mode,
                                                     const SecretString* rejected, Duration idle_half) {
  LATCHKEY_ASSIGN_OR_RETURN(ConnectionRecord row, vault_.connections().Get(name));
  // Fast path, no lock: most calls find a fresh token.
  if (row.status == ConnectionStatus::kActive &&
      ((mode == Mode::kIfStale && !IsStale(row)) || (mode == Mode::kIfDue && !IsStale(row, 1.0)) ||
       (mode == Mode::kKeepAlive && clock_.Now() < RefreshTokenLastUsed(row) + idle_half))) {
    return StoredGrant(row);
  }

  for (;;) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(mutex_);
      auto found = flights_.find(row.id);
      if (found == flights_.end()) {
        flight = std::make_shared<Flight>();
        flight->mode = mode;
        flights_.emplace(row.id, flight);
        leader = true;
      } else {
        flight = found->second;
      }
    }
    if (leader) {
      StatusOr<AccessGrant> result = Lead(row.id, mode, rejected, idle_half);
      flight->promise.set_value(result);
      std::lock_guard lock(mutex_);
      flights_.erase(row.id);
      return result;
    }
    StatusOr<AccessGrant> shared = flight->result.get();
    // A follower accepts the leader's answer unless it asked for something stronger: a
    // forced refresh, or a token other than the one its upstream refused.
    const bool stronger = mode == Mode::kAlways && flight->mode != Mode::kAlways;
    const bool same_token = mode == Mode::kReplace && shared.ok() && shared->access_token.Equals(*rejected);
    if (!stronger && !same_token) return shared;
  }
}

StatusOr<AccessGrant> RefreshCoordinator::Lead(const std::string& connection_id, Mode mode,
                                               const SecretString* rejected, Duration idle_half) {
  store::Store& store = vault_.store();
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<store::ConnectionLock> lock,
                            store.LockConnection(connection_id, options_.lock_wait));
  // Under the lock, the row is the truth: another process may have refreshed already.
  LATCHKEY_ASSIGN_OR_RETURN(ConnectionRecord row, store.GetConnectionById(connection_id));
  switch (row.status) {
    case ConnectionStatus::kNeedsReauth:
      return NeedsHumanError(Quoted(row.name) + " needs re-consent since " +
                             (row.needs_reauth_since ? FormatRfc3339(*row.needs_reauth_since) : "earlier") +
                             " (" + row.last_error + "): " + ReconnectHint(row));
    case ConnectionStatus::kDisconnected:
      return FailedPreconditionError(Quoted(row.name) + " is disconnected");
    case ConnectionStatus::kPending:
      return FailedPreconditionError(Quoted(row.name) + " has not finished connecting");
    case ConnectionStatus::kActive: break;
  }
  if (!store::IsOAuth(row.kind)) {
    return FailedPreconditionError(Quoted(row.name) + " holds an API key or password, not an OAuth token");
  }

  if (mode == Mode::kIfStale && !IsStale(row)) return StoredGrant(row);
  if (mode == Mode::kIfDue && !IsStale(row, 1.0)) return StoredGrant(row);
  if (mode == Mode::kKeepAlive && clock_.Now() < RefreshTokenLastUsed(row) + idle_half)
    return StoredGrant(row);
  if (mode == Mode::kReplace) {
    LATCHKEY_ASSIGN_OR_RETURN(AccessGrant stored, StoredGrant(row));
    // Someone replaced it already; theirs is used unless it is itself near its end (it may
    // have been obtained long before our upstream refused the older one).
    if (!stored.access_token.Equals(*rejected) && !IsStale(row)) return stored;
  }
  const TimePoint now = clock_.Now();
  if (mode != Mode::kAlways && row.next_refresh_attempt_at && *row.next_refresh_attempt_at > now) {
    if (row.access_token && !IsExpired(row) &&
        (mode == Mode::kIfStale || mode == Mode::kIfDue || mode == Mode::kKeepAlive)) {
      return StoredGrant(row);
    }
    return UnavailableError("refreshing " + Quoted(row.name) + " failed " +
                            std::to_string(row.refresh_failures) + " time(s) in a row; next attempt at " +
                            FormatRfc3339(*row.next_refresh_attempt_at) + " (last error: " + row.last_error +
                            ")");
  }

  // Record durably that a refresh request is about to leave. If this process dies
  // before the answer is committed, the next leader sees the marker.
  const bool interrupted = row.refresh_started_at.has_value();
  const int64_t version = row.token_version;
  row.refresh_started_at = now;
  row.updated_at = now;
  LATCHKEY_RETURN_IF_ERROR(store.UpdateConnection(row, version));
  row.token_version = version + 1;
  return CallTokenEndpoint(std::move(row), interrupted);
}

StatusOr<AccessGrant> RefreshCoordinator::CallTokenEndpoint(ConnectionRecord row, bool interrupted) {
  store::Store& store = vault_.store();
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition provider, clients_.Resolve(row.provider));
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<oauth::TokenClient> client, clients_.For(provider));
  LATCHKEY_ASSIGN_OR_RETURN(ConnectionSecrets secrets, vault_.connections().ReadSecrets(row));

  const TimePoint asked_at = clock_.Now();
  oauth::TokenResult result = [&]() -> oauth::TokenResult {
    if (row.kind == store::CredentialKind::kClientCredentials) return client->ClientCredentials(row.scopes);
    if (secrets.refresh_token.empty()) {
      return oauth::TokenError{.kind = oauth::TokenErrorKind::kTerminal,
                               .code = "no_refresh_token",
                               .description =
                                   "the provider granted no refresh token (offline access), so the "
                                   "expired access token cannot be renewed",
                               .retry_after = std::nullopt,
                               .http_status = 0};
    }
    return client->Refresh(secrets.refresh_token);
  }();
  const TimePoint now = clock_.Now();

  if (result.ok()) {
    LATCHKEY_ASSIGN_OR_RETURN(ConnectionRecord updated,
                              vault_.connections().WithTokens(row, *result, secrets.refresh_token, asked_at));
    // A degraded connection that refreshes again: a human who heard it was failing hears
    // it is well, once (with the state change, as every alert).
    std::optional<store::AlertEvent> recovered;
    if (row.refresh_failures > 0) {
      recovered = MakeAlert("connection.recovered", updated, row.token_version + 1, now,
                            {{"failed_refreshes", std::to_string(row.refresh_failures)}});
    }
    // Commit before use: a rotated refresh token must never exist only in memory.
    LATCHKEY_RETURN_IF_ERROR(store.UpdateConnection(updated, row.token_version, recovered));
    return AccessGrant{.access_token = result->access_token,
                       .token_type = updated.token_type,
                       .expires_at = updated.expires_at,
                       .obtained_at = updated.token_obtained_at,
                       .refreshed = true};
  }

  const oauth::TokenError& error = result.error();
  const int64_t version = row.token_version;
  row.refresh_started_at.reset();
  row.updated_at = now;
  std::optional<store::AlertEvent> alert;
  Status answer;

  if (error.kind == oauth::TokenErrorKind::kTerminal) {
    std::string reason = "the provider refused the refresh token: " + error.ToString();
    if (interrupted) {
      reason =
          "an earlier refresh was interrupted (the process stopped) after the provider may have rotated the "
          "refresh token and before latchkey stored the new one; the provider then refused the old refresh "
          "token (" +
          error.ToString() + ")";
    }
    alert = MarkNeedsReauth(row, version, now, std::move(reason), error.code);
    answer = NeedsHumanError(Quoted(row.name) + " needs re-consent: " + row.last_error + "; " +
                             ReconnectHint(row));
  } else {
    row.refresh_failures += 1;
    std::optional<Duration> retry_after;
    if (error.retry_after) retry_after = std::chrono::duration_cast<Duration>(*error.retry_after);
    row.next_refresh_attempt_at = now + scheduler::Backoff(row.refresh_failures, retry_after, random_);
    row.last_error = error.ToString();
    if (error.kind == oauth::TokenErrorKind::kMisconfigured) {
      if (row.refresh_failures == 1) {
        alert = MakeAlert("client.misconfigured", row, version + 1, now,
                          {{"reason", row.last_error}, {"error", error.code}});
      }
      answer = NeedsHumanError("the provider '" + row.provider +
                               "' refused latchkey's client credentials while "
                               "refreshing " +
                               Quoted(row.name) + " (" + error.ToString() +
                               "): an operator must fix the provider's client id or secret");
    } else {
      if (row.refresh_failures == 1) {
        alert = MakeAlert("connection.refresh_degraded", row, version + 1, now,
                          {{"reason", row.last_error}, {"error", error.code}});
      }
      answer = UnavailableError("refreshing " + Quoted(row.name) + " failed for now (" + error.ToString() +
                                "); will retry after " + FormatRfc3339(*row.next_refresh_attempt_at));
    }
  }
  if (error.kind == oauth::TokenErrorKind::kTerminal) {
    // A sibling node may have rotated the token without our lock (or an operator
    // re-imported it): re-read once before declaring the grant dead.
    LATCHKEY_ASSIGN_OR_RETURN(ConnectionRecord current, store.GetConnectionById(row.id));
    if (current.token_version != version) return StoredGrant(current);
  }
  LATCHKEY_RETURN_IF_ERROR(store.UpdateConnection(row, version, alert));
  if (error.kind != oauth::TokenErrorKind::kTerminal && error.kind != oauth::TokenErrorKind::kMisconfigured &&
      !secrets.access_token.empty() && !IsExpired(row)) {
    // Degraded, not down: the current token still works until it expires.
    return AccessGrant{.access_token = std::move(secrets.access_token),
                       .token_type = oauth::NormalizeTokenType(row.token_type),
                       .expires_at = row.expires_at,
                       .obtained_at = row.token_obtained_at,
                       .refreshed = false};
  }
  return answer;
}

}  // namespace latchkey::vault
