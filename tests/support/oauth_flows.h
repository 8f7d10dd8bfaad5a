// Test-side OAuth flows against tests/fixtures/oauth/as.js, driven like a browser with
// curl (cookie jar, redirects): a real grant for tests that need one without going
// through latchkey's own consent code. Test-only; each call is independent.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "support/oauth_servers.h"

namespace latchkey::testing {

class TempDir;

// (GCC 12 warns about designated initializers that skip members: build options step by step.)
HttpOptions BasicAuth(const std::string& user_password);  // client_secret_basic
HttpOptions Browser(const TempDir& profile);              // cookie jar in `profile`, follows redirects

// Parses a response body as JSON (a test failure when it is not).
nlohmann::json Json(const HttpResponse& response);

// Authorization code + PKCE as user `user` for client agent-client (scopes openid
// offline_access api:read, consent forced so a refresh token is issued); returns the
// token response.
nlohmann::json AuthorizationCodeFlow(const NodeServer& as, const std::string& user);

struct Pkce {
  std::string verifier;
  std::string challenge;  // S256
};
Pkce MakePkce();

// GET /__stats of a fixture server.
nlohmann::json Stats(const NodeServer& server);

}  // namespace latchkey::testing
