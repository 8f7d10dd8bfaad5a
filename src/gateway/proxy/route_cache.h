// RouteCache: what the proxy learned from the store about an agent key and a connection,
// kept for a short time (default 1 s) so a busy agent's calls do not each read and
// unseal the same rows. Keys are hashed (the agent key itself is never a map key).
// Bounded staleness is the price: a key revoked or a connection changed by *another
// process* is seen within the TTL plus one store read (see Lookup); changes made
// through this daemon's admin API clear the cache at once. Access tokens within 60 s of expiry are never
// cached, so refresh timing stays with the RefreshCoordinator. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/secret_string.h"
#include "gateway/http/base_url.h"
#include "provider/provider.h"
#include "store/records.h"
#include "vault/agent_registry.h"
#include "vault/credential.h"

namespace latchkey::gateway {

struct RouteEntry {
  store::ConnectionRecord connection;
  provider::ProviderDefinition provider;
  BaseUrl base;
  vault::Credential credential;  // what to inject, and where
  SecretString oauth_token;      // the bare access token, for OAuth connections
};

class RouteCache {
 public:
  // `clock` judges token expiry; `steady` ages entries.
  RouteCache(const Clock& clock, const MonotonicClock& steady,
             std::chrono::milliseconds ttl = std::chrono::milliseconds(1000), size_t max_entries = 10000);

  // Digest of a presented agent key (kKeyDigestBytes raw bytes, not printable, keyed per
  // process), the cache's key for it. 15 bytes: std::string holds them without allocating;
  // 120 bits put a chance collision past 2^60 keys.
  static constexpr size_t kKeyDigestBytes = 15;
  static std::string KeyDigest(std::string_view presented_key);

  // An entry for the proxy's hot path, which may be stale: past its TTL an entry is still
  // handed out for one more TTL, and the first caller to see it stale is told to refresh
  // it (in the background, with Put or Forget), so a busy route never stalls on the
  // store when its entry ages out; everyone else keeps using it meanwhile. A change made
  // elsewhere is thus seen within the TTL plus one store read (2 TTLs at most).
  template <typename T>
  struct Lookup {
    std::shared_ptr<const T> value;  // null: not cached (or too old to use)
    bool refresh = false;            // stale, and this caller should refresh it
  };
  struct Lookups {
    Lookup<vault::AuthenticatedAgent> agent;
    Lookup<RouteEntry> route;  // looked up only when the agent is cached
  };
  // The agent of `digest` and the route of `connection`: the proxy's hot path, under one
  // lock and one reading of the clock.
  Lookups LookupAgentAndRoute(const std::string& digest, std::string_view connection);

  // Fresh entries only.
  std::shared_ptr<const vault::AuthenticatedAgent> FindAgent(const std::string& digest);
  void PutAgent(const std::string& digest, vault::AuthenticatedAgent agent);
  void ForgetAgent(const std::string& digest);

  std::shared_ptr<const RouteEntry> FindRoute(std::string_view connection);
  // `token_expires_at`: the access token's expiry, if any (entries never outlive it - 60 s).
  void PutRoute(std::shared_ptr<const RouteEntry> entry,
                std::optional<std::chrono::system_clock::time_point> token_expires_at);
  void ForgetRoute(std::string_view connection);

  void Clear();

 private:
  template <typename T>
  struct Slot {
    std::shared_ptr<const T> value;
    MonoTime until;
    bool refreshing = false;  // a caller was told to refresh it
  };
  template <typename T, typename Map>
  Lookup<T> LookupIn(Map& map, std::string_view key, MonoTime now);  // mu_ held

  const Clock& clock_;
  const MonotonicClock& steady_;
  const std::chrono::milliseconds ttl_;
  const size_t max_entries_;
  std::mutex mu_;
  std::map<std::string, Slot<vault::AuthenticatedAgent>, std::less<>> agents_;  // guarded by mu_
  std::map<std::string, Slot<RouteEntry>, std::less<>> routes_;                 // guarded by mu_
};

}  // namespace latchkey::gateway
