#include "scheduler/refresh_timing.h"

#include <algorithm>
#include <cstdint>

namespace latchkey::scheduler {
namespace {

using namespace std::chrono_literals;

constexpr Duration kMinimumLead = 60s;

// Uniform in [0, max] (inclusive) at the clock's resolution.
Duration UniformUpTo(Duration max, Random& random) {
  if (max <= Duration::zero()) return Duration::zero();
  const auto ticks = static_cast<std::uint64_t>(max.count());
  return Duration(static_cast<Duration::rep>(random.Uniform(ticks + 1)));
}

}  // namespace

Duration RefreshLeadTime(Duration lifetime) {
  if (lifetime <= Duration::zero()) return Duration::zero();
  const Duration lead = std::max(lifetime / 10, kMinimumLead);
  return std::min(lead, lifetime / 2);
}

TimePoint ProactiveRefreshAt(TimePoint obtained_at, TimePoint expires_at, Random& random) {
  if (expires_at <= obtained_at) return obtained_at;
  const Duration lead = RefreshLeadTime(expires_at - obtained_at);
  const Duration jitter = UniformUpTo(lead / 4, random);
  return std::max(expires_at - lead - jitter, obtained_at);
}

Duration Backoff(int failures, std::optional<Duration> retry_after, Random& random) {
  const int exponent = std::max(failures, 1) - 1;
  Duration ceiling = kBackoffBase;
  // Doubling stops at the cap, so a large `failures` cannot overflow.
  for (int i = 0; i < exponent && ceiling < kBackoffCap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, kBackoffCap);
  const Duration jittered = UniformUpTo(ceiling, random);
  if (retry_after && *retry_after > jittered) return *retry_after;
  return jittered;
}

}  // namespace latchkey::scheduler
