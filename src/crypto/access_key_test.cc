#include "crypto/access_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace latchkey::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

Random& random() { return SystemRandom::Instance(); }

void ExpectMalformed(std::string_view prefix, const std::string& text) {
  StatusOr<PresentedKey> parsed = ParseAccessKey(prefix, text);
  ASSERT_FALSE(parsed.ok()) << "accepted: " << text;
  EXPECT_EQ(parsed.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(parsed.status().message(), "malformed key");
}

TEST(AccessKeyTest, IssuedKeyHasDocumentedForm) {
  IssuedKey issued = IssueAccessKey("lk", random());
  EXPECT_THAT(issued.id, MatchesRegex("[0-9a-f]{16}"));
  EXPECT_THAT(std::string(issued.key.reveal()), MatchesRegex("lk_[0-9a-f]{16}_[-_A-Za-z0-9]{43}"));
  EXPECT_TRUE(issued.key.reveal().starts_with("lk_" + issued.id + "_"));
  EXPECT_EQ(issued.hash.size(), 32u);
}

TEST(AccessKeyTest, IssueParseVerifyRoundTrips) {
  for (std::string_view prefix : {"lk", "lka"}) {
    IssuedKey issued = IssueAccessKey(prefix, random());
    StatusOr<PresentedKey> presented = ParseAccessKey(prefix, issued.key.reveal());
    ASSERT_TRUE(presented.ok()) << presented.status().ToString();
    EXPECT_EQ(presented->id, issued.id);
    EXPECT_EQ(presented->secret.size(), 43u);
    EXPECT_TRUE(VerifyAccessKeySecret(presented->secret, issued.hash));
    EXPECT_EQ(HashAccessKeySecret(presented->secret.reveal()), issued.hash);
  }
}

TEST(AccessKeyTest, HashDoesNotContainTheSecret) {
  IssuedKey issued = IssueAccessKey("lk", random());
  PresentedKey presented = *ParseAccessKey("lk", issued.key.reveal());
  std::string hash(issued.hash.begin(), issued.hash.end());
  EXPECT_THAT(hash, Not(HasSubstr(presented.secret.reveal().substr(0, 8))));
  EXPECT_NE(issued.hash,
            Bytes(AsBytes(presented.secret.reveal()).begin(), AsBytes(presented.secret.reveal()).end()));
}

TEST(AccessKeyTest, WrongOrRevokedSecretIsRejected) {
  IssuedKey issued = IssueAccessKey("lk", random());
  IssuedKey other = IssueAccessKey("lk", random());
  PresentedKey presented = *ParseAccessKey("lk", issued.key.reveal());
  PresentedKey presented_other = *ParseAccessKey("lk", other.key.reveal());

  EXPECT_FALSE(VerifyAccessKeySecret(presented_other.secret, issued.hash));
  EXPECT_FALSE(VerifyAccessKeySecret(presented.secret, other.hash));  // row re-keyed or revoked

  Bytes altered = issued.hash;
  altered[31] ^= 1;
  EXPECT_FALSE(VerifyAccessKeySecret(presented.secret, altered));
  EXPECT_FALSE(VerifyAccessKeySecret(presented.secret, Bytes(issued.hash.begin(), issued.hash.end() - 1)));
  Bytes longer = issued.hash;
  longer.push_back(0);
  EXPECT_FALSE(VerifyAccessKeySecret(presented.secret, longer));
  EXPECT_FALSE(VerifyAccessKeySecret(presented.secret, Bytes{}));
  EXPECT_FALSE(VerifyAccessKeySecret(SecretString(), issued.hash));

  std::string one_char_off(presented.secret.reveal());
  one_char_off[0] = one_char_off[0] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyAccessKeySecret(SecretString(one_char_off), issued.hash));
}

TEST(AccessKeyTest, OtherPrefixIsRefused) {
  IssuedKey agent = IssueAccessKey("lk", random());
  IssuedKey admin = IssueAccessKey("lka", random());
  ExpectMalformed("lka", std::string(agent.key.reveal()));
  ExpectMalformed("lk", std::string(admin.key.reveal()));
  ExpectMalformed("l", std::string(agent.key.reveal()));
}

TEST(AccessKeyTest, MalformedInputIsRefusedWithoutEchoingIt) {
  IssuedKey issued = IssueAccessKey("lk", random());
  const std::string key(issued.key.reveal());
  const std::string id = key.substr(3, 16);
  const std::string secret = key.substr(20);
  std::string uppercase_id = id;
  for (char& c : uppercase_id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (uppercase_id == id) uppercase_id[0] = 'A';
  std::string noncanonical = secret;  // the last char carries 2 unused bits that must be 0
  noncanonical.back() = noncanonical.back() == 'B' ? 'C' : 'B';

  for (const std::string& text : std::vector<std::string>{"",
                                                          "lk",
                                                          "lk_",
                                                          "lk__",
                                                          key + " ",
                                                          " " + key,
                                                          key + "\n",
                                                          key + "A",
                                                          key.substr(0, key.size() - 1),
                                                          "lk-" + id + "_" + secret,
                                                          "lk_" + id + "-" + secret,
                                                          "lk_" + id.substr(1) + "_" + secret + "A",
                                                          "lk_" + uppercase_id + "_" + secret,
                                                          "lk_" + id.substr(0, 15) + "g_" + secret,
                                                          "lk_" + id + "_" + secret.substr(0, 42) + "=",
                                                          "lk_" + id + "_" + secret.substr(0, 42) + "+",
                                                          "lk_" + id + "_" + secret.substr(0, 42) + ".",
                                                          "lk_" + id + "_" + noncanonical,
                                                          "LK_" + id + "_" + secret,
                                                          "Bearer " + key}) {
    ExpectMalformed("lk", text);
  }
  // Sanity: the canonical original still parses, so the cases above fail for their own reason.
  EXPECT_TRUE(ParseAccessKey("lk", key).ok());
}

TEST(AccessKeyTest, SecretMayContainUnderscores) {
  // Parsing is positional, so '_' inside the secret does not confuse it. The last char
  // carries 2 unused bits that must be zero: 'w' (0b110000) ends a canonical secret.
  const std::string secret = std::string(42, '_') + "w";
  StatusOr<PresentedKey> parsed = ParseAccessKey("lk", "lk_0123456789abcdef_" + secret);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->id, "0123456789abcdef");
  EXPECT_EQ(parsed->secret.reveal(), secret);
  ExpectMalformed("lk", "lk_0123456789abcdef_" + std::string(43, '_'));  // '_' = 0b111111
}

TEST(AccessKeyTest, IdsAndSecretsAreUnique) {
  std::set<std::string> ids;
  std::set<Bytes> hashes;
  constexpr int kKeys = 2000;
  for (int i = 0; i < kKeys; ++i) {
    IssuedKey issued = IssueAccessKey("lk", random());
    ids.insert(issued.id);
    hashes.insert(issued.hash);
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(hashes.size(), static_cast<std::size_t>(kKeys));
}

TEST(AccessKeyTest, HashIsDomainSeparated) {
  // Keyed: not the plain BLAKE2b-256 of the secret (which might be computed elsewhere).
  EXPECT_NE(HexEncode(HashAccessKeySecret("abc")),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  EXPECT_EQ(HashAccessKeySecret("abc"), HashAccessKeySecret("abc"));
  EXPECT_NE(HashAccessKeySecret("abc"), HashAccessKeySecret("abd"));
}

}  // namespace
}  // namespace latchkey::crypto
