#include "common/secret_string.h"

#include <gtest/gtest.h>

#include <sstream>
#include <type_traits>

namespace latchkey {
namespace {

template <typename T>
concept Streamable = requires(std::ostream& os, const T& t) {
  os << t;
};

TEST(SecretStringTest, CannotBeStreamed) {
  static_assert(!Streamable<SecretString>, "SecretString must not be streamable");
  static_assert(Streamable<std::string>);
}

TEST(SecretStringTest, RevealsOnlyOnRequest) {
  SecretString s("hunter2");
  EXPECT_EQ(s.reveal(), "hunter2");
  EXPECT_EQ(s.size(), 7u);
}

TEST(SecretStringTest, MovedFromIsEmpty) {
  SecretString a("token-value");
  SecretString b(std::move(a));
  EXPECT_EQ(b.reveal(), "token-value");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
}

TEST(SecretStringTest, EqualsComparesContents) {
  EXPECT_TRUE(SecretString("abc").Equals(SecretString("abc")));
  EXPECT_FALSE(SecretString("abc").Equals(SecretString("abd")));
  EXPECT_FALSE(SecretString("abc").Equals(SecretString("abcd")));
}

TEST(WipeStringTest, ZeroesTheWholeBuffer) {
  std::string s(64, 'x');
  s.resize(3);
  const char* data = s.data();
  WipeString(s);
  EXPECT_TRUE(s.empty());
  // The buffer is still owned by `s`; every byte was zeroed, including the old tail.
  for (int i = 0; i < 64; ++i) EXPECT_EQ(data[i], '\0') << i;
}

}  // namespace
}  // namespace latchkey
