#include "crypto/hmac.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/random.h"

namespace latchkey::crypto {
namespace {

// RFC 4231 test cases 2 and 6 (a key longer than the block size).
TEST(HmacTest, MatchesRfc4231Vectors) {
  EnsureLibsodium();
  EXPECT_EQ(HmacSha256Hex(SecretString(std::string("Jefe")), "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacSha256Hex(SecretString(std::string(131, '\xaa')),
                          "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacTest, PiecesGiveTheMacOfTheWhole) {
  const std::string key(32, 'k');
  HmacSha256 mac(AsBytes(key));
  mac.Update("what do ya ");
  mac.Update("");
  mac.Update("want for nothing?");
  EXPECT_EQ(std::move(mac).FinishHex(), HmacSha256Hex(SecretString(key), "what do ya want for nothing?"));
}

TEST(HmacTest, ConstantTimeEqualsComparesWholeValues) {
  EXPECT_TRUE(ConstantTimeEquals("5bdc", "5bdc"));
  EXPECT_FALSE(ConstantTimeEquals("5bdc", "5bdd"));
  EXPECT_FALSE(ConstantTimeEquals("5bdc", "5bd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace latchkey::crypto
