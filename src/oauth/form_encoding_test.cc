#include "oauth/form_encoding.h"

#include <gtest/gtest.h>

namespace latchkey::oauth {
namespace {

TEST(FormEncodingTest, EncodesReservedCharacters) {
  EXPECT_EQ(FormUrlEncode("a b+c&d=e/f:g@h~é"), "a+b%2Bc%26d%3De%2Ff%3Ag%40h%7E%C3%A9");
  EXPECT_EQ(FormUrlEncode("AZaz09-._*"), "AZaz09-._*");
}

TEST(FormEncodingTest, RoundTrips) {
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"grant_type", "refresh_token"}, {"refresh_token", "1//a+b/c=="}, {"scope", "openid email"}};
  auto parsed = ParseFormEncoded(FormEncodePairs(pairs));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, pairs);
}

TEST(FormEncodingTest, RejectsMalformed) {
  EXPECT_FALSE(ParseFormEncoded("a=%zz"));
  EXPECT_FALSE(ParseFormEncoded("a=%4"));
  EXPECT_FALSE(ParseFormEncoded("<html>"));
  EXPECT_FALSE(ParseFormEncoded("=value"));
  ASSERT_TRUE(ParseFormEncoded(""));
  EXPECT_TRUE(ParseFormEncoded("")->empty());
  EXPECT_EQ(ParseFormEncoded("a=&&b=2")->size(), 2u);
}

}  // namespace
}  // namespace latchkey::oauth
