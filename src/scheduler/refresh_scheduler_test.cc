#include "scheduler/refresh_scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace latchkey::scheduler {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const TimePoint kT0 = FromUnixMillis(1'767'225'600'000);
constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

TEST(RefreshSchedulerTest, EmptySchedulerHasNothingDue) {
  RefreshScheduler s;
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.NextDue(), std::nullopt);
  EXPECT_THAT(s.TakeDue(kT0 + 24h, kAll), IsEmpty());
}

TEST(RefreshSchedulerTest, TakesInDueOrderRegardlessOfInsertionOrder) {
  RefreshScheduler s;
  s.Schedule("c", kT0 + 30s);
  s.Schedule("a", kT0 + 10s);
  s.Schedule("d", kT0 + 40s);
  s.Schedule("b", kT0 + 20s);
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s.NextDue(), kT0 + 10s);
  EXPECT_THAT(s.TakeDue(kT0 + 35s, kAll), ElementsAre("a", "b", "c"));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.NextDue(), kT0 + 40s);
}

TEST(RefreshSchedulerTest, EqualDueTimesComeOutInScheduleOrder) {
  RefreshScheduler s;
  for (const char* id : {"x", "y", "z", "w"}) s.Schedule(id, kT0);
  EXPECT_THAT(s.TakeDue(kT0, kAll), ElementsAre("x", "y", "z", "w"));
}

TEST(RefreshSchedulerTest, DueTimeIsInclusiveAndFutureItemsStay) {
  RefreshScheduler s;
  s.Schedule("now", kT0);
  s.Schedule("later", kT0 + 1ns);
  EXPECT_THAT(s.TakeDue(kT0, kAll), ElementsAre("now"));
  EXPECT_EQ(s.DueTime("later"), kT0 + 1ns);
  EXPECT_EQ(s.DueTime("now"), std::nullopt);
}

TEST(RefreshSchedulerTest, RescheduleReplacesTheEarlierDueTime) {
  RefreshScheduler s;
  s.Schedule("a", kT0 + 10s);
  s.Schedule("b", kT0 + 20s);
  s.Schedule("a", kT0 + 30s);  // later than before
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.DueTime("a"), kT0 + 30s);
  EXPECT_EQ(s.NextDue(), kT0 + 20s);
  EXPECT_THAT(s.TakeDue(kT0 + 25s, kAll), ElementsAre("b"));
  EXPECT_THAT(s.TakeDue(kT0 + 1h, kAll), ElementsAre("a"));  // exactly once

  s.Schedule("c", kT0 + 1h);
  s.Schedule("c", kT0 + 1s);  // earlier than before
  EXPECT_THAT(s.TakeDue(kT0 + 2s, kAll), ElementsAre("c"));
  EXPECT_THAT(s.TakeDue(kT0 + 2h, kAll), IsEmpty());
}

TEST(RefreshSchedulerTest, CancelForgetsTheConnection) {
  RefreshScheduler s;
  s.Schedule("a", kT0 + 1s);
  s.Schedule("b", kT0 + 2s);
  EXPECT_TRUE(s.Cancel("a"));
  EXPECT_FALSE(s.Cancel("a"));
  EXPECT_FALSE(s.Cancel("never"));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.NextDue(), kT0 + 2s);  // the stale top entry is skipped
  EXPECT_THAT(s.TakeDue(kT0 + 1h, kAll), ElementsAre("b"));
  // A cancelled connection can be scheduled again (its slot is reused).
  s.Schedule("a", kT0 + 5s);
  s.Schedule("c", kT0 + 4s);
  EXPECT_THAT(s.TakeDue(kT0 + 1h, kAll), ElementsAre("c", "a"));
}

TEST(RefreshSchedulerTest, TakeDueRespectsMaxAndKeepsTheRest) {
  RefreshScheduler s;
  for (int i = 0; i < 10; ++i) s.Schedule("c" + std::to_string(i), kT0 + std::chrono::seconds(i));
  EXPECT_THAT(s.TakeDue(kT0 + 1h, 3), ElementsAre("c0", "c1", "c2"));
  EXPECT_THAT(s.TakeDue(kT0 + 1h, 0), IsEmpty());
  EXPECT_THAT(s.TakeDue(kT0 + 4s, 100), ElementsAre("c3", "c4"));
  EXPECT_EQ(s.size(), 5u);
  std::vector<DueItem> rest = s.TakeDueItems(kT0 + 1h, kAll);
  ASSERT_EQ(rest.size(), 5u);
  EXPECT_EQ(rest.front().connection_id, "c5");
  EXPECT_EQ(rest.front().due, kT0 + 5s);
  EXPECT_TRUE(s.empty());
}

TEST(RefreshSchedulerTest, RepeatedReschedulingDoesNotGrowWithoutBound) {
  RefreshScheduler s;
  for (int i = 0; i < 100; ++i) s.Schedule("c" + std::to_string(i), kT0 + std::chrono::seconds(i));
  const std::size_t before = s.ApproximateMemoryBytes();
  for (int round = 0; round < 1000; ++round) {
    for (int i = 0; i < 100; ++i) s.Schedule("c" + std::to_string(i), kT0 + std::chrono::seconds(round + i));
  }
  EXPECT_EQ(s.size(), 100u);
  // Compaction keeps the heap near 2 * live + slack (1024) entries of 24 bytes.
  EXPECT_LT(s.ApproximateMemoryBytes(), before + 2 * (2 * 100 + 1024) * 24);
  std::vector<std::string> ids = s.TakeDue(kT0 + 24h, kAll);
  ASSERT_EQ(ids.size(), 100u);
  EXPECT_EQ(ids.front(), "c0");
  EXPECT_EQ(ids.back(), "c99");
}

TEST(RefreshSchedulerTest, HundredThousandConnectionsComeOutInOrderExactlyOnce) {
  constexpr int kCount = 100'000;
  std::mt19937_64 rng(1234);
  std::uniform_int_distribution<std::int64_t> offset_ms(0, 24LL * 3600 * 1000);
  RefreshScheduler s;
  std::vector<TimePoint> due(kCount);
  for (int i = 0; i < kCount; ++i) {
    due[i] = kT0 + std::chrono::milliseconds(offset_ms(rng));
    s.Schedule("conn-" + std::to_string(i), due[i]);
  }
  // Reschedule every tenth and cancel every hundred-and-first, like live traffic.
  int cancelled = 0;
  for (int i = 0; i < kCount; i += 10) {
    due[i] = kT0 + std::chrono::milliseconds(offset_ms(rng));
    s.Schedule("conn-" + std::to_string(i), due[i]);
  }
  for (int i = 0; i < kCount; i += 101) {
    ASSERT_TRUE(s.Cancel("conn-" + std::to_string(i)));
    due[i] = TimePoint::max();
    ++cancelled;
  }
  ASSERT_EQ(s.size(), static_cast<std::size_t>(kCount - cancelled));

  std::vector<DueItem> items = s.TakeDueItems(kT0 + 25h, kAll);
  ASSERT_EQ(items.size(), static_cast<std::size_t>(kCount - cancelled));
  EXPECT_TRUE(std::is_sorted(items.begin(), items.end(),
                             [](const DueItem& a, const DueItem& b) { return a.due < b.due; }));
  std::vector<bool> seen(kCount, false);
  for (const DueItem& item : items) {
    const int i = std::stoi(item.connection_id.substr(5));
    ASSERT_FALSE(seen[i]) << item.connection_id;
    seen[i] = true;
    ASSERT_EQ(item.due, due[i]) << item.connection_id;
  }
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.NextDue(), std::nullopt);
}

}  // namespace
}  // namespace latchkey::scheduler
