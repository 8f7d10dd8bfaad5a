#include "common/encoding.h"

#include <gtest/gtest.h>

namespace latchkey {
namespace {

using namespace std::string_literals;

TEST(EncodingTest, WellFormedUtf8IsValid) {
  for (const std::string& text : {""s, "plain ascii"s, "caf\xC3\xA9"s, "\xE2\x82\xAC 5"s, "\xF0\x9F\x94\x91"s,
                                  "\xED\x9F\xBF"s /* U+D7FF */, "\xF4\x8F\xBF\xBF"s /* U+10FFFF */}) {
    EXPECT_TRUE(IsValidUtf8(text)) << text;
    EXPECT_EQ(ToValidUtf8(text), text);
  }
}

// What PostgreSQL refuses as text (and JSON parsers as strings): stray continuation bytes,
// truncated sequences, overlong forms, surrogates, code points past U+10FFFF.
TEST(EncodingTest, EveryMalformedSequenceIsRefusedAndReplaced) {
  const std::string replacement = "\xEF\xBF\xBD";
  for (const std::string& bad :
       {"\xFF"s, "\x80"s, "\xC3"s, "\xC0\xAF"s, "\xE0\x80\xAF"s, "\xED\xA0\x80"s, "\xF0\x80\x80\x80"s,
        "\xF4\x90\x80\x80"s, "\xF8\x88\x80\x80\x80"s, "\xE2\x82"s}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << testing::PrintToString(bad);
    EXPECT_FALSE(IsValidUtf8("/files/" + bad + "/x")) << testing::PrintToString(bad);
    const std::string fixed = ToValidUtf8("/a" + bad + "b");
    EXPECT_TRUE(IsValidUtf8(fixed)) << testing::PrintToString(fixed);
    EXPECT_EQ(fixed.substr(0, 2), "/a");
    EXPECT_EQ(fixed.back(), 'b');
    EXPECT_NE(fixed.find(replacement), std::string::npos);
  }
  EXPECT_EQ(ToValidUtf8("x\xFFy\xC3\xA9"), "x" + replacement + "y\xC3\xA9");
}

TEST(EncodingTest, DisplayTextDropsControlsAndInvisibleFormatCharacters) {
  EXPECT_EQ(ToDisplayText("ada@example.com", 100), "ada@example.com");
  EXPECT_EQ(ToDisplayText("caf\xC3\xA9 \xE6\x97\xA5", 100), "caf\xC3\xA9 \xE6\x97\xA5");  // letters stay
  EXPECT_EQ(ToDisplayText("a\nb\x07\x7F"
                          "c",
                          100),
            "abc");
  EXPECT_EQ(ToDisplayText("x\xC2\x9B"
                          "31m",
                          100),
            "x31m");                                                        // C1 CSI
  EXPECT_EQ(ToDisplayText("evil\xE2\x80\xAEtxt.exe", 100), "eviltxt.exe");  // U+202E RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(ToDisplayText("a\xE2\x80\x8B"
                          "b\xEF\xBB\xBF",
                          100),
            "ab");                                        // zero-width space, BOM
  EXPECT_EQ(ToDisplayText("\xFF", 100), "\xEF\xBF\xBD");  // not UTF-8: U+FFFD
  EXPECT_EQ(ToDisplayText("ab\xC3\xA9", 3), "ab") << "cut on a character boundary";
}

}  // namespace
}  // namespace latchkey
