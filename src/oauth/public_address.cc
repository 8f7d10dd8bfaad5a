#include "oauth/public_address.h"

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>

namespace latchkey::oauth {
namespace {

struct Range {
  std::array<uint8_t, 4> prefix;  // the leading bytes; the rest are zero
  int bits;
};

// IANA's special-purpose registries, the IPv4 entries not globally reachable.
constexpr std::array<Range, 15> kNonGlobalV4 = {{
    {{0, 0, 0, 0}, 8},        // "this network"
    {{10, 0, 0, 0}, 8},       // private
    {{100, 64, 0, 0}, 10},    // carrier-grade NAT
    {{127, 0, 0, 0}, 8},      // loopback
    {{169, 254, 0, 0}, 16},   // link-local: cloud metadata services answer here
    {{172, 16, 0, 0}, 12},    // private
    {{192, 0, 0, 0}, 24},     // IETF protocol assignments
    {{192, 0, 2, 0}, 24},     // documentation
    {{192, 88, 99, 0}, 24},   // 6to4 relays (deprecated)
    {{192, 168, 0, 0}, 16},   // private
    {{198, 18, 0, 0}, 15},    // benchmarking
    {{198, 51, 100, 0}, 24},  // documentation
    {{203, 0, 113, 0}, 24},   // documentation
    {{224, 0, 0, 0}, 4},      // multicast
    {{240, 0, 0, 0}, 4},      // reserved, broadcast
}};

// Within global unicast (2000::/3), what is not a plain host on the internet.
constexpr std::array<Range, 4> kNonGlobalV6 = {{
    {{0x20, 0x01, 0x00, 0x00}, 23},  // IETF protocol assignments, Teredo among them
    {{0x20, 0x01, 0x0d, 0xb8}, 32},  // documentation
    {{0x20, 0x02, 0x00, 0x00}, 16},  // 6to4: an IPv4 address of any kind behind a relay
    {{0x3f, 0xff, 0x00, 0x00}, 20},  // documentation (RFC 9637)
}};

bool Matches(std::span<const uint8_t> address, const Range& range) {
  for (int bit = 0; bit < range.bits; ++bit) {
    const int byte = bit / 8;
    const auto mask = static_cast<uint8_t>(0x80U >> (bit % 8));
    if ((address[byte] & mask) != (range.prefix[byte] & mask)) return false;
  }
  return true;
}

bool IsPublicV4(std::span<const uint8_t, 4> address) {
  return std::ranges::none_of(kNonGlobalV4, [&](const Range& range) { return Matches(address, range); });
}

bool IsPublicV6(std::span<const uint8_t, 16> address) {
  constexpr std::array<uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  constexpr std::array<uint8_t, 12> kNat64 = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  const auto head = address.first<12>();
  if (std::ranges::equal(head, kMapped) || std::ranges::equal(head, kNat64)) {
    return IsPublicV4(address.last<4>());
  }
  if (!Matches(address, {{0x20, 0, 0, 0}, 3})) return false;
  return std::ranges::none_of(kNonGlobalV6, [&](const Range& range) { return Matches(address, range); });
}

}  // namespace

bool IsPublicAddress(const sockaddr* address, socklen_t length) {
  if (address == nullptr) return false;
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    sockaddr_in v4{};
    std::memcpy(&v4, address, sizeof v4);
    std::array<uint8_t, 4> bytes{};
    std::memcpy(bytes.data(), &v4.sin_addr, bytes.size());
    return IsPublicV4(bytes);
  }
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, address, sizeof v6);
    std::array<uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &v6.sin6_addr, bytes.size());
    return IsPublicV6(bytes);
  }
  return false;
}

}  // namespace latchkey::oauth
