// Fuzzes application/x-www-form-urlencoded bodies (token responses of GitHub and others)
// and percent-encoding. Properties: what parses re-encodes to something that parses back
// to the same pairs; any value survives FormUrlEncode then parsing unchanged.
#include <cstddef>
#include <cstdint>

#include "oauth/form_encoding.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  const std::string_view text = fuzz::AsText(data, size);
  if (auto pairs = oauth::ParseFormEncoded(text)) {
    const std::string again = oauth::FormEncodePairs(*pairs);
    FUZZ_CHECK(oauth::ParseFormEncoded(again) == pairs);
  }
  const std::string encoded = oauth::FormUrlEncode(text);
  for (char c : encoded) FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '&' && c != '=');
  auto decoded = oauth::ParseFormEncoded("v=" + encoded);
  FUZZ_CHECK(decoded && decoded->size() == 1 && (*decoded)[0].second == text);
  return 0;
}
