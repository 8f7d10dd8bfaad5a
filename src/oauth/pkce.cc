#include "oauth/pkce.h"

#include <sodium.h>

#include <array>

#include "common/encoding.h"

namespace latchkey::oauth {
namespace {

constexpr std::string_view kUnreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

}  // namespace

StatusOr<SecretString> NewCodeVerifier(Random& random, std::size_t length) {
  if (length < 43 || length > 128) {
    return InvalidArgumentError("a PKCE code verifier must have 43 to 128 characters, not " +
                                std::to_string(length));
  }
  std::string verifier(length, '\0');
  for (char& c : verifier) c = kUnreserved[random.Uniform(kUnreserved.size())];
  return SecretString(std::move(verifier));
}

std::string S256Challenge(std::string_view verifier) {
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size());
  return Base64UrlEncode(digest);
}

PkcePair NewPkcePair(Random& random) {
  PkcePair pair;
  pair.verifier = *NewCodeVerifier(random, kDefaultVerifierLength);
  pair.challenge = S256Challenge(pair.verifier.reveal());
  return pair;
}

std::string NewState(Random& random) { return random.Base64Url(32); }
std::string NewNonce(Random& random) { return random.Base64Url(32); }

}  // namespace latchkey::oauth
