// Byte encodings used at the edges: hex and base64url (RFC 4648 §5, unpadded).
// Pure functions; any thread.
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

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes);
// Standard alphabet with padding (RFC 4648 §4), e.g. for HTTP Basic credentials.
std::string Base64Encode(std::string_view text);
// Accepts base64url or standard base64, padded or not; nullopt on any other input.
std::optional<Bytes> Base64Decode(std::string_view text);

inline std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace latchkey
