#include "oauth/id_token.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "common/encoding.h"

namespace latchkey::oauth {
namespace {

using nlohmann::json;

constexpr int64_t kNowSeconds = 1'790'000'000;  // 2026-09-21
const TimePoint kNow = FromUnixMillis(kNowSeconds * 1000);
constexpr const char* kIssuer = "https://id.example";
constexpr const char* kClientId = "latchkey-client";
constexpr const char* kNonce = "n-0S6_WzA2Mj";

// ---- a test-only JWS signer ----

struct PkeyFree {
  void operator()(EVP_PKEY* pkey) const { EVP_PKEY_free(pkey); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

struct TestKeys {
  Pkey rsa{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048))};
  Pkey rsa_other{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048))};
  Pkey rsa_small{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024))};
  Pkey ec{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  Pkey ed{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
};

// Generated once: RSA key generation is slow.
const TestKeys& Keys() {
  static const TestKeys keys;
  return keys;
}

std::string B64(std::string_view text) { return Base64UrlEncode(AsBytes(text)); }

std::string BnParam(EVP_PKEY* key, const char* name, int size = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
  Bytes out(static_cast<std::size_t>(size > 0 ? size : BN_num_bytes(bn)));
  BN_bn2binpad(bn, out.data(), static_cast<int>(out.size()));
  BN_free(bn);
  return Base64UrlEncode(out);
}

json Jwk(EVP_PKEY* key, const std::string& kid) {
  json jwk;
  if (EVP_PKEY_is_a(key, "RSA") == 1) {
    jwk = {{"kty", "RSA"},
           {"n", BnParam(key, OSSL_PKEY_PARAM_RSA_N)},
           {"e", BnParam(key, OSSL_PKEY_PARAM_RSA_E)}};
  } else if (EVP_PKEY_is_a(key, "EC") == 1) {
    jwk = {{"kty", "EC"},
           {"crv", "P-256"},
           {"x", BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32)},
           {"y", BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32)}};
  } else {
    Bytes raw(32);
    std::size_t length = raw.size();
    EXPECT_EQ(EVP_PKEY_get_raw_public_key(key, raw.data(), &length), 1);
    jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", Base64UrlEncode(raw)}};
  }
  if (!kid.empty()) jwk["kid"] = kid;
  return jwk;
}

std::string Sign(const std::string& alg, EVP_PKEY* key, std::string_view input) {
  const EVP_MD* digest = alg.ends_with("256")   ? EVP_sha256()
                         : alg.ends_with("384") ? EVP_sha384()
                                                : EVP_sha512();
  if (alg == "EdDSA") digest = nullptr;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pkey_ctx = nullptr;
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), &pkey_ctx, digest, nullptr, key), 1);
  if (alg.starts_with("PS")) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, RSA_PSS_SALTLEN_DIGEST), 1);
  }
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()), 1);
  Bytes signature(length);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), signature.data(), &length, data, input.size()), 1);
  signature.resize(length);
  if (!alg.starts_with("ES")) return std::string(signature.begin(), signature.end());
  // DER → R || S, as JWS carries it.
  const unsigned char* p = signature.data();
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size())));
  Bytes raw(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + 32, 32);
  return std::string(raw.begin(), raw.end());
}

std::string MakeToken(const json& header, const json& claims, EVP_PKEY* key) {
  std::string input = B64(header.dump()) + "." + B64(claims.dump());
  return input + "." + B64(Sign(header.at("alg").get<std::string>(), key, input));
}

json Claims() {
  return {{"iss", kIssuer},
          {"aud", kClientId},
          {"sub", "user-123"},
          {"email", "ada@example.com"},
          {"email_verified", true},
          {"name", "Ada Lovelace"},
          {"preferred_username", "ada"},
          {"nonce", kNonce},
          {"iat", kNowSeconds - 10},
          {"exp", kNowSeconds + 3600}};
}

json Header(const std::string& alg, const std::string& kid) {
  json header = {{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  return header;
}

std::string Rs256(const json& claims) { return MakeToken(Header("RS256", "rsa1"), claims, Keys().rsa.get()); }

IdTokenExpectations Expect() {
  IdTokenExpectations expect;
  expect.issuer = kIssuer;
  expect.client_id = kClientId;
  expect.nonce = kNonce;
  expect.now = kNow;
  return expect;
}

Jwks ParseJwks(std::initializer_list<json> keys) {
  json document = json::object();
  document["keys"] = json::array();
  for (const json& key : keys) document["keys"].push_back(key);
  StatusOr<Jwks> jwks = Jwks::Parse(document.dump());
  EXPECT_TRUE(jwks.ok()) << jwks.status().ToString();
  return jwks.ok() ? *jwks : Jwks();
}

// The issuer's keys: one RSA, one EC P-256 and one Ed25519 key.
const Jwks& IssuerKeys() {
  static const Jwks keys =
      ParseJwks({Jwk(Keys().rsa.get(), "rsa1"), Jwk(Keys().ec.get(), "ec1"), Jwk(Keys().ed.get(), "ed1")});
  return keys;
}

StatusOr<IdTokenClaims> Verify(std::string_view token, const IdTokenExpectations& expect = Expect()) {
  return VerifyIdToken(token, IssuerKeys(), expect);
}

// Refused with `code`, the message naming `fragment` and quoting no part of the token.
testing::AssertionResult Refused(const StatusOr<IdTokenClaims>& result, StatusCode code,
                                 std::string_view fragment, std::string_view token) {
  if (result.ok()) return testing::AssertionFailure() << "accepted";
  const std::string message = result.status().message();
  if (result.status().code() != code) return testing::AssertionFailure() << result.status().ToString();
  if (message.find(fragment) == std::string::npos) {
    return testing::AssertionFailure() << "'" << message << "' does not mention '" << fragment << "'";
  }
  std::size_t start = 0;
  while (start <= token.size()) {
    std::size_t end = std::min(token.find('.', start), token.size());
    std::string_view part = token.substr(start, end - start);
    if (part.size() >= 8 && message.find(part) != std::string::npos) {
      return testing::AssertionFailure() << "'" << message << "' quotes the token";
    }
    start = end + 1;
  }
  return testing::AssertionSuccess();
}

// ---- accepted tokens ----

TEST(IdTokenTest, AcceptsRs256AndReadsClaims) {
  auto claims = Verify(Rs256(Claims()));
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(claims->sub, "user-123");
  EXPECT_EQ(claims->email, "ada@example.com");
  EXPECT_TRUE(claims->email_verified);
  EXPECT_EQ(claims->name, "Ada Lovelace");
  EXPECT_EQ(claims->preferred_username, "ada");
  EXPECT_EQ(claims->issuer, kIssuer);
  EXPECT_EQ(claims->expires_at, FromUnixMillis((kNowSeconds + 3600) * 1000));
}

TEST(IdTokenTest, AcceptsPs256) {
  auto claims = Verify(MakeToken(Header("PS256", "rsa1"), Claims(), Keys().rsa.get()));
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(claims->sub, "user-123");
}

TEST(IdTokenTest, AcceptsEs256) {
  auto claims = Verify(MakeToken(Header("ES256", "ec1"), Claims(), Keys().ec.get()));
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(claims->sub, "user-123");
}

TEST(IdTokenTest, AcceptsEdDsa) {
  auto claims = Verify(MakeToken(Header("EdDSA", "ed1"), Claims(), Keys().ed.get()));
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(claims->sub, "user-123");
}

TEST(IdTokenTest, AcceptsNoKidWhenOneKeySuitsTheAlgorithm) {
  auto claims = Verify(MakeToken(Header("RS256", ""), Claims(), Keys().rsa.get()));
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
}

TEST(IdTokenTest, AcceptsFractionalTimesAndLeavesOddProfileClaimsEmpty) {
  json claims = Claims();
  claims["exp"] = static_cast<double>(kNowSeconds) + 60.5;
  claims["iat"] = static_cast<double>(kNowSeconds) - 0.25;
  claims["email"] = 42;
  claims["email_verified"] = "true";
  auto result = Verify(Rs256(claims));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->expires_at, FromUnixMillis(kNowSeconds * 1000 + 60'500));
  EXPECT_EQ(result->email, "");
  EXPECT_TRUE(result->email_verified);
}

// ---- signature and header ----

TEST(IdTokenTest, RefusesSignatureOfAnotherKeyWithTheSameKid) {
  std::string token = MakeToken(Header("RS256", "rsa1"), Claims(), Keys().rsa_other.get());
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied,
                      "signature does not verify with key 'rsa1'", token));
}

TEST(IdTokenTest, RefusesTamperedPayload) {
  std::string token = Rs256(Claims());
  json forged = Claims();
  forged["sub"] = "admin";
  std::size_t first = token.find('.');
  std::size_t second = token.find('.', first + 1);
  std::string tampered = token.substr(0, first + 1) + B64(forged.dump()) + token.substr(second);
  EXPECT_TRUE(
      Refused(Verify(tampered), StatusCode::kPermissionDenied, "signature does not verify", tampered));
}

TEST(IdTokenTest, RefusesTamperedEcdsaSignatureLength) {
  std::string token = MakeToken(Header("ES256", "ec1"), Claims(), Keys().ec.get());
  token += "AAAA";  // 67 bytes of signature
  EXPECT_TRUE(
      Refused(Verify(token), StatusCode::kPermissionDenied, "an ES256 signature has 64 bytes", token));
}

TEST(IdTokenTest, RefusesAlgNone) {
  std::string token = B64(R"({"alg":"none"})") + "." + B64(Claims().dump()) + ".";
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied, "unsigned (alg \"none\")", token));
}

TEST(IdTokenTest, RefusesHs256) {
  std::string token =
      B64(R"({"alg":"HS256","kid":"rsa1"})") + "." + B64(Claims().dump()) + "." + B64("0123456789abcdef");
  EXPECT_TRUE(
      Refused(Verify(token), StatusCode::kPermissionDenied, "uses HS256, a shared-secret algorithm", token));
}

TEST(IdTokenTest, RefusesUnknownAlgorithm) {
  std::string token = B64(R"({"alg":"RS1","kid":"rsa1"})") + "." + B64(Claims().dump()) + "." + B64("sig");
  EXPECT_TRUE(
      Refused(Verify(token), StatusCode::kPermissionDenied, "algorithm 'RS1' is not supported", token));
}

TEST(IdTokenTest, RefusesCritHeader) {
  json header = Header("RS256", "rsa1");
  header["crit"] = {"exp"};
  header["exp"] = kNowSeconds;
  std::string token = MakeToken(header, Claims(), Keys().rsa.get());
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied, "critical extensions (\"crit\")", token));
}

TEST(IdTokenTest, RefusesKeyOfAnotherTypeThanTheAlgorithm) {
  std::string token = MakeToken(Header("RS256", "ec1"), Claims(), Keys().rsa.get());
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied,
                      "names key 'ec1', which cannot verify RS256", token));
}

TEST(IdTokenTest, UnknownKidIsNotFoundUntilTheJwksHasIt) {
  std::string token = MakeToken(Header("RS256", "k9"), Claims(), Keys().rsa_other.get());
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kNotFound,
                      "the ID token names key 'k9', which the issuer's JWKS does not have", token));
  EXPECT_EQ(IdTokenKeyId(token), "k9");
  EXPECT_FALSE(IssuerKeys().HasKey("k9"));
  Jwks refetched = ParseJwks({Jwk(Keys().rsa.get(), "rsa1"), Jwk(Keys().rsa_other.get(), "k9")});
  EXPECT_TRUE(refetched.HasKey("k9"));
  EXPECT_TRUE(VerifyIdToken(token, refetched, Expect()).ok());
}

TEST(IdTokenTest, RefusesNoKidWithTwoRsaKeys) {
  Jwks two = ParseJwks({Jwk(Keys().rsa.get(), "rsa1"), Jwk(Keys().rsa_other.get(), "rsa2")});
  std::string token = MakeToken(Header("RS256", ""), Claims(), Keys().rsa.get());
  EXPECT_TRUE(Refused(VerifyIdToken(token, two, Expect()), StatusCode::kPermissionDenied,
                      "has 2 keys for RS256; refusing to guess", token));
}

TEST(IdTokenTest, NoKeyForTheAlgorithmIsNotFound) {
  Jwks rsa_only = ParseJwks({Jwk(Keys().rsa.get(), "rsa1")});
  std::string token = MakeToken(Header("ES256", ""), Claims(), Keys().ec.get());
  EXPECT_TRUE(
      Refused(VerifyIdToken(token, rsa_only, Expect()), StatusCode::kNotFound, "has none for ES256", token));
}

TEST(IdTokenTest, RefusesWrongNumberOfParts) {
  std::string token = Rs256(Claims());
  std::string two = token.substr(0, token.rfind('.'));
  EXPECT_TRUE(Refused(Verify(two), StatusCode::kInvalidArgument, "has 2 parts; a signed JWT has 3", two));
  std::string four = token + "." + B64("more");
  EXPECT_TRUE(Refused(Verify(four), StatusCode::kInvalidArgument, "has 4 parts", four));
  EXPECT_TRUE(Refused(Verify(""), StatusCode::kInvalidArgument, "has 1 part; a signed JWT has 3", ""));
}

TEST(IdTokenTest, RefusesLaxBase64) {
  std::string token = Rs256(Claims());
  EXPECT_TRUE(
      Refused(Verify(token + "="), StatusCode::kInvalidArgument, "signature is not base64url", token));
  std::string header = B64(Header("RS256", "rsa1").dump());
  std::string plus = header + "+" + token.substr(token.find('.'));
  EXPECT_TRUE(Refused(Verify(plus), StatusCode::kInvalidArgument, "header is not base64url", plus));
}

TEST(IdTokenTest, RefusesHeaderThatIsNotAnObject) {
  std::string token = B64("[1]") + "." + B64(Claims().dump()) + "." + B64("sig");
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kInvalidArgument, "header is not a JSON object", token));
}

TEST(IdTokenTest, RefusesOversizedToken) {
  json claims = Claims();
  claims["padding"] = std::string(std::size_t{17} * 1024, 'a');
  std::string token = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kInvalidArgument, "longer than 16384 bytes", token));
}

// ---- claims ----

TEST(IdTokenTest, RefusesWrongIssuer) {
  json claims = Claims();
  claims["iss"] = "https://evil";
  std::string token = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied,
                      "the ID token's issuer 'https://evil' is not 'https://id.example'", token));
}

TEST(IdTokenTest, QuotesAttackerTextAsShortPrintableAscii) {
  json claims = Claims();
  claims["iss"] = "https://evil\x1b[31m\n" + std::string(300, 'a');
  std::string token = Rs256(claims);
  auto result = Verify(token);
  EXPECT_TRUE(Refused(result, StatusCode::kPermissionDenied, "issuer 'https://evil?[31m?aaa", token));
  EXPECT_EQ(result.status().message().find('\x1b'), std::string::npos);
  EXPECT_NE(result.status().message().find("a...'"), std::string::npos);
  EXPECT_LT(result.status().message().size(), 200u);
}

TEST(IdTokenTest, RefusesAudienceWithoutClientId) {
  json claims = Claims();
  claims["aud"] = {"x"};
  std::string token = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied,
                      "the ID token's audience [\"x\"] does not include client id 'latchkey-client'", token));
}

TEST(IdTokenTest, SeveralAudiencesNeedAzpNamingTheClient) {
  json claims = Claims();
  claims["aud"] = {"other", kClientId};
  std::string without = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(without), StatusCode::kPermissionDenied,
                      "several audiences but no authorized party", without));
  claims["azp"] = "other";
  std::string wrong = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(wrong), StatusCode::kPermissionDenied,
                      "authorized party (\"azp\") 'other' is not client id 'latchkey-client'", wrong));
  claims["azp"] = kClientId;
  EXPECT_TRUE(Verify(Rs256(claims)).ok());
}

TEST(IdTokenTest, ExpiryAllowsTheLeeway) {
  json claims = Claims();
  claims["exp"] = kNowSeconds - 119;
  EXPECT_TRUE(Verify(Rs256(claims)).ok());
  claims["exp"] = kNowSeconds - 120;
  std::string token = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied,
                      "the ID token expired at " + FormatRfc3339(FromUnixMillis((kNowSeconds - 120) * 1000)),
                      token));
  IdTokenExpectations strict = Expect();
  strict.leeway = std::chrono::seconds(0);
  claims["exp"] = kNowSeconds + 1;
  EXPECT_TRUE(Verify(Rs256(claims), strict).ok());
}

TEST(IdTokenTest, RefusesIssueTimeInTheFuture) {
  json claims = Claims();
  claims["iat"] = kNowSeconds + 119;
  EXPECT_TRUE(Verify(Rs256(claims)).ok());
  claims["iat"] = kNowSeconds + 121;
  std::string token = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied, "was issued in the future", token));
}

TEST(IdTokenTest, RefusesNotBeforeInTheFuture) {
  json claims = Claims();
  claims["nbf"] = kNowSeconds + 300;
  std::string token = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied, "is not valid before", token));
}

TEST(IdTokenTest, RefusesMissingOrMistypedTimes) {
  json claims = Claims();
  claims.erase("exp");
  std::string no_exp = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(no_exp), StatusCode::kPermissionDenied, "has no expiry (\"exp\")", no_exp));
  claims["exp"] = std::to_string(kNowSeconds + 3600);
  std::string text_exp = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(text_exp), StatusCode::kInvalidArgument, "\"exp\" is not a number", text_exp));
  claims = Claims();
  claims.erase("iat");
  std::string no_iat = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(no_iat), StatusCode::kPermissionDenied, "has no issue time (\"iat\")", no_iat));
}

TEST(IdTokenTest, RefusesNonceMismatch) {
  json claims = Claims();
  claims["nonce"] = "another";
  std::string token = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied,
                      "the ID token's nonce does not match the one sent", token));
}

TEST(IdTokenTest, RefusesMissingNonceWhenOneWasSent) {
  json claims = Claims();
  claims.erase("nonce");
  std::string token = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kPermissionDenied, "has no nonce, but one was sent", token));
}

TEST(IdTokenTest, DoesNotCheckNonceWhenNoneWasSent) {
  IdTokenExpectations expect = Expect();
  expect.nonce.clear();
  json claims = Claims();
  claims["nonce"] = "whatever";
  EXPECT_TRUE(Verify(Rs256(claims), expect).ok());
  claims.erase("nonce");
  EXPECT_TRUE(Verify(Rs256(claims), expect).ok());
}

TEST(IdTokenTest, RefusesMissingOrOverlongSubject) {
  json claims = Claims();
  claims.erase("sub");
  std::string missing = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(missing), StatusCode::kPermissionDenied, "has no subject (\"sub\")", missing));
  claims["sub"] = "";
  std::string empty = Rs256(claims);
  EXPECT_TRUE(Refused(Verify(empty), StatusCode::kPermissionDenied, "has no subject (\"sub\")", empty));
  claims["sub"] = std::string(256, 's');
  std::string overlong = Rs256(claims);
  EXPECT_TRUE(
      Refused(Verify(overlong), StatusCode::kPermissionDenied, "subject is longer than 255", overlong));
}

TEST(IdTokenTest, RefusesPayloadThatIsNotAnObject) {
  json header = Header("RS256", "rsa1");
  std::string input = B64(header.dump()) + "." + B64("\"just a string\"");
  std::string token = input + "." + B64(Sign("RS256", Keys().rsa.get(), input));
  EXPECT_TRUE(Refused(Verify(token), StatusCode::kInvalidArgument, "payload is not a JSON object", token));
}

TEST(IdTokenKeyIdTest, ReadsTheKidAndNeverFails) {
  EXPECT_EQ(IdTokenKeyId(Rs256(Claims())), "rsa1");
  EXPECT_EQ(IdTokenKeyId(MakeToken(Header("RS256", ""), Claims(), Keys().rsa.get())), "");
  EXPECT_EQ(IdTokenKeyId(""), "");
  EXPECT_EQ(IdTokenKeyId("not a token"), "");
  EXPECT_EQ(IdTokenKeyId(B64(R"({"kid":7})") + ".x.y"), "");
}

// ---- JWKS ----

TEST(JwksTest, KeepsRsaEcAndEd25519Keys) {
  EXPECT_EQ(IssuerKeys().size(), 3u);
  EXPECT_TRUE(IssuerKeys().HasKey("rsa1"));
  EXPECT_TRUE(IssuerKeys().HasKey("ec1"));
  EXPECT_TRUE(IssuerKeys().HasKey("ed1"));
  EXPECT_FALSE(IssuerKeys().HasKey("rsa"));
  EXPECT_EQ(Jwks().size(), 0u);
}

TEST(JwksTest, SkipsEncryptionKeysAndUnknownTypes) {
  json enc = Jwk(Keys().rsa.get(), "enc1");
  enc["use"] = "enc";
  json wrap_only = Jwk(Keys().rsa.get(), "wrap1");
  wrap_only["key_ops"] = {"wrapKey"};
  json x25519 = {{"kty", "OKP"}, {"crv", "X25519"}, {"x", B64("k")}, {"kid", "x1"}};
  json secp256k1 = {{"kty", "EC"}, {"crv", "secp256k1"}, {"x", "!"}, {"y", "!"}, {"kid", "k1"}};
  json oct = {{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hmac"}};
  json sig = Jwk(Keys().rsa.get(), "sig1");
  sig["use"] = "sig";
  Jwks jwks = ParseJwks({enc, wrap_only, x25519, secp256k1, oct, sig});
  EXPECT_EQ(jwks.size(), 1u);
  EXPECT_TRUE(jwks.HasKey("sig1"));
  EXPECT_FALSE(jwks.HasKey("enc1"));
  std::string token = MakeToken(Header("RS256", "enc1"), Claims(), Keys().rsa.get());
  EXPECT_TRUE(
      Refused(VerifyIdToken(token, jwks, Expect()), StatusCode::kNotFound, "names key 'enc1'", token));
}

TEST(JwksTest, KeyAlgRestrictsTheAlgorithm) {
  json jwk = Jwk(Keys().rsa.get(), "rsa1");
  jwk["alg"] = "RS256";
  Jwks jwks = ParseJwks({jwk});
  EXPECT_TRUE(VerifyIdToken(Rs256(Claims()), jwks, Expect()).ok());
  std::string token = MakeToken(Header("PS256", "rsa1"), Claims(), Keys().rsa.get());
  EXPECT_TRUE(Refused(VerifyIdToken(token, jwks, Expect()), StatusCode::kPermissionDenied,
                      "cannot verify PS256", token));
}

testing::AssertionResult JwksRefused(std::string_view body, std::string_view fragment) {
  StatusOr<Jwks> jwks = Jwks::Parse(body);
  if (jwks.ok()) return testing::AssertionFailure() << "accepted";
  if (jwks.status().code() != StatusCode::kInvalidArgument)
    return testing::AssertionFailure() << jwks.status().ToString();
  if (jwks.status().message().find(fragment) == std::string::npos) {
    return testing::AssertionFailure()
           << "'" << jwks.status().message() << "' does not mention '" << fragment << "'";
  }
  return testing::AssertionSuccess();
}

TEST(JwksTest, RefusesDocumentsThatAreNotKeySets) {
  EXPECT_TRUE(JwksRefused("[]", "the JWKS is not a JSON object"));
  EXPECT_TRUE(JwksRefused("<html>", "the JWKS is not a JSON object"));
  EXPECT_TRUE(JwksRefused("{}", "the JWKS has no \"keys\" array"));
  EXPECT_TRUE(JwksRefused(R"({"keys":{}})", "the JWKS has no \"keys\" array"));
  EXPECT_TRUE(JwksRefused(R"({"keys":[1]})", "entry 0 of the JWKS's \"keys\" is not an object"));
  json many = json::array();
  for (int i = 0; i < 101; ++i) many.push_back({{"kty", "oct"}});
  EXPECT_TRUE(JwksRefused(json{{"keys", many}}.dump(), "the JWKS has 101 keys"));
  EXPECT_TRUE(JwksRefused(std::string(std::size_t{300} * 1024, ' '), "larger than 262144 bytes"));
}

TEST(JwksTest, RefusesBadBase64) {
  json jwk = Jwk(Keys().rsa.get(), "rsa1");
  jwk["n"] = jwk["n"].get<std::string>() + "=";
  EXPECT_TRUE(JwksRefused(json{{"keys", {jwk}}}.dump(), "key 'rsa1' has a \"n\" that is not base64url"));
  json ec = Jwk(Keys().ec.get(), "ec1");
  ec["x"] = "a+b/";
  EXPECT_TRUE(JwksRefused(json{{"keys", {ec}}}.dump(), "key 'ec1' has a \"x\" that is not base64url"));
  ec = Jwk(Keys().ec.get(), "ec1");
  ec.erase("y");
  EXPECT_TRUE(JwksRefused(json{{"keys", {ec}}}.dump(), "key 'ec1' has no \"y\" string"));
}

TEST(JwksTest, RefusesShortRsaModulus) {
  EXPECT_TRUE(JwksRefused(json{{"keys", {Jwk(Keys().rsa_small.get(), "small")}}}.dump(),
                          "key 'small' is an RSA key of 1024 bits"));
}

TEST(JwksTest, RefusesEcPointNotOnTheCurve) {
  json ec = Jwk(Keys().ec.get(), "ec1");
  std::optional<Bytes> y = Base64Decode(ec["y"].get<std::string>());
  ASSERT_TRUE(y.has_value());
  y->back() ^= 1;
  ec["y"] = Base64UrlEncode(*y);
  EXPECT_TRUE(JwksRefused(json{{"keys", {ec}}}.dump(), "key 'ec1' is not a point on P-256"));
}

}  // namespace
}  // namespace latchkey::oauth
