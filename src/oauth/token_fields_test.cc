#include "oauth/token_fields.h"

#include <gtest/gtest.h>

namespace latchkey::oauth {
namespace {

TEST(TokenFieldsTest, ExpiresInVariants) {
  EXPECT_EQ(ParseExpiresIn("7200"), std::chrono::seconds(7200));
  EXPECT_EQ(ParseExpiresIn("0"), std::nullopt);
  EXPECT_EQ(ParseExpiresIn("-5"), std::nullopt);
  EXPECT_EQ(ParseExpiresIn("soon"), std::nullopt);
  EXPECT_EQ(ParseExpiresIn("3600s"), std::nullopt);
  EXPECT_EQ(ParseExpiresIn(""), std::nullopt);
  EXPECT_EQ(ParseExpiresIn("999999999999"), std::nullopt) << "absurd lifetimes are treated as unknown";
}

TEST(TokenFieldsTest, AScopeTokenIsPrintableAsciiWithoutQuotesBackslashesOrCommas) {
  for (const char* scope : {"api:read", "https://mail.google.com/", "read:user", "a!#[]~"}) {
    EXPECT_TRUE(IsScopeToken(scope)) << scope;
  }
  for (const std::string& scope :
       std::vector<std::string>{"", "a b", "a,b", "a\"b", "a\\b", "caf\xc3\xa9", "a\x7f",
                                std::string(201, 'a'), std::string("\xe2\x80\xae") /* U+202E */}) {
    EXPECT_FALSE(IsScopeToken(scope)) << scope;
  }
}

TEST(TokenFieldsTest, ScopesSplitOnTheProviderSeparatorAndLeniently) {
  EXPECT_EQ(SplitScopes("chat:write,users:read", ","),
            (std::vector<std::string>{"chat:write", "users:read"}));
  EXPECT_EQ(SplitScopes(" a  b a ", " "), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(SplitScopes("", " ").empty());
  EXPECT_EQ(JoinScopes({"a", "b"}, ","), "a,b");
}

TEST(TokenFieldsTest, TokenTypesNormalizeToOneBearerSpelling) {
  EXPECT_EQ(NormalizeTokenType(""), "Bearer");  // most servers that leave it out mean Bearer
  EXPECT_EQ(NormalizeTokenType("bearer"), "Bearer");
  EXPECT_EQ(NormalizeTokenType("BEARER"), "Bearer");
  EXPECT_EQ(NormalizeTokenType("Bearer"), "Bearer");
  EXPECT_EQ(NormalizeTokenType("DPoP"), "DPoP");
  EXPECT_EQ(NormalizeTokenType("bearerx"), "bearerx");
}

TEST(TokenFieldsTest, ABasicCredentialParsesBackWithItsHalvesFormDecoded) {
  // RFC 6749 §2.3.1: each half form-encoded, then "id:secret" in base64.
  const SecretString value = BasicAuthorizationValue("lkc_a%3Ab", SecretString("s%20e:cret"));
  auto parsed = ParseBasicAuthorization(value.reveal());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->user, "lkc_a:b");
  EXPECT_EQ(parsed->password.reveal(), "s e:cret") << "the first colon splits";
  EXPECT_TRUE(ParseBasicAuthorization("basic   bGtjX3g6eQ==").has_value()) << "the scheme in any case";
  for (const char* refused : {"Bearer bGtjX3g6eQ==", "Basic", "Basic !!!", "Basic bGtjX3g=" /* no colon */,
                              "Basicx bGtjX3g6eQ=="}) {
    EXPECT_FALSE(ParseBasicAuthorization(refused).has_value()) << refused;
  }
}

TEST(TokenFieldsTest, TheAuthorizationValueCarriesTheNormalizedType) {
  EXPECT_EQ(AuthorizationValue("bearer", SecretString("tok")).reveal(), "Bearer tok");
  EXPECT_EQ(AuthorizationValue("", SecretString("tok")).reveal(), "Bearer tok");
  EXPECT_EQ(AuthorizationValue("DPoP", SecretString("tok")).reveal(), "DPoP tok");
}

}  // namespace
}  // namespace latchkey::oauth
