// OAuthClients: turns a provider entry into a ready oauth::TokenClient — endpoints
// filled in by discovery when the entry gives only an issuer (cached per process),
// client id and secret resolved from the environment or the store. Thread-safe; the
// registry and HttpClient must outlive it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "oauth/discovery.h"
#include "oauth/http_client.h"
#include "oauth/token_client.h"
#include "provider/provider.h"
#include "vault/provider_registry.h"

namespace latchkey::vault {

class OAuthClients {
 public:
  OAuthClients(const ProviderRegistry& providers, oauth::HttpClient& http, const Clock& clock,
               oauth::HttpLimits limits = {});

  // The provider entry with every endpoint it can have: discovery fills what the entry
  // leaves out when it names an issuer.
  StatusOr<provider::ProviderDefinition> Resolve(std::string_view provider_name) const;

  // kNeedsHuman when the client id or secret is missing (an environment variable not set).
  StatusOr<std::unique_ptr<oauth::TokenClient>> For(const provider::ProviderDefinition& resolved) const;

  oauth::HttpClient& http() const { return http_; }

  // The client id: the literal, or the environment variable the entry names
  // (kNeedsHuman when it is not set or not allowed: ProviderRegistry::ClientId).
  StatusOr<std::string> ClientId(const provider::ProviderDefinition& definition) const;

 private:
  const ProviderRegistry& providers_;
  oauth::HttpClient& http_;
  const Clock& clock_;
  oauth::HttpLimits limits_;  // for every token-endpoint call
  mutable std::mutex mutex_;
  mutable std::map<std::string, oauth::AuthorizationServerMetadata, std::less<>> discovered_;  // by issuer
};

}  // namespace latchkey::vault
