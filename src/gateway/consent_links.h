// ConsentLinks: the URLs a human opens to fix a connection, for scope_insufficient
// (reconsent_url: an incremental-consent request for the missing scopes) and
// reauth_required (reconnect_url). Each is a real authorization request started through
// ConsentFlows with the daemon's /oauth/callback as redirect, so opening it is all a human
// has to do. A link is reused for a few minutes, so a busy agent hitting the same error
// does not create a pending authorization per call. Blocking (store writes): call from
// the blocking pool. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "store/records.h"
#include "vault/consent_flow.h"

namespace latchkey::gateway {

class ConsentLinks {
 public:
  // `public_url`: how a browser reaches this daemon, e.g. "http://127.0.0.1:8787".
  ConsentLinks(vault::ConsentFlows& flows, const Clock& clock, std::string public_url);

  // "" when the provider has no browser flow (client credentials, API keys) or the link
  // cannot be made (logged).
  std::string Reconsent(const store::ConnectionRecord& connection, const std::vector<std::string>& missing);
  std::string Reconnect(const store::ConnectionRecord& connection);

  std::string callback_url() const { return public_url_ + "/oauth/callback"; }

 private:
  std::string Link(const store::ConnectionRecord& connection, const std::vector<std::string>& scopes,
                   bool incremental);

  vault::ConsentFlows& flows_;
  const Clock& clock_;
  std::string public_url_;  // set once, in the constructor
  std::mutex mu_;
  std::map<std::string, vault::AuthorizationStart> cache_;  // guarded by mu_
};

}  // namespace latchkey::gateway
