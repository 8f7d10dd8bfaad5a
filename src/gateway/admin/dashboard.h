// Dashboard: the operator's web pages at `/` (SPEC §4), and the sign-in that lets them
// use the admin API.
//  - Files: src/web/ compiled into the binary (dashboard_assets.h); no CDN, offline.
//  - Sign-in: POST /login with an admin token (a form field, never a URL; an optional
//    `next` field may name a consent page to return to) sets a session cookie: HttpOnly, SameSite=Strict,
//    Path=/, Secure when public_url is https, 12 h. The cookie is signed (HMAC-SHA256) with a key derived
//    from the master key, so every node that shares the store accepts it and nothing is stored; it holds an
//    expiry, a random id and the public id of the admin token used, never the token itself, and ends when
//    that token is revoked. POST /logout clears it.
//  - CSRF: a request that uses the cookie to change anything (not GET/HEAD) must carry
//    the session's CSRF token (GET /ui/session) in X-CSRF-Token, and an Origin header,
//    when sent, must be this server's. A bearer admin token needs neither.
//  - Every answer carries a strict Content-Security-Policy (scripts and styles only from
//    this origin, no inline code, no framing) and is not cached.
// Thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "crypto/aead.h"
#include "gateway/http/http_server.h"
#include "vault/vault.h"

namespace latchkey::gateway {

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or "".
std::string_view CookieValue(std::string_view header, std::string_view name);

class Dashboard {
 public:
  Dashboard(vault::Vault& vault, const Clock& clock, const std::string& public_url);

  // True for the paths it answers: "/", "/assets/...", "/ui/session", "/login", "/logout".
  static bool Serves(std::string_view path);
  // Blocking (the admin-token check reads the store): call on the blocking pool.
  Response Handle(const Request& request);

  // Who may use the admin API: a bearer admin token, or a signed-in session (plus the
  // CSRF token and a same-origin Origin for changes). OK, or kUnauthenticated /
  // kPermissionDenied with the reason. Blocking.
  Status AuthorizeAdmin(const Request& request) const;

  // Security headers every dashboard and admin API answer carries.
  static void Harden(Response& response);

  // For pages outside the dashboard that act for a signed-in human (consent pages).
  // Blocking (reads the store).
  bool SignedIn(const Request& request) const;
  // The session's CSRF token, for a form's hidden field; "" without a session.
  std::string CsrfFor(const Request& request) const;
  // A form post made with the session: signed in, `csrf` is the session's token, and the
  // Origin (when sent) is this server's. OK, or kUnauthenticated / kPermissionDenied.
  Status AuthorizeForm(const Request& request, std::string_view csrf) const;

 private:
  struct Session {
    std::string id;        // random
    std::string token_id;  // the admin token it was opened with (public part)
    TimePoint expires_at;
  };
  // The request's session: a cookie signed by any node sharing the master key, not past
  // its expiry, opened with an admin token still valid, and not ended by a sign-out on
  // any node. Blocking (reads the store).
  std::optional<Session> SessionOf(const Request& request) const;
  // The same, from the cookie alone (no store read).
  std::optional<Session> SignedSessionOf(const Request& request) const;
  std::string Cookie(const Session& session) const;
  std::string CsrfToken(const Session& session) const;
  bool SameOrigin(const Request& request) const;
  Response Login(const Request& request);
  Response Logout(const Request& request);

  vault::Vault& vault_;
  const Clock& clock_;
  std::string public_origin_;  // of the configured public URL, normalized
  bool secure_;
  crypto::SymmetricKey key_;
};

}  // namespace latchkey::gateway
