#include "oauth/retry_after.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>
#include <vector>

namespace latchkey::oauth {
namespace {

std::optional<long long> ParseNumber(std::string_view text) {
  long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

int MonthIndex(std::string_view token) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (token == kMonths[i]) return static_cast<int>(i) + 1;
  }
  return 0;
}

// Splits on spaces, commas, '-' and ':', which covers the three HTTP-date forms:
//   Sun, 06 Nov 1994 08:49:37 GMT | Sunday, 06-Nov-94 08:49:37 GMT | Sun Nov  6 08:49:37 1994
std::vector<std::string_view> Tokens(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ' ' || text[i] == ',' || text[i] == '-' || text[i] == ':') {
      if (i > start) out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::optional<TimePoint> ParseHttpDate(std::string_view text) {
  std::vector<std::string_view> tokens = Tokens(text);
  int month = 0;
  bool month_before_numbers = false;
  std::vector<long long> numbers;
  for (std::string_view token : tokens) {
    if (int m = MonthIndex(token); m != 0) {
      month = m;
      month_before_numbers = numbers.empty();
    } else if (auto n = ParseNumber(token)) {
      numbers.push_back(*n);
    }
  }
  if (month == 0 || numbers.size() != 5) return std::nullopt;
  long long day, year, hour, minute, second;
  if (month_before_numbers) {  // asctime: day h m s year
    day = numbers[0], hour = numbers[1], minute = numbers[2], second = numbers[3], year = numbers[4];
  } else {  // IMF-fixdate / RFC 850: day year h m s
    day = numbers[0], year = numbers[1], hour = numbers[2], minute = numbers[3], second = numbers[4];
  }
  if (year < 100) year += year < 70 ? 2000 : 1900;  // RFC 850 two-digit years (RFC 9110 §5.6.7)
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 || hour < 0 || minute < 0 ||
      second < 0 || year < 1970 || year > 9999) {
    return std::nullopt;
  }
  // The clock counts nanoseconds, which end in 2262: a later date is simply "far away"
  // (ParseRetryAfter clamps it to kLongestRetryAfter).
  if (year > 2200) return TimePoint::max();
  std::chrono::year_month_day date{std::chrono::year(static_cast<int>(year)),
                                   std::chrono::month(static_cast<unsigned>(month)),
                                   std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return std::nullopt;
  auto when = std::chrono::sys_days(date) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
              std::chrono::seconds(second);
  return std::chrono::time_point_cast<Duration>(when);
}

}  // namespace

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value, TimePoint now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())) != 0)
    value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())) != 0)
    value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front())) != 0) {
    std::optional<long long> seconds = ParseNumber(value);
    if (!seconds || *seconds < 0) return std::nullopt;
    return std::min(std::chrono::seconds(*seconds), kLongestRetryAfter);
  }
  std::optional<TimePoint> when = ParseHttpDate(value);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::seconds(0);
  auto delay = std::chrono::ceil<std::chrono::seconds>(*when - now);
  return std::min(delay, kLongestRetryAfter);
}

}  // namespace latchkey::oauth
