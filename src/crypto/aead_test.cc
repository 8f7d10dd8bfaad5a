#include "crypto/aead.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace latchkey::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kPlaintext = "ya29.a0-refresh-token-value";

std::string Ad(std::string_view row = "42", std::string_view column = "access_token",
               std::string_view table = "connections") {
  return AssociatedData(table, row, column);
}

void ExpectDataLoss(const StatusOr<SecretString>& opened, std::string_view what) {
  ASSERT_FALSE(opened.ok()) << what;
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << what;
}

TEST(SymmetricKeyTest, FromBytesRoundTripsAndChecksLength) {
  Bytes raw(kKeyBytes);
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(i);
  StatusOr<SymmetricKey> key = SymmetricKey::FromBytes(raw);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(Bytes(key->bytes().begin(), key->bytes().end()), raw);

  raw.pop_back();
  StatusOr<SymmetricKey> short_key = SymmetricKey::FromBytes(raw);
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().code(), StatusCode::kInvalidArgument);
}

TEST(SymmetricKeyTest, GeneratedKeysDifferAndMovedFromIsEmpty) {
  SymmetricKey a = SymmetricKey::Generate();
  SymmetricKey b = SymmetricKey::Generate();
  ASSERT_EQ(a.bytes().size(), kKeyBytes);
  EXPECT_NE(Bytes(a.bytes().begin(), a.bytes().end()), Bytes(b.bytes().begin(), b.bytes().end()));

  const Bytes b_bytes(b.bytes().begin(), b.bytes().end());
  SymmetricKey c = std::move(b);
  EXPECT_TRUE(b.bytes().empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(Bytes(c.bytes().begin(), c.bytes().end()), b_bytes);
  a = std::move(c);
  EXPECT_TRUE(c.bytes().empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(Bytes(a.bytes().begin(), a.bytes().end()), b_bytes);
}

TEST(AssociatedDataTest, HasDocumentedFormAndIsUnambiguous) {
  EXPECT_EQ(AssociatedData("connections", "42", "access_token"), "latchkey/v1/connections/42/access_token");
  EXPECT_NE(AssociatedData("t", "a/b", "c"), AssociatedData("t", "a", "b/c"));
  EXPECT_NE(AssociatedData("t", "a%2Fb", "c"), AssociatedData("t", "a/b", "c"));
}

TEST(AeadTest, RoundTrips) {
  SymmetricKey key = SymmetricKey::Generate();
  for (std::string plaintext : {std::string(), std::string(kPlaintext), std::string(10000, 'x')}) {
    Bytes sealed = Seal(key, 7, AsBytes(plaintext), Ad());
    StatusOr<SecretString> opened = Open(key, sealed, Ad());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->reveal(), plaintext);
  }
}

TEST(AeadTest, SealedValueHasDocumentedLayout) {
  SymmetricKey key = SymmetricKey::Generate();
  Bytes sealed = Seal(key, 0x0102030405060708, AsBytes(kPlaintext), Ad());
  ASSERT_EQ(sealed.size(), 1 + 8 + 24 + kPlaintext.size() + 16);
  EXPECT_EQ(sealed[0], 1);
  EXPECT_EQ(Bytes(sealed.begin() + 1, sealed.begin() + 9), (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(std::string(sealed.begin() + 33, sealed.end()).find(kPlaintext), std::string::npos);
}

TEST(AeadTest, SealedKeyIdReadsBackTheKeyId) {
  SymmetricKey key = SymmetricKey::Generate();
  for (std::int64_t id :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{1} << 40,
        std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    StatusOr<std::int64_t> read = SealedKeyId(Seal(key, id, AsBytes(kPlaintext), Ad()));
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(*read, id);
  }
  StatusOr<std::int64_t> bad = SealedKeyId(Bytes{1, 0, 0});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);
}

TEST(AeadTest, TwoSealsOfTheSamePlaintextDiffer) {
  SymmetricKey key = SymmetricKey::Generate();
  Bytes a = Seal(key, 1, AsBytes(kPlaintext), Ad());
  Bytes b = Seal(key, 1, AsBytes(kPlaintext), Ad());
  EXPECT_NE(a, b);
  EXPECT_NE(Bytes(a.begin() + 9, a.begin() + 33), Bytes(b.begin() + 9, b.begin() + 33));  // nonces
}

TEST(AeadTest, OtherPlaceFailsToOpen) {
  SymmetricKey key = SymmetricKey::Generate();
  Bytes sealed = Seal(key, 1, AsBytes(kPlaintext), Ad());
  ExpectDataLoss(Open(key, sealed, Ad("43")), "other row");
  ExpectDataLoss(Open(key, sealed, Ad("42", "refresh_token")), "other column");
  ExpectDataLoss(Open(key, sealed, Ad("42", "access_token", "api_keys")), "other table");
  ExpectDataLoss(Open(key, sealed, ""), "no associated data");
  StatusOr<SecretString> opened = Open(key, sealed, Ad("43"));
  EXPECT_THAT(opened.status().message(), HasSubstr("authentication failed"));
}

TEST(AeadTest, WrongKeyFailsToOpen) {
  SymmetricKey key = SymmetricKey::Generate();
  SymmetricKey other = SymmetricKey::Generate();
  ExpectDataLoss(Open(other, Seal(key, 1, AsBytes(kPlaintext), Ad()), Ad()), "other key");
}

TEST(AeadTest, EveryFlippedByteFailsToOpen) {
  SymmetricKey key = SymmetricKey::Generate();
  const Bytes sealed = Seal(key, 5, AsBytes(kPlaintext), Ad());
  ASSERT_TRUE(Open(key, sealed, Ad()).ok());
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (std::uint8_t flip : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      Bytes altered = sealed;
      altered[i] ^= flip;
      ExpectDataLoss(Open(key, altered, Ad()), "flipped byte " + std::to_string(i));
    }
  }
}

TEST(AeadTest, EveryTruncationFailsToOpen) {
  SymmetricKey key = SymmetricKey::Generate();
  const Bytes sealed = Seal(key, 5, AsBytes(kPlaintext), Ad());
  for (std::size_t size = 0; size < sealed.size(); ++size) {
    ExpectDataLoss(Open(key, std::span(sealed).first(size), Ad()), "size " + std::to_string(size));
  }
  EXPECT_THAT(Open(key, std::span(sealed).first(20), Ad()).status().message(), HasSubstr("truncated"));
  EXPECT_THAT(Open(key, Bytes{}, Ad()).status().message(), HasSubstr("empty"));
}

TEST(AeadTest, UnknownVersionIsNamed) {
  SymmetricKey key = SymmetricKey::Generate();
  Bytes sealed = Seal(key, 5, AsBytes(kPlaintext), Ad());
  sealed[0] = 7;
  StatusOr<SecretString> opened = Open(key, sealed, Ad());
  ExpectDataLoss(opened, "version 7");
  EXPECT_THAT(opened.status().message(), HasSubstr("unknown sealed-value format version 7"));
  EXPECT_EQ(SealedKeyId(sealed).status().code(), StatusCode::kDataLoss);
}

TEST(AeadTest, ErrorsDoNotRevealKeyOrPlaintext) {
  SymmetricKey key = SymmetricKey::Generate();
  SymmetricKey other = SymmetricKey::Generate();
  Bytes sealed = Seal(key, 5, AsBytes(kPlaintext), Ad());
  for (const SymmetricKey* k : {&key, &other}) {
    for (const Bytes& value : {sealed, Bytes(sealed.begin(), sealed.begin() + 40)}) {
      std::string message = Open(*k, value, Ad("other")).status().message();
      EXPECT_THAT(message, Not(HasSubstr(kPlaintext)));
      EXPECT_THAT(message, Not(HasSubstr(HexEncode(key.bytes()))));
      EXPECT_THAT(message, Not(HasSubstr(Base64UrlEncode(key.bytes()))));
    }
  }
}

}  // namespace
}  // namespace latchkey::crypto
