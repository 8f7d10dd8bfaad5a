// PKCE (RFC 7636) and the other one-time values of an authorization request: the code
// verifier and its S256 challenge, `state` (CSRF, RFC 6749 §10.12) and the OIDC
// `nonce`. Randomness comes from the injected Random. Pure otherwise: any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/random.h"
#include "common/secret_string.h"
#include "common/status.h"

namespace latchkey::oauth {

struct PkcePair {
  SecretString verifier;  // sent only to the token endpoint
  std::string challenge;  // BASE64URL(SHA256(verifier)), sent in the authorization URL
  std::string method = "S256";
};

inline constexpr std::size_t kDefaultVerifierLength = 64;

// A verifier of `length` (43..128) characters drawn uniformly from the unreserved set
// [A-Za-z0-9-._~]; kInvalidArgument for other lengths.
StatusOr<SecretString> NewCodeVerifier(Random& random, std::size_t length = kDefaultVerifierLength);

// The S256 challenge for a verifier.
std::string S256Challenge(std::string_view verifier);

// A fresh verifier of the default length and its challenge.
PkcePair NewPkcePair(Random& random);

// 256 random bits as 43 base64url characters each.
std::string NewState(Random& random);
std::string NewNonce(Random& random);

}  // namespace latchkey::oauth
