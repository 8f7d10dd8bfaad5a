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
    // Only text that looks like what it stands for counts as quoted: a signature or a
    // token of 32 or more base64url characters (and dots), as every real one is. Shorter
    // or other text may be our own wording: the fuzzer once ended a token with ".er is
    // not a JSON obje", and once sent "en has 1 part; a signed JWT has " as the token.
    const std::string message = claims.status().message();
    auto looks_like = [](std::string_view text, std::string_view alphabet) {
      return text.size() >= 32 && text.find_first_not_of(alphabet) == std::string_view::npos;
    };
    constexpr std::string_view kBase64Url =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const std::string_view signature = token.substr(token.rfind('.') + 1);
    if (looks_like(signature, kBase64Url)) FUZZ_CHECK(message.find(signature) == std::string::npos);
    if (looks_like(token, std::string(kBase64Url) + "."))
      FUZZ_CHECK(message.find(token) == std::string::npos);
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
