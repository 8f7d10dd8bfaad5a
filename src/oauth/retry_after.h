// Parses an HTTP Retry-After value (RFC 9110 §10.2.3): delay-seconds or an HTTP-date
// (IMF-fixdate, plus the obsolete RFC 850 and asctime forms). Pure: any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "common/clock.h"

namespace latchkey::oauth {

// Longer waits are clamped to this: a misconfigured server must not park a connection
// for days.
inline constexpr std::chrono::seconds kLongestRetryAfter = std::chrono::hours(24);

// The delay relative to `now`; a date in the past gives 0 s. nullopt when unparsable.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value, TimePoint now);

}  // namespace latchkey::oauth
