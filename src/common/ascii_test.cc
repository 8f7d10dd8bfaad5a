#include "common/ascii.h"

#include <gtest/gtest.h>

namespace latchkey {
namespace {

TEST(AsciiTest, OnlyAsciiLettersChangeCase) {
  EXPECT_EQ(AsciiLower("HTTPS://Api.Example.COM/Path?Q=1"), "https://api.example.com/path?q=1");
  EXPECT_EQ(AsciiUpper("get /x"), "GET /X");
  // UTF-8 and other bytes stay as they are (no locale's idea of case applies).
  EXPECT_EQ(AsciiLower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");  // "ÉTÉ"
  EXPECT_EQ(AsciiLower(std::string_view("A\0B\xFF", 4)), std::string_view("a\0b\xFF", 4));
  EXPECT_EQ(AsciiLower('@'), '@');
  EXPECT_EQ(AsciiLower('['), '[');  // the bytes just past 'Z' and before 'a'
  EXPECT_EQ(AsciiUpper('`'), '`');
  EXPECT_EQ(AsciiUpper('{'), '{');
}

TEST(AsciiTest, ComparisonsIgnoreAsciiCaseOnly) {
  EXPECT_TRUE(AsciiEqualsIgnoreCase("Bearer", "bEARER"));
  EXPECT_FALSE(AsciiEqualsIgnoreCase("Bearer", "Bearer "));
  EXPECT_FALSE(AsciiEqualsIgnoreCase("@", "`"));                // 0x40 and 0x60 differ by the case bit
  EXPECT_FALSE(AsciiEqualsIgnoreCase("\xC3\x89", "\xC3\xA9"));  // É and é are not ASCII
  EXPECT_TRUE(AsciiStartsWithIgnoreCase("HTTPS://x", "https://"));
  EXPECT_FALSE(AsciiStartsWithIgnoreCase("http", "https://"));
  EXPECT_TRUE(AsciiStartsWithIgnoreCase("anything", ""));
}

// Against a word of a-z and '-': equal in any case of its letters, and nothing else a
// name or value may hold matches (every printable byte and obs-text tried in place of each).
TEST(AsciiTest, AWordOfLowerLettersAndDashesMatchesItsOwnLettersInAnyCaseOnly) {
  EXPECT_TRUE(AsciiEqualsLowerWord("Keep-Alive", "keep-alive"));
  EXPECT_TRUE(AsciiEqualsLowerWord("CONNECTION", "connection"));
  EXPECT_FALSE(AsciiEqualsLowerWord("connection ", "connection"));
  EXPECT_FALSE(AsciiEqualsLowerWord("", "te"));
  const std::string word = "keep-alive";
  for (size_t at = 0; at < word.size(); ++at) {
    for (int byte = 0x20; byte <= 0xff; ++byte) {
      if (byte == 0x7f) continue;  // a control byte, which a parser refuses
      std::string text = word;
      text[at] = static_cast<char>(byte);
      const bool same = AsciiLower(static_cast<char>(byte)) == word[at];
      EXPECT_EQ(AsciiEqualsLowerWord(text, word), same) << "byte " << byte << " at " << at;
    }
  }
}

}  // namespace
}  // namespace latchkey
