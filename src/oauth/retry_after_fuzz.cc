// Fuzzes Retry-After values, which upstream APIs and token endpoints control.
// Properties: a parsed delay is never negative nor longer than kLongestRetryAfter, and
// does not depend on the clock for delay-seconds.
#include <cstddef>
#include <cstdint>

#include "oauth/retry_after.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  const std::string_view value = fuzz::AsText(data, size);
  const TimePoint now = TimePoint{} + std::chrono::seconds(1'700'000'000);
  auto delay = oauth::ParseRetryAfter(value, now);
  if (!delay) return 0;
  FUZZ_CHECK(delay->count() >= 0 && *delay <= oauth::kLongestRetryAfter);
  const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos;
  if (digits) FUZZ_CHECK(oauth::ParseRetryAfter(value, now + std::chrono::hours(100)) == delay);
  return 0;
}
