#include "crypto/hmac.h"

#include <sodium.h>

#include <array>
#include <cstdint>

#include "common/encoding.h"

namespace latchkey::crypto {

std::string HmacSha256Hex(const SecretString& key, std::string_view message) {
  crypto_auth_hmacsha256_state state;
  std::string_view k = key.reveal();
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(k.data()), k.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  std::array<std::uint8_t, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_final(&state, mac.data());
  sodium_memzero(&state, sizeof state);
  return HexEncode(mac);
}

}  // namespace latchkey::crypto
