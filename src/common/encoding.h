// Byte encodings used at the edges: hex and base64url (RFC 4648 §5, unpadded), and
// UTF-8 checks for text that came from outside. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey {

using Bytes = std::vector<std::uint8_t>;

std::string HexEncode(std::span<const std::uint8_t> bytes);
std::optional<Bytes> HexDecode(std::string_view hex);

// A whole decimal integer ("42", "-7"); nothing for "", "12abc", " 1", "+1" or one past int64.
std::optional<int64_t> ParseDecimal(std::string_view text);

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes);
// Standard alphabet with padding (RFC 4648 §4), e.g. for HTTP Basic credentials.
std::string Base64Encode(std::string_view text);
// Accepts base64url or standard base64, padded or not; nullopt on any other input.
std::optional<Bytes> Base64Decode(std::string_view text);

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// past U+10FFFF), as PostgreSQL and JSON consumers require.
bool IsValidUtf8(std::string_view text);
// `text` with every byte that is not part of a well-formed sequence replaced by U+FFFD.
std::string ToValidUtf8(std::string_view text);
// Text from outside made fit to show people (a terminal, a page, an alert): valid UTF-8
// without control characters (C0, DEL, C1) or the invisible format characters that
// reorder or hide text (bidi controls, zero-width marks), cut to at most `max_bytes` on a
// character boundary.
std::string ToDisplayText(std::string_view text, size_t max_bytes);

inline std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace latchkey
