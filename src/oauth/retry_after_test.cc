#include "oauth/retry_after.h"

#include <gtest/gtest.h>

namespace latchkey::oauth {
namespace {

using std::chrono::seconds;

// 1994-11-06T08:49:00Z, 37 s before the RFC 9110 example date.
const TimePoint kNow = FromUnixMillis(784111740000);

TEST(RetryAfterTest, DelaySeconds) {
  EXPECT_EQ(ParseRetryAfter("120", kNow), seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 ", kNow), seconds(0));
  EXPECT_EQ(ParseRetryAfter("999999999", kNow), kLongestRetryAfter);
}

TEST(RetryAfterTest, AllThreeHttpDateForms) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kNow), seconds(37));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", kNow), seconds(37));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", kNow), seconds(37));
}

// Found by retry_after_fuzz (tests/fuzz/corpus/retry_after_fuzz/far_future): a date past
// 2262 overflowed the nanosecond clock (undefined behaviour).
TEST(RetryAfterTest, ADateBeyondTheClocksRangeIsTheLongestWait) {
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", kNow), kLongestRetryAfter);
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 2201 00:00:00 GMT", kNow), kLongestRetryAfter);
}

TEST(RetryAfterTest, PastDateIsZeroAndGarbageIsNullopt) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", kNow), seconds(0));
  EXPECT_EQ(ParseRetryAfter("", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("12abc", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Sun, 31 Feb 1994 08:49:37 GMT", kNow), std::nullopt);
}

}  // namespace
}  // namespace latchkey::oauth
