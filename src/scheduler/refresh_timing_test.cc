#include "scheduler/refresh_timing.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "support/extreme_random.h"

namespace latchkey::scheduler {
namespace {

using namespace std::chrono_literals;

// Deterministic stand-in for SystemRandom (jitter only, never key material).
// SplitMix64; `Uniform` by modulo, whose tiny bias does not matter for bounds tests.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  void Fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = static_cast<std::uint8_t>(Next());
  }
  std::uint64_t Uniform(std::uint64_t upper_bound) override { return Next() % upper_bound; }

 private:
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

using testing::ExtremeRandom;

const TimePoint kT0 = FromUnixMillis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

TEST(RefreshLeadTimeTest, FollowsTheSpecTable) {
  struct Case {
    Duration lifetime;
    Duration lead;
  };
  const std::vector<Case> cases = {
      {2s, 1s},         // half the lifetime wins over the 60 s minimum
      {60s, 30s},       // likewise
      {10min, 60s},     // 10% = 60 s = the minimum
      {1h, 6min},       // 10%
      {24h, 144min},    // 10%
      {119s, 59500ms},  // just under the point where the minimum applies in full
      {120s, 60s},      // half = minimum
      {0s, 0s},         // degenerate
      {-5s, 0s},        // degenerate
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RefreshLeadTime(c.lifetime), c.lead)
        << "lifetime " << std::chrono::duration_cast<std::chrono::milliseconds>(c.lifetime).count() << " ms";
  }
}

TEST(ProactiveRefreshAtTest, JitterStaysWithinAQuarterOfTheLead) {
  SeededRandom random(42);
  for (Duration lifetime : {Duration(2s), Duration(60s), Duration(10min), Duration(1h), Duration(24h)}) {
    const Duration lead = RefreshLeadTime(lifetime);
    const TimePoint expires = kT0 + lifetime;
    const TimePoint latest = expires - lead;
    const TimePoint earliest = latest - lead / 4;
    TimePoint min_seen = TimePoint::max();
    TimePoint max_seen = TimePoint::min();
    for (int i = 0; i < 10'000; ++i) {
      const TimePoint at = ProactiveRefreshAt(kT0, expires, random);
      ASSERT_GE(at, earliest);
      ASSERT_LE(at, latest);
      ASSERT_GE(at, kT0);
      min_seen = std::min(min_seen, at);
      max_seen = std::max(max_seen, at);
    }
    // The draws really spread over the window (not one burst): > 90% of it is covered.
    EXPECT_GT(max_seen - min_seen, (lead / 4) * 9 / 10);
  }
}

TEST(ProactiveRefreshAtTest, ExtremeDrawsHitTheExactBounds) {
  ExtremeRandom low(false);
  ExtremeRandom high(true);
  const TimePoint expires = kT0 + 1h;
  EXPECT_EQ(ProactiveRefreshAt(kT0, expires, low), expires - 6min);
  EXPECT_EQ(ProactiveRefreshAt(kT0, expires, high), expires - 6min - 90s);
}

TEST(ProactiveRefreshAtTest, NeverBeforeObtainedAt) {
  ExtremeRandom high(true);
  // A token obtained late (clock skew) or already expired is due at obtained_at.
  EXPECT_EQ(ProactiveRefreshAt(kT0, kT0, high), kT0);
  EXPECT_EQ(ProactiveRefreshAt(kT0, kT0 - 1h, high), kT0);
  // 2 s token: lead 1 s + jitter <= 0.25 s, still after obtained_at.
  EXPECT_EQ(ProactiveRefreshAt(kT0, kT0 + 2s, high), kT0 + 750ms);
}

TEST(BackoffTest, CeilingDoublesFromOneSecondUpToFiveMinutes) {
  ExtremeRandom high(true);
  const std::vector<Duration> expected = {1s, 2s, 4s, 8s, 16s, 32s, 64s, 128s, 256s, 300s, 300s};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(Backoff(static_cast<int>(i) + 1, std::nullopt, high), expected[i]) << "failures " << i + 1;
  }
  EXPECT_EQ(Backoff(1000, std::nullopt, high), 300s);
  EXPECT_EQ(Backoff(std::numeric_limits<int>::max(), std::nullopt, high), 300s);
  EXPECT_EQ(Backoff(0, std::nullopt, high), 1s);
  EXPECT_EQ(Backoff(-3, std::nullopt, high), 1s);
}

TEST(BackoffTest, FullJitterCoversZeroToCeiling) {
  ExtremeRandom low(false);
  EXPECT_EQ(Backoff(5, std::nullopt, low), 0s);
  SeededRandom random(7);
  Duration min_seen = Duration::max();
  Duration max_seen = Duration::min();
  for (int i = 0; i < 10'000; ++i) {
    const Duration d = Backoff(4, std::nullopt, random);
    ASSERT_GE(d, 0s);
    ASSERT_LE(d, 8s);
    min_seen = std::min(min_seen, d);
    max_seen = std::max(max_seen, d);
  }
  EXPECT_LT(min_seen, 1s);
  EXPECT_GT(max_seen, 7s);
}

TEST(BackoffTest, RetryAfterWinsWhenLarger) {
  ExtremeRandom low(false);
  ExtremeRandom high(true);
  EXPECT_EQ(Backoff(1, 120s, high), 120s);  // larger than the 1 s ceiling
  EXPECT_EQ(Backoff(3, 2s, high), 4s);      // smaller than the jittered value
  EXPECT_EQ(Backoff(3, 2s, low), 2s);       // larger than a jittered 0
  EXPECT_EQ(Backoff(20, 1h, high), 1h);     // not capped: the server's word
  EXPECT_EQ(Backoff(2, -10s, low), 0s);     // nonsense is ignored
}

}  // namespace
}  // namespace latchkey::scheduler
