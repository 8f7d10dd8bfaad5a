// ConsentLinks: the URLs a human opens to fix or create a connection, for
// scope_insufficient (reconsent_url), reauth_required (reconnect_url), the MCP tool
// request_access and the admin API's connect. A link points to latchkey's own consent
// page, `{public_url}/consent/{token}`, never to the provider: an agent that holds one
// cannot complete a consent with it (issue 19 item 2). Opening it needs a signed-in
// dashboard session, and only the human's click there starts the provider redirect
// (gateway/admin/consent_pages.h).
// The token is the request itself (kind, connection, provider, scopes, who asked,
// expiry) sealed with XChaCha20-Poly1305 under a key derived from the master key: opaque
// to the agent, unforgeable, readable by every node that shares the store, and nothing
// is written to the store until a human acts on it. Pure and thread-safe: no I/O.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "crypto/aead.h"
#include "store/records.h"
#include "vault/key_manager.h"

namespace latchkey::gateway {

// How long a consent link can be opened: long enough for an alert read the next morning.
inline constexpr std::chrono::hours kConsentLinkLifetime{24};

enum class ConsentKind { kConnect, kReconnect, kReconsent };
std::string_view ConsentKindName(ConsentKind kind);  // "connect" | "reconnect" | "reconsent"

// What a consent link asks for.
struct ConsentRequest {
  ConsentKind kind = ConsentKind::kConnect;
  std::string connection;
  std::string provider;
  std::vector<std::string> scopes;  // all the connection should have after consent
  std::vector<std::string> added;   // of those, the ones it lacks today (reconsent)
  std::string asked_by;             // agent name, or "" (an operator)
  TimePoint expires_at;
};

struct ConsentLink {
  std::string url;
  TimePoint expires_at;
};

class ConsentLinks {
 public:
  // `public_url`: how a browser reaches this daemon, e.g. "http://127.0.0.1:8787".
  ConsentLinks(const vault::KeyManager& keys, const Clock& clock, std::string public_url);

  // "" when the connection has no browser flow (client credentials, API keys).
  std::string Reconsent(const store::ConnectionRecord& connection, const std::vector<std::string>& missing,
                        std::string_view asked_by);
  std::string Reconnect(const store::ConnectionRecord& connection, std::string_view asked_by);
  // A new connection (or a reconnect an operator asks for). kInvalidArgument for a name
  // that is not a slug.
  StatusOr<ConsentLink> Connect(std::string_view provider, std::string_view connection,
                                const std::vector<std::string>& scopes);

  // The request a link's token holds. kInvalidArgument for a token that is not one of
  // ours (or was altered), kDeadlineExceeded for an expired one.
  StatusOr<ConsentRequest> Open(std::string_view token) const;

  const std::string& public_url() const { return public_url_; }
  std::string callback_url() const { return public_url_ + "/oauth/callback"; }

 private:
  ConsentLink Make(const ConsentRequest& request) const;

  const Clock& clock_;
  std::string public_url_;  // set once, in the constructor
  crypto::SymmetricKey key_;
};

}  // namespace latchkey::gateway
