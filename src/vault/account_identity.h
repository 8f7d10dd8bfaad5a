// AccountIdentities: who a freshly obtained grant belongs to (issue 19 item 1), so that a
// re-consent that comes back as another account is caught instead of silently switching
// every agent to it.
//  - OIDC: the ID token of the token response, verified (signature against the issuer's
//    JWKS, iss, aud/azp, exp, iat, nonce) before anything is stored; its `sub` is the id,
//    its email, preferred_username or name the label. A token that fails a check is an
//    error naming the check: the grant must not be stored.
//  - Otherwise: the provider's identity endpoint (identity_url, else userinfo_url), read
//    with the new access token; identity_id_pointer / identity_label_pointer pick the id
//    and label out of its JSON.
//  - Otherwise the account is unknown (an empty id), and callers say so.
// JWKS documents are cached per URL; a token naming a key the cache lacks fetches the set
// again, at most once a minute per URL (keys rotate; a forged kid must not make latchkey
// hammer the issuer). Thread-safe; the HttpClient and Clock must outlive it.
//
//   AccountIdentities identities(http, clock);
//   LATCHKEY_ASSIGN_OR_RETURN(Account who, identities.Identify(provider, tokens, client_id, nonce));
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "oauth/http_client.h"
#include "oauth/id_token.h"
#include "oauth/token_result.h"
#include "provider/provider.h"

namespace latchkey::vault {

struct Account {
  std::string id;      // stable id ("" = unknown)
  std::string label;   // for people: email, login or name; may be empty
  std::string source;  // "id_token", "identity_endpoint" or "" (unknown)
};

// "alice@example.com (id 1234)", "id 1234", or "unknown": one phrase for messages.
std::string DescribeAccount(std::string_view id, std::string_view label);

class AccountIdentities {
 public:
  AccountIdentities(oauth::HttpClient& http, const Clock& clock);

  // `provider` as resolved (OAuthClients::Resolve: jwks_url and userinfo_url filled by
  // discovery). `nonce`: the one the authorization request sent, or "" when the flow had
  // none (device grant). Errors:
  //   kPermissionDenied / kInvalidArgument  the ID token failed a check (message names it)
  //   kUnavailable and others               the JWKS or identity endpoint could not be read
  StatusOr<Account> Identify(const provider::ProviderDefinition& provider, const oauth::TokenResponse& tokens,
                             std::string_view client_id, std::string_view nonce) const;

 private:
  StatusOr<Account> FromIdToken(const provider::ProviderDefinition& provider, const SecretString& id_token,
                                std::string_view client_id, std::string_view nonce) const;
  StatusOr<Account> FromIdentityEndpoint(const provider::ProviderDefinition& provider,
                                         std::string_view token_type, const SecretString& access_token) const;
  // The key set at `url`, from the cache unless `refresh` (and the last fetch is a
  // minute old).
  StatusOr<std::shared_ptr<const oauth::Jwks>> KeySet(const std::string& url, bool refresh) const;

  struct CachedKeys {
    std::shared_ptr<const oauth::Jwks> keys;
    TimePoint fetched_at;
  };

  oauth::HttpClient& http_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, CachedKeys, std::less<>> jwks_;  // by URL; guarded by mutex_
};

}  // namespace latchkey::vault
