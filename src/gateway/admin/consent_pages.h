// ConsentPages: `/consent/{token}`, where a human reviews what a consent link asks for
// and, with one click, starts the provider's authorization (issue 19 item 2).
//  GET   the request: which agent asked, for which connection, provider and account, which
//        scopes (and which are new). Needs a signed-in dashboard session; without one the
//        page offers the sign-in (the session cookie is SameSite=Strict, so a link opened
//        from another site first reloads itself once, same-site, to see it).
//  POST  (the page's form: session, CSRF token, same origin) begins the authorization
//        with ConsentFlows and answers 303 to the provider. The binding secret goes into a
//        cookie only this browser holds (HttpOnly, SameSite=Lax so the provider's redirect
//        back carries it, Path=/oauth/callback, 10 minutes); /oauth/callback without it
//        stores nothing. A "switch account" box lets the human accept a grant of another
//        account than the connection's.
// Pages carry their own Content-Security-Policy: no script at all, styles inline only,
// no framing, no referrer to other sites (the URL holds the token). Blocking (store, discovery): call on
// the blocking pool. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/admin/dashboard.h"
#include "gateway/http/http_server.h"
#include "gateway/proxy/consent_links.h"
#include "vault/consent_flow.h"
#include "vault/vault.h"

namespace latchkey::gateway {

// The cookie that carries a flow's binding secret from the consent page to the callback:
// one per flow (named after its state), so two consents in one browser do not collide.
std::string ConsentCookieName(std::string_view state);

class ConsentPages {
 public:
  ConsentPages(vault::Vault& vault, vault::ConsentFlows& flows, ConsentLinks& links,
               const Dashboard& dashboard);

  static bool Serves(std::string_view path) { return path.starts_with("/consent/"); }
  Response Handle(const Request& request);

 private:
  Response Review(const Request& request, std::string_view token, std::string_view query);
  Response Start(const Request& request, std::string_view token);
  // The scopes to ask the provider for.
  std::vector<std::string> ScopesFor(const ConsentRequest& asked) const;

  vault::Vault& vault_;
  vault::ConsentFlows& flows_;
  ConsentLinks& links_;
  const Dashboard& dashboard_;
  bool secure_;
};

// A consent page's answer: HTML, not cached, with the pages' security headers.
Response ConsentPage(boost::beast::http::status status, std::string html);

}  // namespace latchkey::gateway
