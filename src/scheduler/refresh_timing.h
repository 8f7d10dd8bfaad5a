// When to refresh a token and how long to wait after a failed refresh (SPEC §2 rule 3,
// and the backoff for transient failures). Pure functions over values; randomness comes
// from the injected Random, so any thread may call them with its own or a shared Random.
//
//   TimePoint at = ProactiveRefreshAt(obtained, expires, SystemRandom::Instance());
//   scheduler.Schedule("work-gmail", at);
#pragma once

#include <optional>

#include "common/clock.h"
#include "common/random.h"

namespace latchkey::scheduler {

// How long before expiry a token of this lifetime is refreshed: 10% of the lifetime,
// at least 60 s, but never more than half the lifetime. The half-lifetime cap wins for
// short tokens (a 2 s token refreshes 1 s before expiry; a 60 s token 30 s before).
// A lifetime <= 0 gives 0.
Duration RefreshLeadTime(Duration lifetime);

// The time to refresh a token obtained at `obtained_at` that expires at `expires_at`:
//   expires_at - RefreshLeadTime(lifetime) - jitter,  jitter uniform in [0, lead / 4]
// so a fleet of tokens issued together does not refresh in one burst (and the refresh
// still happens at least `lead` before expiry). Never earlier than `obtained_at`; a
// token that is already expired (expires_at <= obtained_at) is due at `obtained_at`.
TimePoint ProactiveRefreshAt(TimePoint obtained_at, TimePoint expires_at, Random& random);

inline constexpr Duration kBackoffBase = std::chrono::seconds(1);
inline constexpr Duration kBackoffCap = std::chrono::minutes(5);

// How long to wait before the next attempt after `failures` consecutive transient
// failures (1 = the first failure; values < 1 count as 1).
//
// Exponential with "full jitter": uniform in [0, min(cap, base * 2^(failures-1))],
// base 1 s, factor 2, cap 5 min. Full jitter (rather than "ceiling +/- a little")
// spreads a fleet that failed together (a provider outage) over the whole window, which
// is what keeps latchkey from hammering a token endpoint as it comes back; the price is
// that a single retry can come early, which is harmless for a refresh.
//
// `retry_after` (from a 429/503 Retry-After header) is a floor set by the server: when
// it is larger than the jittered value it is returned as is, without jitter on top,
// since the server said when it will accept us and being later than that only delays
// the refresh. Negative values are ignored.
Duration Backoff(int failures, std::optional<Duration> retry_after, Random& random);

}  // namespace latchkey::scheduler
