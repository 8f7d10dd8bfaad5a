// RefreshCoordinator: hands out access tokens and refreshes them, exactly once at a
// time per connection (SPEC §2 rules 1, 2 and 4):
//  - in this process, callers that need the same connection refreshed share one
//    attempt (single flight) and all get its result;
//  - across processes (CLI + daemon) and, with PostgreSQL, across nodes, the refresh
//    runs under the store's per-connection lock, and the leader re-reads the row after
//    taking it: if someone else refreshed meanwhile, their token is used;
//  - the token response is committed (durably) before the new token is handed out;
//  - a terminal failure marks the connection needs_reauth and enqueues one alert in the
//    same transaction; after that the token endpoint is not called again until a human
//    re-consents;
//  - a transient failure keeps the connection active, records backoff ("degraded"),
//    and the old token is still used while it is valid.
// Before the request leaves, the row records "refresh in flight" (refresh_started_at).
// If the process dies before committing the answer, the next leader finds the marker
// under the lock, and if the provider then refuses the old refresh token (rotation +
// reuse detection), the needs_reauth reason says that the refresh was interrupted.
// Thread-safe. The vault, clients, clock and random must outlive it.
#pragma once

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/random.h"
#include "common/secret_string.h"
#include "common/status.h"
#include "vault/oauth_clients.h"
#include "vault/vault.h"

namespace latchkey::vault {

struct AccessGrant {
  SecretString access_token;
  std::string token_type = "Bearer";
  std::optional<TimePoint> expires_at;
  std::optional<TimePoint> obtained_at;
  bool refreshed = false;  // a refresh produced it during this call
};

struct RefreshOptions {
  std::chrono::milliseconds lock_wait{60000};  // longest wait for another process's refresh
};

class RefreshCoordinator {
 public:
  RefreshCoordinator(Vault& vault, const OAuthClients& clients, const Clock& clock, Random& random,
                     RefreshOptions options = {});

  // A token usable now: the stored one while it is fresh, else refreshed first.
  // kNeedsHuman (reauth_required, misconfigured client), kUnavailable (transient
  // failure with no valid token left), kFailedPrecondition (disconnected, not OAuth).
  StatusOr<AccessGrant> Current(std::string_view connection_name);

  // After an upstream refused `rejected` (401): refreshes only if it is still the stored
  // token; otherwise another caller already replaced it and the newer one is returned.
  StatusOr<AccessGrant> RefreshRejected(std::string_view connection_name, const SecretString& rejected);

  // The API keeps refusing tokens the provider still issues (`refused` among them): marks
  // the connection needs_reauth, with `reason` and one connection.needs_reauth alert, so
  // that later calls fail fast instead of refreshing once each. Does nothing when the
  // stored token is no longer `refused` (a re-consent or another refresh came between),
  // or the connection is not active. Returns the row as it is afterwards.
  StatusOr<store::ConnectionRecord> MarkRefusedByApi(std::string_view connection_name,
                                                     const SecretString& refused, const std::string& reason);

  // Refreshes now, ignoring backoff (`latchkey connection refresh`).
  StatusOr<AccessGrant> ForceRefresh(std::string_view connection_name);

  // For the proactive scheduler: refreshes when the token is within its full refresh
  // lead (scheduler::RefreshLeadTime), which is earlier than Current() would.
  StatusOr<AccessGrant> RefreshIfDue(std::string_view connection_name);

  // Keep-alive: refreshes when the refresh token was last used `idle_half` or longer ago
  // (re-checked under the lock, so one refresh per idle period across nodes); otherwise
  // the stored token. Same backoff as the scheduler's refreshes.
  StatusOr<AccessGrant> KeepAlive(std::string_view connection_name, Duration idle_half);

 private:
  enum class Mode { kIfStale, kIfDue, kReplace, kAlways, kKeepAlive };
  struct Flight;

  // `rejected`: kReplace's token; `idle_half`: kKeepAlive's.
  StatusOr<AccessGrant> Coordinate(std::string_view name, Mode mode, const SecretString* rejected,
                                   Duration idle_half = {});
  StatusOr<AccessGrant> Lead(const std::string& connection_id, Mode mode, const SecretString* rejected,
                             Duration idle_half);
  StatusOr<AccessGrant> CallTokenEndpoint(store::ConnectionRecord row, bool interrupted);
  StatusOr<AccessGrant> StoredGrant(const store::ConnectionRecord& row) const;
  // Within `fraction` of the refresh lead of its expiry (1.0: the proactive point).
  bool IsStale(const store::ConnectionRecord& row, double fraction = 0.5) const;
  bool IsExpired(const store::ConnectionRecord& row) const;

  Vault& vault_;
  const OAuthClients& clients_;
  const Clock& clock_;
  Random& random_;
  RefreshOptions options_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Flight>, std::less<>>
      flights_;  // by connection id; guarded by mutex_
};

}  // namespace latchkey::vault
