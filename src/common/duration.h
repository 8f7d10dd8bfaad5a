// Durations as configuration and provider entries write them: a whole number and one
// unit, "30s", "10m", "8h", "90d" (SPEC §10). Pure functions; any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace latchkey {

// The longest duration written this way: ten years, past which a lifetime is "never".
inline constexpr std::chrono::seconds kLongestDuration = std::chrono::hours(24 * 3650);

// "90d" → 90 days. Nothing for a missing or unknown unit, a sign, a fraction, spaces,
// zero, or more than kLongestDuration.
std::optional<std::chrono::seconds> ParseDuration(std::string_view text);

// The duration in its largest whole unit: 7776000 s → "90d", 5400 s → "90m".
std::string FormatDuration(std::chrono::seconds duration);

}  // namespace latchkey
