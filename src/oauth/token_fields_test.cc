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

TEST(TokenFieldsTest, ScopesSplitOnTheProviderSeparatorAndLeniently) {
  EXPECT_EQ(SplitScopes("chat:write,users:read", ","),
            (std::vector<std::string>{"chat:write", "users:read"}));
  EXPECT_EQ(SplitScopes(" a  b a ", " "), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(SplitScopes("", " ").empty());
  EXPECT_EQ(JoinScopes({"a", "b"}, ","), "a,b");
}

}  // namespace
}  // namespace latchkey::oauth
