#include "gateway/proxy/refusal_streaks.h"

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

// What the test endpoint vouched for is one token at one endpoint, for a few minutes: an
// agent that calls an always-401 endpoint cannot stop the refresh of other endpoints' 401s.
TEST(ProbedTokensTest, AVouchedTokenCountsOnlyAtItsEndpointAndOnlyForAWhile) {
  ProbedTokens probed;
  const auto now = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  EXPECT_FALSE(probed.Took("work", "GET /always-401", "token-1", now));
  probed.Remember("work", "GET /always-401", "token-1", now);
  EXPECT_TRUE(probed.Took("work", "GET /always-401", "token-1", now + std::chrono::minutes(4)));
  EXPECT_FALSE(probed.Took("work", "GET /read", "token-1", now)) << "another endpoint";
  EXPECT_FALSE(probed.Took("work", "POST /always-401", "token-1", now)) << "another method";
  EXPECT_FALSE(probed.Took("work", "GET /always-401", "token-2", now)) << "another token";
  EXPECT_FALSE(probed.Took("other", "GET /always-401", "token-1", now)) << "another connection";
  EXPECT_FALSE(probed.Took("work", "GET /always-401", "token-1", now + ProbedTokens::kLifetime));
}

}  // namespace
}  // namespace latchkey::gateway
