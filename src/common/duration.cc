#include "common/duration.h"

#include <array>
#include <utility>

#include "common/encoding.h"

namespace latchkey {
namespace {

constexpr std::array<std::pair<char, std::chrono::seconds>, 4> kUnits = {{
    {'d', std::chrono::hours(24)},
    {'h', std::chrono::hours(1)},
    {'m', std::chrono::minutes(1)},
    {'s', std::chrono::seconds(1)},
}};

}  // namespace

std::optional<std::chrono::seconds> ParseDuration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const std::string_view digits = text.substr(0, text.size() - 1);
  if (digits.front() < '0' || digits.front() > '9') return std::nullopt;  // no sign (ParseDecimal takes "-")
  const std::optional<int64_t> count = ParseDecimal(digits);
  if (!count || *count <= 0) return std::nullopt;
  for (const auto& [unit, length] : kUnits) {
    if (text.back() != unit) continue;
    if (*count > kLongestDuration / length) return std::nullopt;
    return length * *count;
  }
  return std::nullopt;
}

std::string FormatDuration(std::chrono::seconds duration) {
  for (const auto& [unit, length] : kUnits) {
    if (duration.count() != 0 && duration % length == std::chrono::seconds(0)) {
      return std::to_string(duration / length) + unit;
    }
  }
  return std::to_string(duration.count()) + "s";
}

}  // namespace latchkey
