#include "gateway/proxy/route_cache.h"

#include <sodium.h>

#include <array>

#include "common/random.h"

namespace latchkey::gateway {

namespace {
constexpr auto kTokenMargin = std::chrono::seconds(60);

// The key of KeyDigest's hash: drawn once per process, never stored or shown.
const std::array<std::uint8_t, crypto_shorthash_siphashx24_KEYBYTES>& DigestKey() {
  static const auto key = [] {
    std::array<std::uint8_t, crypto_shorthash_siphashx24_KEYBYTES> drawn{};
    SystemRandom::Instance().Fill(drawn);
    return drawn;
  }();
  return key;
}
}  // namespace

RouteCache::RouteCache(const Clock& clock, const MonotonicClock& steady, std::chrono::milliseconds ttl,
                       size_t max_entries)
    : clock_(clock), steady_(steady), ttl_(ttl), max_entries_(max_entries) {}

// SipHash-2-4 with a 128-bit output under a key drawn at start (a keyed hash made for
// hash-table keys that an adversary chooses): an agent cannot aim two keys at one digest
// without the key, and digests mean nothing outside this process. A third of BLAKE2b's
// instructions, and no heap allocation (see kKeyDigestBytes).
std::string RouteCache::KeyDigest(std::string_view presented_key) {
  std::array<std::uint8_t, crypto_shorthash_siphashx24_BYTES> digest{};
  crypto_shorthash_siphashx24(digest.data(), reinterpret_cast<const unsigned char*>(presented_key.data()),
                              presented_key.size(), DigestKey().data());
  // Raw bytes, cut to kKeyDigestBytes: the digest is only ever a map key, never shown.
  return std::string(reinterpret_cast<const char*>(digest.data()), kKeyDigestBytes);
}

template <typename T, typename Map>
RouteCache::Lookup<T> RouteCache::LookupIn(Map& map, std::string_view key, MonoTime now) {
  auto it = map.find(key);
  if (it == map.end()) return {};
  if (now < it->second.until) return {it->second.value, false};
  if (now >= it->second.until + ttl_) {
    map.erase(it);
    return {};
  }
  const bool refresh = !it->second.refreshing;
  it->second.refreshing = true;
  return {it->second.value, refresh};
}

RouteCache::Lookups RouteCache::LookupAgentAndRoute(const std::string& digest, std::string_view connection) {
  const MonoTime now = steady_.Now();
  std::lock_guard lock(mu_);
  Lookups found;
  found.agent = LookupIn<vault::AuthenticatedAgent>(agents_, digest, now);
  if (found.agent.value) found.route = LookupIn<RouteEntry>(routes_, connection, now);
  return found;
}

void RouteCache::ForgetAgent(const std::string& digest) {
  std::lock_guard lock(mu_);
  if (auto it = agents_.find(digest); it != agents_.end()) agents_.erase(it);
}

std::shared_ptr<const vault::AuthenticatedAgent> RouteCache::FindAgent(const std::string& digest) {
  std::lock_guard lock(mu_);
  auto it = agents_.find(digest);
  if (it == agents_.end()) return nullptr;
  if (steady_.Now() >= it->second.until) {
    agents_.erase(it);
    return nullptr;
  }
  return it->second.value;
}

void RouteCache::PutAgent(const std::string& digest, vault::AuthenticatedAgent agent) {
  if (ttl_.count() <= 0) return;
  std::lock_guard lock(mu_);
  if (agents_.size() >= max_entries_) agents_.clear();
  agents_[digest] = {std::make_shared<const vault::AuthenticatedAgent>(std::move(agent)),
                     steady_.Now() + ttl_};
}

std::shared_ptr<const RouteEntry> RouteCache::FindRoute(std::string_view connection) {
  std::lock_guard lock(mu_);
  auto it = routes_.find(connection);
  if (it == routes_.end()) return nullptr;
  if (steady_.Now() >= it->second.until) {
    routes_.erase(it);
    return nullptr;
  }
  return it->second.value;
}

void RouteCache::PutRoute(std::shared_ptr<const RouteEntry> entry,
                          std::optional<std::chrono::system_clock::time_point> token_expires_at) {
  if (ttl_.count() <= 0) return;
  if (token_expires_at && *token_expires_at - clock_.Now() < kTokenMargin + ttl_) return;
  std::lock_guard lock(mu_);
  if (routes_.size() >= max_entries_) routes_.clear();
  std::string name = entry->connection.name;
  routes_[name] = {std::move(entry), steady_.Now() + ttl_};
}

void RouteCache::ForgetRoute(std::string_view connection) {
  std::lock_guard lock(mu_);
  if (auto it = routes_.find(connection); it != routes_.end()) routes_.erase(it);
}

void RouteCache::Clear() {
  std::lock_guard lock(mu_);
  agents_.clear();
  routes_.clear();
}

}  // namespace latchkey::gateway
