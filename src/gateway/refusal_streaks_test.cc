#include "gateway/refusal_streaks.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace latchkey::gateway {
namespace {

TEST(RefusalStreaksTest, CountsRefusalsInARowPerConnection) {
  RefusalStreaks streaks;
  EXPECT_EQ(streaks.Add("gmail"), 1);
  EXPECT_EQ(streaks.Add("gmail"), 2);
  EXPECT_EQ(streaks.Add("slack"), 1);
  EXPECT_EQ(streaks.Add("gmail"), 3);
}

TEST(RefusalStreaksTest, AnyOtherAnswerEndsOnlyThatConnectionsStreak) {
  RefusalStreaks streaks;
  streaks.Add("gmail");
  streaks.Add("gmail");
  streaks.Add("slack");
  streaks.Clear("gmail");
  streaks.Clear("github");  // never refused: nothing to end
  EXPECT_EQ(streaks.Add("gmail"), 1);
  EXPECT_EQ(streaks.Add("slack"), 2);
}

TEST(RefusalStreaksTest, ConcurrentRefusalsAreAllCounted) {
  RefusalStreaks streaks;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        streaks.Add("gmail");
        streaks.Clear("other");
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(streaks.Add("gmail"), 1001);
}

}  // namespace
}  // namespace latchkey::gateway
