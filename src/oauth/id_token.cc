#include "oauth/id_token.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "common/encoding.h"

namespace latchkey::oauth {

struct Jwks::Key {
  enum class Type { kRsa, kEc, kOkp };
  struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  };

  std::optional<std::string> kid;
  Type type = Type::kRsa;
  std::string curve;  // "P-256", "P-384", "P-521" or "Ed25519"; empty for RSA
  std::string alg;    // the JWK's "alg": when set, the one algorithm the key may verify
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey;
};

namespace {

using nlohmann::json;
using Key = Jwks::Key;
using KeyType = Jwks::Key::Type;

constexpr std::size_t kMaxTokenSize = std::size_t{16} * 1024;
constexpr std::size_t kMaxJwksSize = std::size_t{256} * 1024;
constexpr std::size_t kMaxKeys = 100;
constexpr std::size_t kMaxSubjectLength = 255;  // OIDC Core §2
constexpr std::size_t kMaxQuotedLength = 100;
constexpr std::size_t kMaxQuotedAudiences = 5;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;  // OpenSSL's own ceiling; bigger keys only cost time
// NumericDates beyond this many seconds from 1970 (about year 2255) do not fit a TimePoint;
// they are clamped, which keeps their meaning ("never" or "long ago").
constexpr double kMaxSeconds = 9e9;

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Key::PkeyFree>;

// Failed OpenSSL calls leave entries in the thread's error queue; left there, they would be
// reported by whatever unrelated OpenSSL call (a TLS read) next looks at the queue.
struct ErrorQueueClearer {
  ErrorQueueClearer() = default;
  ErrorQueueClearer(const ErrorQueueClearer&) = delete;
  ErrorQueueClearer& operator=(const ErrorQueueClearer&) = delete;
  ~ErrorQueueClearer() { ERR_clear_error(); }
};

enum class Scheme { kPkcs1, kPss, kEcdsa, kEdDsa };

struct Algorithm {
  std::string_view name;
  KeyType type;
  Scheme scheme;
  const EVP_MD* (*digest)();  // null for EdDSA, which hashes internally
  std::string_view curve;     // the curve the key must be on, for ECDSA and EdDSA
  std::size_t ecdsa_half;     // the length of R and of S in an ECDSA signature (RFC 7518 §3.4)
};

constexpr Algorithm kAlgorithms[] = {
    {"RS256", KeyType::kRsa, Scheme::kPkcs1, EVP_sha256, "", 0},
    {"RS384", KeyType::kRsa, Scheme::kPkcs1, EVP_sha384, "", 0},
    {"RS512", KeyType::kRsa, Scheme::kPkcs1, EVP_sha512, "", 0},
    {"PS256", KeyType::kRsa, Scheme::kPss, EVP_sha256, "", 0},
    {"PS384", KeyType::kRsa, Scheme::kPss, EVP_sha384, "", 0},
    {"PS512", KeyType::kRsa, Scheme::kPss, EVP_sha512, "", 0},
    {"ES256", KeyType::kEc, Scheme::kEcdsa, EVP_sha256, "P-256", 32},
    {"ES384", KeyType::kEc, Scheme::kEcdsa, EVP_sha384, "P-384", 48},
    {"ES512", KeyType::kEc, Scheme::kEcdsa, EVP_sha512, "P-521", 66},
    {"EdDSA", KeyType::kOkp, Scheme::kEdDsa, nullptr, "Ed25519", 0},
};

struct Curve {
  std::string_view jwk_name;
  const char* group;  // OpenSSL's name
  std::size_t size;   // bytes per coordinate
};

constexpr Curve kCurves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
};

std::string_view TypeName(KeyType type) {
  switch (type) {
    case KeyType::kRsa: return "RSA";
    case KeyType::kEc: return "EC";
    case KeyType::kOkp: return "OKP";
  }
  return "?";
}

// Text from a token or a JWKS, fit for a message: printable ASCII only (no terminal escapes,
// no forged log lines) and at most kMaxQuotedLength characters.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxQuotedLength)) out += c >= 0x20 && c <= 0x7e ? c : '?';
  if (text.size() > kMaxQuotedLength) out += "...";
  return out;
}

bool IsBase64UrlCharacter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// RFC 7515 §2 allows only the unpadded URL-safe alphabet; Base64Decode alone would also take
// padding and the standard alphabet, which would let one token have several spellings.
std::optional<Bytes> DecodeBase64Url(std::string_view text) {
  if (!std::all_of(text.begin(), text.end(), IsBase64UrlCharacter)) return std::nullopt;
  return Base64Decode(text);
}

std::string StringMember(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// ---- JWK → EVP_PKEY ----

// Null when OpenSSL refuses the parameters; the caller words the error, as the usual cause
// is bad key material.
PkeyPtr PkeyFromData(const char* type, OSSL_PARAM_BLD* builder) {
  ParamsPtr params(OSSL_PARAM_BLD_to_param(builder));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return PkeyPtr(pkey);
}

StatusOr<Bytes> KeyMember(const json& jwk, const char* name, const std::string& what) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return InvalidArgumentError(what + " has no \"" + name + "\" string");
  }
  std::optional<Bytes> bytes = DecodeBase64Url(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) {
    return InvalidArgumentError(what + " has a \"" + name + "\" that is not base64url");
  }
  return std::move(*bytes);
}

StatusOr<PkeyPtr> RsaKey(const json& jwk, const std::string& what) {
  LATCHKEY_ASSIGN_OR_RETURN(Bytes n, KeyMember(jwk, "n", what));
  LATCHKEY_ASSIGN_OR_RETURN(Bytes e, KeyMember(jwk, "e", what));
  BignumPtr modulus(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
  BignumPtr exponent(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
  if (!modulus || !exponent) return InternalError("OpenSSL could not allocate a number for " + what);
  const int bits = BN_num_bits(modulus.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return InvalidArgumentError(what + " is an RSA key of " + std::to_string(bits) +
                                " bits; latchkey accepts 2048 to 16384");
  }
  // The checks of EVP_PKEY_public_check for RSA (SP 800-56B) also refuse exponents under
  // 65537, which old but sound keys use; a modulus and exponent that are odd is what
  // verification itself relies on.
  if (!BN_is_odd(modulus.get()) || !BN_is_odd(exponent.get()) || BN_is_one(exponent.get()) ||
      BN_num_bits(exponent.get()) > 256) {
    return InvalidArgumentError(what + " is not a valid RSA public key");
  }
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    return InternalError("OpenSSL could not build the parameters of " + what);
  }
  PkeyPtr pkey = PkeyFromData("RSA", builder.get());
  if (!pkey) return InvalidArgumentError(what + " is not a valid RSA public key");
  return pkey;
}

StatusOr<PkeyPtr> EcKey(const json& jwk, const Curve& curve, const std::string& what) {
  LATCHKEY_ASSIGN_OR_RETURN(Bytes x, KeyMember(jwk, "x", what));
  LATCHKEY_ASSIGN_OR_RETURN(Bytes y, KeyMember(jwk, "y", what));
  if (x.size() > curve.size || y.size() > curve.size) {
    return InvalidArgumentError(what + " has coordinates longer than " + std::string(curve.jwk_name) +
                                " allows");
  }
  // RFC 7518 §6.2.1.2 wants full-length coordinates; some issuers drop leading zero bytes,
  // which the left padding here restores.
  Bytes point(1 + 2 * curve.size, 0);
  point[0] = 0x04;  // uncompressed (SEC 1 §2.3.3)
  std::copy(x.begin(), x.end(), point.begin() + static_cast<std::ptrdiff_t>(1 + curve.size - x.size()));
  std::copy(y.begin(), y.end(), point.end() - static_cast<std::ptrdiff_t>(y.size()));
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) !=
          1) {
    return InternalError("OpenSSL could not build the parameters of " + what);
  }
  const std::string off_curve = what + " is not a point on " + std::string(curve.jwk_name);
  PkeyPtr pkey = PkeyFromData("EC", builder.get());
  if (!pkey) return InvalidArgumentError(off_curve);
  // Importing checks that the point is on the curve; this also refuses the point at infinity
  // and points outside the prime-order subgroup (invalid-curve attacks).
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return InvalidArgumentError(off_curve);
  return pkey;
}

StatusOr<PkeyPtr> Ed25519Key(const json& jwk, const std::string& what) {
  LATCHKEY_ASSIGN_OR_RETURN(Bytes x, KeyMember(jwk, "x", what));
  if (x.size() != 32) return InvalidArgumentError(what + " is an Ed25519 key that is not 32 bytes long");
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, x.data(), x.size()));
  if (!pkey) return InvalidArgumentError(what + " is not a valid Ed25519 public key");
  return pkey;
}

// The key at `index`, nullopt for one that is skipped (another use, an unknown type or curve).
StatusOr<std::optional<Key>> ParseKey(const json& jwk, std::size_t index) {
  if (!jwk.is_object()) {
    return InvalidArgumentError("entry " + std::to_string(index) +
                                " of the JWKS's \"keys\" is not an object");
  }
  if (jwk.contains("use") && StringMember(jwk, "use") != "sig") return std::nullopt;  // e.g. "enc"
  if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    if (!ops->is_array() || std::find(ops->begin(), ops->end(), json("verify")) == ops->end()) {
      return std::nullopt;
    }
  }
  Key key;
  const std::string kty = StringMember(jwk, "kty");
  const std::string crv = StringMember(jwk, "crv");
  const Curve* curve = nullptr;
  if (kty == "RSA") {
    key.type = KeyType::kRsa;
  } else if (kty == "EC") {
    key.type = KeyType::kEc;
    for (const Curve& c : kCurves) {
      if (c.jwk_name == crv) curve = &c;
    }
    if (curve == nullptr) return std::nullopt;
    key.curve = crv;
  } else if (kty == "OKP" && crv == "Ed25519") {  // X25519 is for key agreement, Ed448 unsupported
    key.type = KeyType::kOkp;
    key.curve = crv;
  } else {
    return std::nullopt;
  }

  std::string what = "the JWKS's key #" + std::to_string(index);
  if (auto kid = jwk.find("kid"); kid != jwk.end()) {
    if (!kid->is_string()) return InvalidArgumentError(what + " has a \"kid\" that is not a string");
    key.kid = kid->get<std::string>();
    what = "the JWKS's key '" + Printable(*key.kid) + "'";
  }
  if (auto alg = jwk.find("alg"); alg != jwk.end()) {
    if (!alg->is_string()) return InvalidArgumentError(what + " has an \"alg\" that is not a string");
    key.alg = alg->get<std::string>();
  }
  StatusOr<PkeyPtr> pkey = key.type == KeyType::kRsa  ? RsaKey(jwk, what)
                           : key.type == KeyType::kEc ? EcKey(jwk, *curve, what)
                                                      : Ed25519Key(jwk, what);
  if (!pkey.ok()) return pkey.status();
  key.pkey = std::move(*pkey);
  return std::optional<Key>(std::move(key));
}

// ---- signature ----

// JWS carries ECDSA signatures as R || S, each padded to the curve's size (RFC 7518 §3.4);
// OpenSSL verifies the DER form of X9.62.
std::optional<Bytes> EcdsaRawToDer(std::span<const std::uint8_t> raw, std::size_t half) {
  if (raw.size() != 2 * half) return std::nullopt;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BignumPtr r(BN_bin2bn(raw.data(), static_cast<int>(half), nullptr));
  BignumPtr s(BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  (void)r.release();  // owned by sig now
  (void)s.release();
  const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return std::nullopt;
  Bytes der(static_cast<std::size_t>(length));
  unsigned char* out = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &out) != length) return std::nullopt;
  return der;
}

std::string KeyName(const Key& key) {
  if (key.kid) return "key '" + Printable(*key.kid) + "'";
  return "the issuer's " + std::string(TypeName(key.type)) + " key";
}

// OK when `signature` verifies; kPermissionDenied when not, kInternal when OpenSSL fails.
Status VerifySignature(const Algorithm& alg, const Key& key, std::string_view signing_input,
                       std::span<const std::uint8_t> signature) {
  Status mismatch = PermissionDeniedError("the ID token's signature does not verify with " + KeyName(key));
  Bytes der;
  if (alg.scheme == Scheme::kEcdsa) {
    std::optional<Bytes> converted = EcdsaRawToDer(signature, alg.ecdsa_half);
    if (!converted) {
      return PermissionDeniedError(mismatch.message() + " (an " + std::string(alg.name) + " signature has " +
                                   std::to_string(2 * alg.ecdsa_half) + " bytes, not " +
                                   std::to_string(signature.size()) + ")");
    }
    der = std::move(*converted);
    signature = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pkey_ctx = nullptr;  // owned by ctx
  const EVP_MD* digest = alg.digest != nullptr ? alg.digest() : nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pkey_ctx, digest, nullptr, key.pkey.get()) != 1) {
    return InternalError("OpenSSL could not set up " + std::string(alg.name) + " verification");
  }
  if (alg.scheme == Scheme::kPkcs1 && EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PADDING) != 1) {
    return InternalError("OpenSSL could not set up " + std::string(alg.name) + " verification");
  }
  // RFC 7518 §3.5: MGF1 with the same hash, and a salt as long as the hash.
  if (alg.scheme == Scheme::kPss &&
      (EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, digest) != 1)) {
    return InternalError("OpenSSL could not set up " + std::string(alg.name) + " verification");
  }
  // One-shot, as EdDSA requires; the other schemes accept it too.
  if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), AsBytes(signing_input).data(),
                       signing_input.size()) != 1) {
    return mismatch;
  }
  return Status::Ok();
}

bool Suits(const Key& key, const Algorithm& alg) {
  return key.type == alg.type && (alg.curve.empty() || key.curve == alg.curve) &&
         (key.alg.empty() || key.alg == alg.name);
}

// ---- claims ----

struct Parts {
  std::string_view header;  // still base64url
  std::string_view payload;
  std::string_view signature;
};

StatusOr<Parts> SplitCompact(std::string_view token) {
  if (token.size() > kMaxTokenSize) {
    return InvalidArgumentError("the ID token is longer than " + std::to_string(kMaxTokenSize) + " bytes");
  }
  const std::size_t parts = static_cast<std::size_t>(std::count(token.begin(), token.end(), '.')) + 1;
  if (parts != 3) {
    return InvalidArgumentError(
        "the ID token has " + std::to_string(parts) + (parts == 1 ? " part" : " parts") +
        (parts == 5 ? " (it is encrypted, which latchkey does not support)" : "; a signed JWT has 3"));
  }
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  return Parts{token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1)};
}

StatusOr<json> DecodeJsonObject(std::string_view part, const char* what) {
  std::optional<Bytes> bytes = DecodeBase64Url(part);
  if (!bytes) return InvalidArgumentError(std::string("the ID token's ") + what + " is not base64url");
  json object = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) {
    return InvalidArgumentError(std::string("the ID token's ") + what + " is not a JSON object");
  }
  return object;
}

// A string claim: nullopt when absent, kInvalidArgument when not a string.
StatusOr<std::optional<std::string>> StringClaim(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_string())
    return InvalidArgumentError(std::string("the ID token's \"") + name + "\" is not a string");
  return std::optional<std::string>(it->get<std::string>());
}

// A NumericDate claim (RFC 7519 §2), in seconds since 1970; integers and fractions both occur.
StatusOr<std::optional<double>> NumericDateClaim(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_number())
    return InvalidArgumentError(std::string("the ID token's \"") + name + "\" is not a number");
  return std::optional<double>(it->get<double>());
}

TimePoint ToTimePoint(double seconds) {
  seconds = std::clamp(seconds, -kMaxSeconds, kMaxSeconds);
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
}

std::string AudienceForMessages(const std::vector<std::string>& audience) {
  std::string out = "[";
  for (std::size_t i = 0; i < audience.size() && i < kMaxQuotedAudiences; ++i) {
    out += (i == 0 ? "\"" : ", \"") + Printable(audience[i]) + "\"";
  }
  if (audience.size() > kMaxQuotedAudiences) out += ", ...";
  return out + "]";
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

StatusOr<IdTokenClaims> CheckClaims(const json& claims, const IdTokenExpectations& expect) {
  IdTokenClaims out;

  LATCHKEY_ASSIGN_OR_RETURN(std::optional<std::string> issuer, StringClaim(claims, "iss"));
  if (!issuer) return PermissionDeniedError("the ID token has no issuer (\"iss\")");
  if (*issuer != expect.issuer) {
    return PermissionDeniedError("the ID token's issuer '" + Printable(*issuer) + "' is not '" +
                                 expect.issuer + "'");
  }
  out.issuer = std::move(*issuer);

  std::vector<std::string> audience;
  auto aud = claims.find("aud");
  if (aud == claims.end()) return PermissionDeniedError("the ID token has no audience (\"aud\")");
  if (aud->is_string()) {
    audience.push_back(aud->get<std::string>());
  } else if (aud->is_array()) {
    for (const json& item : *aud) {
      if (!item.is_string())
        return InvalidArgumentError("the ID token's \"aud\" has a value that is not a string");
      audience.push_back(item.get<std::string>());
    }
  } else {
    return InvalidArgumentError("the ID token's \"aud\" is neither a string nor an array");
  }
  if (std::find(audience.begin(), audience.end(), expect.client_id) == audience.end()) {
    return PermissionDeniedError("the ID token's audience " + AudienceForMessages(audience) +
                                 " does not include client id '" + expect.client_id + "'");
  }
  // OIDC Core §3.1.3.7 steps 4 and 5: with several audiences the token must say which one it
  // was issued to; when it says, that must be us.
  LATCHKEY_ASSIGN_OR_RETURN(std::optional<std::string> azp, StringClaim(claims, "azp"));
  if (audience.size() > 1 && !azp) {
    return PermissionDeniedError("the ID token has several audiences but no authorized party (\"azp\")");
  }
  if (azp && *azp != expect.client_id) {
    return PermissionDeniedError("the ID token's authorized party (\"azp\") '" + Printable(*azp) +
                                 "' is not client id '" + expect.client_id + "'");
  }

  const double now = std::chrono::duration<double>(expect.now.time_since_epoch()).count();
  const double leeway = std::chrono::duration<double>(expect.leeway).count();
  LATCHKEY_ASSIGN_OR_RETURN(std::optional<double> exp, NumericDateClaim(claims, "exp"));
  if (!exp) return PermissionDeniedError("the ID token has no expiry (\"exp\")");
  out.expires_at = ToTimePoint(*exp);
  if (!(*exp + leeway > now)) {
    return PermissionDeniedError("the ID token expired at " + FormatRfc3339(out.expires_at));
  }
  LATCHKEY_ASSIGN_OR_RETURN(std::optional<double> iat, NumericDateClaim(claims, "iat"));
  if (!iat) return PermissionDeniedError("the ID token has no issue time (\"iat\")");
  if (*iat > now + leeway) {
    return PermissionDeniedError("the ID token was issued in the future, at " +
                                 FormatRfc3339(ToTimePoint(*iat)));
  }
  LATCHKEY_ASSIGN_OR_RETURN(std::optional<double> nbf, NumericDateClaim(claims, "nbf"));
  if (nbf && *nbf > now + leeway) {
    return PermissionDeniedError("the ID token is not valid before " + FormatRfc3339(ToTimePoint(*nbf)));
  }

  if (!expect.nonce.empty()) {
    LATCHKEY_ASSIGN_OR_RETURN(std::optional<std::string> nonce, StringClaim(claims, "nonce"));
    if (!nonce) return PermissionDeniedError("the ID token has no nonce, but one was sent");
    if (!ConstantTimeEquals(*nonce, expect.nonce)) {
      return PermissionDeniedError("the ID token's nonce does not match the one sent");
    }
  }

  LATCHKEY_ASSIGN_OR_RETURN(std::optional<std::string> sub, StringClaim(claims, "sub"));
  if (!sub || sub->empty()) return PermissionDeniedError("the ID token has no subject (\"sub\")");
  if (sub->size() > kMaxSubjectLength) {
    return PermissionDeniedError("the ID token's subject is longer than " +
                                 std::to_string(kMaxSubjectLength) + " characters");
  }
  out.sub = std::move(*sub);

  // Profile claims are informational: a wrong type leaves them empty rather than failing.
  out.email = StringMember(claims, "email");
  out.name = StringMember(claims, "name");
  out.preferred_username = StringMember(claims, "preferred_username");
  if (auto verified = claims.find("email_verified"); verified != claims.end()) {
    // Some issuers (AWS Cognito) send the string "true".
    out.email_verified =
        verified->is_boolean() ? verified->get<bool>() : StringMember(claims, "email_verified") == "true";
  }
  return out;
}

}  // namespace

std::size_t Jwks::size() const { return keys_ ? keys_->size() : 0; }

bool Jwks::HasKey(std::string_view kid) const {
  if (!keys_) return false;
  return std::any_of(keys_->begin(), keys_->end(),
                     [&](const Key& key) { return key.kid && *key.kid == kid; });
}

StatusOr<Jwks> Jwks::Parse(std::string_view body) {
  ErrorQueueClearer clear_errors;
  if (body.size() > kMaxJwksSize) {
    return InvalidArgumentError("the JWKS is larger than " + std::to_string(kMaxJwksSize) + " bytes");
  }
  json document = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object())
    return InvalidArgumentError("the JWKS is not a JSON object");
  auto list = document.find("keys");
  if (list == document.end() || !list->is_array())
    return InvalidArgumentError("the JWKS has no \"keys\" array");
  if (list->size() > kMaxKeys) {
    return InvalidArgumentError("the JWKS has " + std::to_string(list->size()) +
                                " keys; latchkey accepts at most " + std::to_string(kMaxKeys));
  }
  auto keys = std::make_shared<std::vector<Key>>();
  for (std::size_t i = 0; i < list->size(); ++i) {
    LATCHKEY_ASSIGN_OR_RETURN(std::optional<Key> key, ParseKey((*list)[i], i));
    if (key) keys->push_back(std::move(*key));
  }
  Jwks out;
  out.keys_ = std::move(keys);
  return out;
}

StatusOr<IdTokenClaims> VerifyIdToken(std::string_view id_token, const Jwks& keys,
                                      const IdTokenExpectations& expect) {
  ErrorQueueClearer clear_errors;
  if (expect.issuer.empty() || expect.client_id.empty()) {
    return InvalidArgumentError("verifying an ID token needs the expected issuer and client id");
  }
  LATCHKEY_ASSIGN_OR_RETURN(Parts parts, SplitCompact(id_token));
  LATCHKEY_ASSIGN_OR_RETURN(json header, DecodeJsonObject(parts.header, "header"));
  std::optional<Bytes> signature = DecodeBase64Url(parts.signature);
  if (!signature) return InvalidArgumentError("the ID token's signature is not base64url");

  auto alg_member = header.find("alg");
  if (alg_member == header.end() || !alg_member->is_string()) {
    return InvalidArgumentError("the ID token's header has no \"alg\" string");
  }
  const std::string& alg_name = alg_member->get_ref<const std::string&>();
  if (alg_name == "none") return PermissionDeniedError("the ID token is unsigned (alg \"none\")");
  if (alg_name.starts_with("HS")) {
    return PermissionDeniedError("the ID token uses " + Printable(alg_name) +
                                 ", a shared-secret algorithm that a client must not accept");
  }
  const Algorithm* alg = nullptr;
  for (const Algorithm& candidate : kAlgorithms) {
    if (candidate.name == alg_name) alg = &candidate;
  }
  if (alg == nullptr) {
    return PermissionDeniedError("the ID token's algorithm '" + Printable(alg_name) + "' is not supported");
  }
  // RFC 7515 §4.1.11: extensions named in "crit" must be understood, and latchkey knows none.
  if (header.contains("crit")) {
    return PermissionDeniedError(
        "the ID token's header has critical extensions (\"crit\"), which latchkey does "
        "not support");
  }

  // Only keys from the issuer's JWKS: a "jwk" or "jku" in the header is the forger's choice.
  std::vector<const Key*> candidates;
  const std::vector<Key> no_keys;
  const std::vector<Key>& all = keys.keys_ ? *keys.keys_ : no_keys;
  if (auto kid = header.find("kid"); kid != header.end()) {
    if (!kid->is_string()) return InvalidArgumentError("the ID token's \"kid\" is not a string");
    const std::string& wanted = kid->get_ref<const std::string&>();
    bool known = false;
    for (const Key& key : all) {
      if (!key.kid || *key.kid != wanted) continue;
      known = true;
      if (Suits(key, *alg)) candidates.push_back(&key);
    }
    if (!known) {
      return NotFoundError("the ID token names key '" + Printable(wanted) +
                           "', which the issuer's JWKS does not have");
    }
    if (candidates.empty()) {
      return PermissionDeniedError("the ID token names key '" + Printable(wanted) +
                                   "', which cannot verify " + std::string(alg->name));
    }
  } else {
    for (const Key& key : all) {
      if (Suits(key, *alg)) candidates.push_back(&key);
    }
    if (candidates.empty()) {
      return NotFoundError("the ID token names no key, and the issuer's JWKS has none for " +
                           std::string(alg->name));
    }
    if (candidates.size() > 1) {
      return PermissionDeniedError("the ID token names no key (\"kid\"), and the issuer's JWKS has " +
                                   std::to_string(candidates.size()) + " keys for " + std::string(alg->name) +
                                   "; refusing to guess");
    }
  }

  // The signature covers the parts as sent (RFC 7515 §5.2), not a re-encoding.
  const std::string_view signing_input = id_token.substr(0, parts.header.size() + 1 + parts.payload.size());
  // Several candidates only when the JWKS repeats a kid; any of the issuer's keys will do.
  Status verified;
  for (const Key* key : candidates) {
    verified = VerifySignature(*alg, *key, signing_input, *signature);
    if (verified.ok()) break;
  }
  LATCHKEY_RETURN_IF_ERROR(verified);

  LATCHKEY_ASSIGN_OR_RETURN(json claims, DecodeJsonObject(parts.payload, "payload"));
  return CheckClaims(claims, expect);
}

std::string IdTokenKeyId(std::string_view id_token) {
  if (id_token.size() > kMaxTokenSize) return "";
  std::optional<Bytes> header = DecodeBase64Url(id_token.substr(0, id_token.find('.')));
  if (!header) return "";
  json object = json::parse(*header, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) return "";
  return StringMember(object, "kid");
}

}  // namespace latchkey::oauth
