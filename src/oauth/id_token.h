// OpenID Connect ID token validation (OIDC Core §3.1.3.7): a compact JWS (RFC 7515) whose
// payload is a JWT claim set (RFC 7519), verified against the issuer's JSON Web Key Set
// (RFC 7517) with the algorithms of RFC 7518 §3 and RFC 8037. latchkey uses it to learn
// which account (`sub`) a consent came back with, and to refuse tokens it did not get from
// the issuer. Only keys from the issuer's JWKS are ever used: "jku", "jwk", "x5u" and "x5c"
// header parameters are ignored, "none" and the HMAC algorithms are refused (a client would
// have to use its client secret as the key, which anyone holding that secret could forge).
//
// Jwks is immutable once parsed; copies share the keys, and any thread may verify with it.
// VerifyIdToken and IdTokenKeyId are pure functions: any thread.
//
//   LATCHKEY_ASSIGN_OR_RETURN(Jwks keys, Jwks::Parse(jwks_response.body));
//   StatusOr<IdTokenClaims> claims = VerifyIdToken(id_token, keys, expect);
//   if (claims.status().code() == StatusCode::kNotFound) { /* refetch the JWKS once, retry */ }
//   LATCHKEY_RETURN_IF_ERROR(claims.status());
//   account = claims->sub;
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace latchkey::oauth {

struct IdTokenExpectations {
  std::string issuer;     // must equal "iss" exactly (no trailing-slash forgiveness)
  std::string client_id;  // must be in "aud"; with several audiences "azp" must equal it
  std::string nonce;      // when non-empty, "nonce" must equal it; when empty it is not checked
  TimePoint now;
  std::chrono::seconds leeway{120};  // clock skew allowed for exp, iat and nbf
};

struct IdTokenClaims {
  std::string sub;  // always non-empty, at most 255 characters
  std::string email;
  bool email_verified = false;
  std::string name;
  std::string preferred_username;
  std::string issuer;
  TimePoint expires_at;
};

// A parsed JSON Web Key Set: the keys that can verify signatures.
class Jwks {
 public:
  // One key, ready to verify with (defined in id_token.cc).
  struct Key;

  // An empty set, which verifies nothing.
  Jwks() = default;

  // Parses a JWKS document ({"keys": [...]}). Keeps keys with kty "RSA" (n, e), "EC" (crv
  // P-256, P-384 or P-521; x, y) and "OKP" (crv Ed25519; x). Skips, without error, keys whose
  // "use" is present and not "sig", whose "key_ops" lacks "verify", and keys of an unknown
  // kty or crv. kInvalidArgument when the body is not a JSON object with a "keys" array, is
  // over 256 KiB or has over 100 keys, or when a kept key is malformed (bad base64url, an RSA
  // modulus under 2048 bits, an EC point not on its curve).
  static StatusOr<Jwks> Parse(std::string_view body);

  // The number of keys kept.
  std::size_t size() const;
  // Whether a kept key has this "kid".
  bool HasKey(std::string_view kid) const;

 private:
  friend StatusOr<IdTokenClaims> VerifyIdToken(std::string_view id_token, const Jwks& keys,
                                               const IdTokenExpectations& expect);

  std::shared_ptr<const std::vector<Key>> keys_;
};

// Verifies a compact-serialized ID token against `keys` and `expect`, checking in order: the
// structure (three strict base64url parts, the header a JSON object); "alg" (RS256/384/512,
// PS256/384/512, ES256/384/512 or EdDSA); no "crit"; the key, chosen by "kid" (a key with that
// kid whose type suits the alg; without a kid, the only key that suits the alg); the
// signature; then the claims: "iss", "aud" and "azp" ("azp", when present, must always equal
// the client id), "exp" (required), "iat" (required), "nbf" (when present), "nonce", "sub".
//
// Errors, each naming what failed and never quoting the token or its signature:
//   kNotFound          the header names a kid the JWKS lacks, or no key suits the alg: the
//                      issuer may have rotated its keys, so the caller may refetch the JWKS
//                      once and retry (IdTokenKeyId tells which kid was asked for);
//   kInvalidArgument   the token does not parse (structure, base64url, JSON, claim types);
//   kPermissionDenied  it parses but fails a check (algorithm, signature, a claim).
StatusOr<IdTokenClaims> VerifyIdToken(std::string_view id_token, const Jwks& keys,
                                      const IdTokenExpectations& expect);

// The "kid" of the token's header, or "" when it has none or the header does not parse. It
// is unverified, attacker-controlled text: use it to decide whether to refetch a JWKS
// (!keys.HasKey(kid)), not in messages. Never fails.
std::string IdTokenKeyId(std::string_view id_token);

}  // namespace latchkey::oauth
