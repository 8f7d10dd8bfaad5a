// HMAC-SHA256 (RFC 2104) for signing webhook deliveries and backup files. Pure; any thread
// (an HmacSha256 object belongs to one thread at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/secret_string.h"

namespace latchkey::crypto {

// Lower-case hex of HMAC-SHA256(key, message).
std::string HmacSha256Hex(const SecretString& key, std::string_view message);

// The same over a message that arrives in pieces (a backup written row by row):
//   HmacSha256 mac(key.bytes());
//   mac.Update(line); ...
//   std::string hex = std::move(mac).FinishHex();
class HmacSha256 {
 public:
  explicit HmacSha256(std::span<const std::uint8_t> key);
  ~HmacSha256();  // wipes the state, which holds the key
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  void Update(std::string_view piece);
  // Lower-case hex of the MAC of everything given to Update.
  std::string FinishHex() &&;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Whether two MACs (or other public-length values) are equal, in time that does not depend
// on where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace latchkey::crypto
