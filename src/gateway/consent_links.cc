#include "gateway/consent_links.h"

#include <algorithm>

#include "common/log.h"

namespace latchkey::gateway {
namespace {

// A cached link is handed out only while this much of its lifetime is left.
constexpr std::chrono::minutes kMinimumLifeLeft{5};

}  // namespace

ConsentLinks::ConsentLinks(vault::ConsentFlows& flows, const Clock& clock, std::string public_url)
    : flows_(flows), clock_(clock), public_url_(std::move(public_url)) {
  while (!public_url_.empty() && public_url_.back() == '/') public_url_.pop_back();
}

std::string ConsentLinks::Reconsent(const store::ConnectionRecord& connection,
                                    const std::vector<std::string>& missing) {
  std::vector<std::string> scopes = connection.scopes;
  for (const auto& scope : missing) {
    if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) scopes.push_back(scope);
  }
  return Link(connection, scopes, /*incremental=*/true);
}

std::string ConsentLinks::Reconnect(const store::ConnectionRecord& connection) {
  return Link(connection, connection.scopes, /*incremental=*/false);
}

std::string ConsentLinks::Link(const store::ConnectionRecord& connection,
                               const std::vector<std::string>& scopes, bool incremental) {
  if (connection.kind != store::CredentialKind::kOAuth2) return "";
  std::string key = connection.name + (incremental ? "+" : "=");
  for (const auto& scope : scopes) key += " " + scope;
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.Now();
  if (auto it = cache_.find(key); it != cache_.end() && it->second.expires_at - now > kMinimumLifeLeft) {
    return it->second.url;
  }
  std::erase_if(cache_, [&](const auto& entry) { return entry.second.expires_at <= now; });
  auto start =
      flows_.BeginAuthorization(connection.provider, connection.name, scopes, callback_url(), incremental);
  if (!start.ok()) {
    spdlog::warn("cannot make a consent link for connection '{}': {}", connection.name,
                 start.status().message());
    return "";
  }
  std::string url = start->url;
  cache_[key] = std::move(*start);
  return url;
}

}  // namespace latchkey::gateway
