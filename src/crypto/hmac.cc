#include "crypto/hmac.h"

#include <sodium.h>

#include <array>
#include <cstdint>

#include "common/encoding.h"

namespace latchkey::crypto {

struct HmacSha256::State {
  crypto_auth_hmacsha256_state sodium;
};

HmacSha256::HmacSha256(std::span<const std::uint8_t> key) : state_(std::make_unique<State>()) {
  crypto_auth_hmacsha256_init(&state_->sodium, key.data(), key.size());
}

HmacSha256::~HmacSha256() { sodium_memzero(&state_->sodium, sizeof state_->sodium); }

void HmacSha256::Update(std::string_view piece) {
  crypto_auth_hmacsha256_update(&state_->sodium, reinterpret_cast<const unsigned char*>(piece.data()),
                                piece.size());
}

std::string HmacSha256::FinishHex() && {
  std::array<std::uint8_t, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_final(&state_->sodium, mac.data());
  return HexEncode(mac);
}

std::string HmacSha256Hex(const SecretString& key, std::string_view message) {
  HmacSha256 mac(AsBytes(key.reveal()));
  mac.Update(message);
  return std::move(mac).FinishHex();
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace latchkey::crypto
