#include "support/oauth_flows.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>

#include "support/subprocess.h"

namespace latchkey::testing {

using nlohmann::json;

HttpOptions BasicAuth(const std::string& user_password) {
  HttpOptions options;
  options.basic_auth = user_password;
  return options;
}

HttpOptions Browser(const TempDir& profile) {
  HttpOptions options;
  options.cookie_jar = profile.path() + "/cookies";
  options.follow_redirects = true;
  return options;
}

json Json(const HttpResponse& r) {
  json parsed = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << "status " << r.status << " body: " << r.body.substr(0, 500);
  return parsed;
}

namespace {

std::string Base64Url(const unsigned char* data, std::size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace

Pkce MakePkce() {
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  Pkce pkce;
  pkce.verifier = Base64Url(random, sizeof random);  // 43 characters
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(pkce.verifier.data()),
                     pkce.verifier.size());
  pkce.challenge = Base64Url(digest, sizeof digest);
  return pkce;
}

// Authorization code + PKCE against as.js, driven like a browser (cookie jar, redirects) up to the
// /cb echo endpoint; then the code exchange. Returns the token response.
json AuthorizationCodeFlow(const NodeServer& as, const std::string& user) {
  TempDir browser;  // a fresh cookie jar: a new browser session per flow
  const Pkce pkce = MakePkce();
  const std::string redirect_uri = as.base_url() + "/cb";
  const std::string url =
      as.base_url() + "/auth?client_id=agent-client&response_type=code" +
      "&redirect_uri=" + UrlEncode(redirect_uri) + "&scope=" + UrlEncode("openid offline_access api:read") +
      "&prompt=consent&code_challenge=" + pkce.challenge + "&code_challenge_method=S256&state=st-" + user +
      "&nonce=n-" + user + "&login_hint=" + UrlEncode(user);
  HttpResponse callback = HttpGet(url, Browser(browser));
  EXPECT_EQ(callback.status, 200) << callback.body << callback.error << as.Stderr();
  json cb = Json(callback);
  EXPECT_EQ(cb.value("state", ""), "st-" + user);
  EXPECT_EQ(cb.value("iss", ""), as.base_url());
  const std::string code = cb.value("code", "");
  EXPECT_FALSE(code.empty()) << callback.body;

  HttpResponse tokens = HttpPostForm(as.base_url() + "/token",
                                     {{"grant_type", "authorization_code"},
                                      {"code", code},
                                      {"redirect_uri", redirect_uri},
                                      {"code_verifier", pkce.verifier}},
                                     BasicAuth("agent-client:agent-secret"));
  EXPECT_EQ(tokens.status, 200) << tokens.body << as.Stderr();
  return Json(tokens);
}

json Stats(const NodeServer& server) { return Json(HttpGet(server.base_url() + "/__stats")); }

}  // namespace latchkey::testing
