// Fuzzes what an authorization server (or one mixed up with it) hands latchkey to say who
// a grant belongs to: a JWKS document and an ID token. Input: the JWKS, a newline, the
// token. Properties: a refusal never quotes the token nor its signature; a token that
// verifies came with a key and a sub, and verifies no more when the keys are gone or the
// client id differs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "oauth/id_token.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  std::string_view token = fuzz::AsText(data, size);
  const std::string_view jwks_text = fuzz::NextLine(token);

  auto keys = oauth::Jwks::Parse(jwks_text);
  if (keys.ok()) {
    FUZZ_CHECK(keys->size() <= 100);
  } else {
    FUZZ_CHECK(keys.status().code() == StatusCode::kInvalidArgument);
    keys = oauth::Jwks();
  }
  (void)oauth::IdTokenKeyId(token);

  oauth::IdTokenExpectations expect;
  expect.issuer = "https://id.example.com";
  expect.client_id = "latchkey-client";
  expect.nonce = "n-0S6_WzA2Mj";
  expect.now = TimePoint{} + std::chrono::seconds(1'700'000'000);
  auto claims = oauth::VerifyIdToken(token, *keys, expect);
  if (!claims.ok()) {
    // Only a signature of 32 or more base64url characters, as every real one is, counts as
    // quoted: shorter or other text may be our own wording (the fuzzer once ended a token
    // with ".er is not a JSON obje").
    const std::string message = claims.status().message();
    const std::string_view signature = token.substr(token.rfind('.') + 1);
    const bool looks_like_a_signature =
        signature.size() >= 32 &&
        signature.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
            std::string_view::npos;
    if (looks_like_a_signature) FUZZ_CHECK(message.find(signature) == std::string::npos);
    if (token.size() >= 32) FUZZ_CHECK(message.find(token) == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(keys->size() > 0);
  FUZZ_CHECK(!claims->sub.empty() && claims->sub.size() <= 255);
  FUZZ_CHECK(claims->issuer == expect.issuer);
  FUZZ_CHECK(!oauth::VerifyIdToken(token, oauth::Jwks(), expect).ok());
  expect.client_id = "another-client";
  FUZZ_CHECK(!oauth::VerifyIdToken(token, *keys, expect).ok());
  return 0;
}
