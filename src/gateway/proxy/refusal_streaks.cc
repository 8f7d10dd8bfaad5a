#include "gateway/proxy/refusal_streaks.h"

#include <sodium.h>

#include "gateway/proxy/route_cache.h"

namespace latchkey::gateway {

std::string ProbedTokens::Key(std::string_view connection, std::string_view endpoint,
                              std::string_view access_token) {
  std::string material;
  material.reserve(connection.size() + endpoint.size() + access_token.size() + 2);
  material.append(connection).append(1, '\n').append(endpoint).append(1, '\n').append(access_token);
  std::string digest = RouteCache::KeyDigest(material);
  sodium_memzero(material.data(), material.size());
  return digest;
}

void ProbedTokens::Remember(std::string_view connection, std::string_view endpoint,
                            std::string_view access_token, std::chrono::steady_clock::time_point now) {
  std::string key = Key(connection, endpoint, access_token);
  std::lock_guard lock(mu_);
  if (entries_.size() >= kMaxEntries)
    std::erase_if(entries_, [&](const auto& entry) { return entry.second <= now; });
  if (entries_.size() >= kMaxEntries) return;  // all live: the next 401 refreshes as usual
  entries_.insert_or_assign(std::move(key), now + kLifetime);
  size_.store(entries_.size(), std::memory_order_relaxed);
}

bool ProbedTokens::Took(std::string_view connection, std::string_view endpoint, std::string_view access_token,
                        std::chrono::steady_clock::time_point now) const {
  if (size_.load(std::memory_order_relaxed) == 0) return false;
  const std::string key = Key(connection, endpoint, access_token);
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  return it != entries_.end() && it->second > now;
}

int RefusalStreaks::Add(std::string_view connection) {
  std::lock_guard lock(mu_);
  auto it = streaks_.find(connection);
  if (it == streaks_.end()) it = streaks_.emplace(std::string(connection), 0).first;
  open_.store(streaks_.size(), std::memory_order_relaxed);
  return ++it->second;
}

void RefusalStreaks::Clear(std::string_view connection) {
  if (open_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(mu_);
  if (auto it = streaks_.find(connection); it != streaks_.end()) streaks_.erase(it);
  open_.store(streaks_.size(), std::memory_order_relaxed);
}

}  // namespace latchkey::gateway
