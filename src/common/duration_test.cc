#include "common/duration.h"

#include <gtest/gtest.h>

namespace latchkey {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(DurationTest, AWholeNumberAndOneUnitIsRead) {
  EXPECT_EQ(ParseDuration("30s"), seconds(30));
  EXPECT_EQ(ParseDuration("10m"), minutes(10));
  EXPECT_EQ(ParseDuration("8h"), hours(8));
  EXPECT_EQ(ParseDuration("90d"), hours(24 * 90));
  EXPECT_EQ(ParseDuration("3650d"), kLongestDuration);
  EXPECT_EQ(ParseDuration("007d"), hours(24 * 7));
}

TEST(DurationTest, AnythingElseIsNoDuration) {
  for (std::string_view text :
       {"", "d", "90", "90D", "90 d", " 90d", "90d ", "-1d", "+1d", "0s", "1.5h", "1e3s", "90w", "3651d",
        "87601h", "9223372036854775807s", "99999999999999999999d", "1h30m",
        "\xd9\xa3"
        "d"}) {
    EXPECT_FALSE(ParseDuration(text).has_value()) << "'" << text << "' was read";
  }
}

TEST(DurationTest, FormattingUsesTheLargestWholeUnitAndReadsBack) {
  EXPECT_EQ(FormatDuration(hours(24 * 90)), "90d");
  EXPECT_EQ(FormatDuration(minutes(90)), "90m");
  EXPECT_EQ(FormatDuration(hours(36)), "36h");
  EXPECT_EQ(FormatDuration(seconds(61)), "61s");
  for (seconds duration :
       std::initializer_list<seconds>{seconds(1), seconds(59), minutes(61), hours(25), hours(24 * 365)}) {
    EXPECT_EQ(ParseDuration(FormatDuration(duration)), duration) << duration.count();
  }
}

}  // namespace
}  // namespace latchkey
