#include "scheduler/refresh_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace latchkey::scheduler {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

const TimePoint kT0 = FromUnixMillis(1'767'225'600'000);

// Observes the callbacks: counts, order, and concurrency. Tests wait on its condition
// variable for a count to be reached (the bound only turns a bug into a failure
// instead of a hang; no test relies on timing).
class Recorder {
 public:
  void Started(const std::string& id) {
    const int now = ++in_flight_;
    int seen = max_in_flight_.load();
    while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
    }
    std::lock_guard lock(mu_);
    ++started_;
    cv_.notify_all();
    (void)id;
  }
  void Finished(const std::string& id) {
    --in_flight_;
    std::lock_guard lock(mu_);
    ++calls_[id];
    order_.push_back(id);
    cv_.notify_all();
  }
  // Blocks the callback until Open().
  void WaitAtGate() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return gate_open_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    gate_open_ = true;
    cv_.notify_all();
  }
  [[nodiscard]] bool AwaitStarted(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 30s, [&] { return started_ >= n; });
  }
  [[nodiscard]] bool AwaitFinished(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 30s, [&] { return order_.size() >= n; });
  }
  std::map<std::string, int> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<std::string> order() const {
    std::lock_guard lock(mu_);
    return order_;
  }
  int max_in_flight() const { return max_in_flight_.load(); }

 private:
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool gate_open_ = false;
  int started_ = 0;
  std::map<std::string, int> calls_;
  std::vector<std::string> order_;
};

TEST(RefreshRunnerTest, RunsEveryDueConnectionExactlyOnceWithAtMostNInFlight) {
  constexpr int kWorkers = 3;
  constexpr int kConnections = 40;
  SimulatedClock clock(kT0);
  Recorder rec;
  RefreshRunner runner(clock, {.workers = kWorkers}, [&](const std::string& id) {
    rec.Started(id);
    rec.WaitAtGate();
    rec.Finished(id);
  });
  for (int i = 0; i < kConnections; ++i)
    runner.Schedule("c" + std::to_string(i), kT0 - std::chrono::seconds(i));
  runner.Start();

  ASSERT_TRUE(rec.AwaitStarted(kWorkers));  // the pool is full and blocked at the gate
  rec.Open();
  ASSERT_TRUE(rec.AwaitFinished(kConnections));
  runner.Stop();

  EXPECT_EQ(rec.max_in_flight(), kWorkers);  // reached N while blocked, never above
  const std::map<std::string, int> calls = rec.calls();
  ASSERT_EQ(calls.size(), static_cast<std::size_t>(kConnections));
  for (const auto& [id, count] : calls) EXPECT_EQ(count, 1) << id;
  EXPECT_EQ(runner.scheduled(), 0u);
  EXPECT_EQ(runner.in_flight(), 0u);
}

TEST(RefreshRunnerTest, WaitsForTheClockAndLeavesFutureWorkScheduled) {
  SimulatedClock clock(kT0);
  Recorder rec;
  RefreshRunner runner(clock, {.workers = 2}, [&](const std::string& id) {
    rec.Started(id);
    rec.Finished(id);
  });
  runner.Schedule("b", kT0 + 20s);
  runner.Schedule("a", kT0 + 10s);
  runner.Start();

  clock.Advance(10s);
  runner.Wake();
  ASSERT_TRUE(rec.AwaitFinished(1));
  runner.Stop();
  EXPECT_THAT(rec.order(), ElementsAre("a"));  // "b" is not due at kT0 + 10 s
  EXPECT_EQ(runner.scheduled(), 1u);
  EXPECT_EQ(runner.DueTime("b"), kT0 + 20s);

  runner.Start();  // a runner can be restarted; the schedule survived
  clock.Advance(10s);
  runner.Wake();
  ASSERT_TRUE(rec.AwaitFinished(2));
  runner.Stop();
  EXPECT_THAT(rec.order(), ElementsAre("a", "b"));
}

TEST(RefreshRunnerTest, CallbackReschedulesItselfAfterAFailure) {
  SimulatedClock clock(kT0);
  Recorder rec;
  std::atomic<int> attempts{0};
  RefreshRunner* runner_ptr = nullptr;
  RefreshRunner runner(clock, {.workers = 2}, [&](const std::string& id) {
    rec.Started(id);
    if (++attempts == 1) runner_ptr->Schedule(id, clock.Now() + 5s);  // transient failure: back off
    rec.Finished(id);
  });
  runner_ptr = &runner;
  runner.Schedule("a", kT0);
  runner.Start();

  ASSERT_TRUE(rec.AwaitFinished(1));
  EXPECT_EQ(runner.DueTime("a"), kT0 + 5s);
  clock.Advance(5s);
  runner.Wake();
  ASSERT_TRUE(rec.AwaitFinished(2));
  runner.Stop();
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_EQ(runner.scheduled(), 0u);  // success: the second call did not reschedule
}

TEST(RefreshRunnerTest, NeverRunsTwoCallbacksForOneConnectionAtOnce) {
  SimulatedClock clock(kT0);
  Recorder rec;
  RefreshRunner runner(clock, {.workers = 4}, [&](const std::string& id) {
    rec.Started(id);
    rec.WaitAtGate();
    rec.Finished(id);
  });
  runner.Schedule("a", kT0);
  runner.Start();
  ASSERT_TRUE(rec.AwaitStarted(1));
  runner.Schedule("a", kT0);  // due again while its first callback is still running
  rec.Open();
  ASSERT_TRUE(rec.AwaitFinished(2));
  runner.Stop();
  EXPECT_EQ(rec.calls().at("a"), 2);
  EXPECT_EQ(rec.max_in_flight(), 1);  // only one connection exists, so 1 means never overlapping
}

TEST(RefreshRunnerTest, CancelledConnectionIsNotCalled) {
  SimulatedClock clock(kT0);
  Recorder rec;
  RefreshRunner runner(clock, {.workers = 2}, [&](const std::string& id) {
    rec.Started(id);
    rec.Finished(id);
  });
  runner.Start();
  runner.Schedule("a", kT0 + 10s);
  runner.Schedule("b", kT0 + 10s);
  EXPECT_TRUE(runner.Cancel("a"));
  EXPECT_FALSE(runner.Cancel("a"));
  clock.Advance(10s);
  runner.Wake();
  ASSERT_TRUE(rec.AwaitFinished(1));
  runner.Stop();
  EXPECT_THAT(rec.order(), ElementsAre("b"));
}

TEST(RefreshRunnerTest, StopReturnsWithWorkPendingAndKeepsIt) {
  SimulatedClock clock(kT0);
  Recorder rec;
  RefreshRunner runner(clock, {.workers = 1}, [&](const std::string& id) {
    rec.Started(id);
    rec.WaitAtGate();
    rec.Finished(id);
  });
  for (int i = 0; i < 5; ++i) runner.Schedule("c" + std::to_string(i), kT0 + std::chrono::seconds(i));
  clock.Advance(1h);
  runner.Start();
  ASSERT_TRUE(rec.AwaitStarted(1));
  EXPECT_EQ(runner.in_flight(), 1u);
  runner.RequestStop();  // from here on no callback starts
  rec.Open();            // let the running one finish
  runner.Stop();         // drains it and joins

  EXPECT_THAT(rec.order(), ElementsAre("c0"));
  EXPECT_EQ(runner.in_flight(), 0u);
  EXPECT_EQ(runner.scheduled(), 4u);
  EXPECT_EQ(runner.DueTime("c4"), kT0 + 4s);  // pending work kept with its due time
}

TEST(RefreshRunnerTest, StopWithNothingDueReturnsAndIsIdempotent) {
  SimulatedClock clock(kT0);
  RefreshRunner runner(clock, {.workers = 2}, [](const std::string&) { FAIL() << "nothing is due"; });
  runner.Schedule("later", kT0 + 24h);
  runner.Start();
  runner.Start();  // no effect
  runner.Stop();
  runner.Stop();
  EXPECT_EQ(runner.scheduled(), 1u);
}

}  // namespace
}  // namespace latchkey::scheduler
