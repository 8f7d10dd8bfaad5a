// Fuzzes the encodings every layer uses on outside bytes: hex and base64(url) decoding
// (keys, tokens, cookies), and the UTF-8 repairs that make any bytes safe to show
// (ToValidUtf8) and to print in a page or a message (ToDisplayText). Properties: decoders
// round-trip what they accept; repairs give valid UTF-8 and leave valid text alone;
// ToDisplayText stays within its bound, without C0/C1 controls, zero-width or bidi marks.
#include <cstddef>
#include <cstdint>

#include "common/encoding.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  const std::string_view text = fuzz::AsText(data, size);
  if (auto bytes = HexDecode(text)) {
    FUZZ_CHECK(HexDecode(HexEncode(*bytes)) == bytes);
  }
  if (auto bytes = Base64Decode(text)) {
    std::string_view raw(reinterpret_cast<const char*>(bytes->data()), bytes->size());  // NOLINT
    FUZZ_CHECK(Base64Decode(Base64Encode(raw)) == bytes);
  }
  FUZZ_CHECK(Base64Decode(Base64Encode(text)) == Bytes(AsBytes(text).begin(), AsBytes(text).end()));
  const std::string url = Base64UrlEncode(AsBytes(text));
  FUZZ_CHECK(url.find_first_of("+/=") == std::string::npos);

  const std::string valid = ToValidUtf8(text);
  FUZZ_CHECK(IsValidUtf8(valid));
  if (IsValidUtf8(text)) FUZZ_CHECK(valid == text);
  for (size_t max : {size_t{0}, size_t{1}, size_t{7}, size_t{80}, size_t{4096}}) {
    const std::string shown = ToDisplayText(text, max);
    FUZZ_CHECK(IsValidUtf8(shown));
    FUZZ_CHECK(shown.size() <= max);
    for (char c : shown) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    for (size_t i = 0; i + 1 < shown.size(); ++i) {
      const auto a = static_cast<unsigned char>(shown[i]);
      const auto b = static_cast<unsigned char>(shown[i + 1]);
      FUZZ_CHECK(!(a == 0xC2 && b >= 0x80 && b <= 0x9F));  // C1 controls
      if (a == 0xE2 && i + 2 < shown.size()) {
        const auto c = static_cast<unsigned char>(shown[i + 2]);
        FUZZ_CHECK(!(b == 0x80 && ((c >= 0x8B && c <= 0x8F) || (c >= 0xAA && c <= 0xAE))));  // ZW, bidi
        FUZZ_CHECK(!(b == 0x81 && c >= 0xA6 && c <= 0xA9));                                  // bidi isolates
      }
    }
  }
  return 0;
}
