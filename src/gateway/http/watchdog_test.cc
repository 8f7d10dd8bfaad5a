#include "gateway/http/watchdog.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <memory>

namespace latchkey::gateway {
namespace {

using Clock = Watched::Clock;

struct Counting final : Watched {
  int expirations = 0;

 protected:
  void OnExpired() override { ++expirations; }
};

TEST(WatchdogTest, SweepExpiresOnlyWhatIsPastDue) {
  boost::asio::io_context io;
  Watchdog dog(io.get_executor(), std::chrono::milliseconds(10));
  Counting due, later, disarmed, never_armed;
  for (Watched* w : std::initializer_list<Watched*>{&due, &later, &disarmed, &never_armed}) dog.Add(*w);
  const Clock::time_point now = Clock::now();
  due.ArmUntil(now - std::chrono::milliseconds(1));
  later.ArmUntil(now + std::chrono::seconds(10));
  disarmed.ArmUntil(now - std::chrono::milliseconds(1));
  disarmed.Disarm();

  dog.Sweep(now);
  EXPECT_EQ(due.expirations, 1);
  EXPECT_TRUE(due.expired());
  EXPECT_EQ(later.expirations, 0);
  EXPECT_EQ(disarmed.expirations, 0);
  EXPECT_EQ(never_armed.expirations, 0);

  // Expiring disarms: a second sweep does not fire again; re-arming clears `expired`.
  dog.Sweep(now + std::chrono::seconds(1));
  EXPECT_EQ(due.expirations, 1);
  due.Arm(std::chrono::seconds(5));
  EXPECT_FALSE(due.expired());
  EXPECT_EQ(due.Settle(boost::asio::error::operation_aborted), boost::asio::error::operation_aborted);
}

TEST(WatchdogTest, SettleReportsACutOffOperationAsATimeout) {
  boost::asio::io_context io;
  Watchdog dog(io.get_executor(), std::chrono::milliseconds(10));
  Counting entry;
  dog.Add(entry);
  entry.ArmUntil(Clock::now());
  dog.Sweep(Clock::now() + std::chrono::milliseconds(1));
  EXPECT_EQ(entry.Settle(boost::asio::error::operation_aborted), boost::beast::error::timeout);
  EXPECT_EQ(entry.Settle({}), boost::beast::error_code{});
}

// Deadlines are on the watchdog's clock (simulated here): the ticker expires an entry
// once that clock has passed its deadline, and not before, however long real time runs.
TEST(WatchdogTest, TheTickerSweepsOnItsOwnAtItsClocksNow) {
  boost::asio::io_context io;
  SimulatedSteadyClock steady;
  Watchdog dog(io.get_executor(), std::chrono::milliseconds(1), steady);
  Counting entry;
  dog.Add(entry);
  entry.Arm(std::chrono::milliseconds(20));
  for (int i = 0; i < 5; ++i) io.run_one();  // its start and a few ticks: sweeps 20 ms early
  EXPECT_EQ(entry.expirations, 0);
  steady.Advance(std::chrono::milliseconds(20));
  for (int i = 0; i < 1000 && entry.expirations == 0; ++i) io.run_one();  // the next tick
  EXPECT_EQ(entry.expirations, 1);
}

TEST(WatchdogTest, EntriesAndWatchdogMayGoInEitherOrder) {
  boost::asio::io_context io;
  auto early = std::make_unique<Counting>();
  auto late = std::make_unique<Counting>();
  {
    Watchdog dog(io.get_executor(), std::chrono::milliseconds(10));
    dog.Add(*early);
    dog.Add(*late);
    early.reset();  // unlinks itself
    late->ArmUntil(Clock::now());
    dog.Sweep(Clock::now() + std::chrono::milliseconds(1));
    EXPECT_EQ(late->expirations, 1);
  }
  late.reset();  // outlived the watchdog: nothing to unlink from
  io.run();      // the ticker notices its watchdog is gone and ends: nothing is left to run
  SUCCEED();
}

}  // namespace
}  // namespace latchkey::gateway
