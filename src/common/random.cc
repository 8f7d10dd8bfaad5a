#include "common/random.h"

#include <sodium.h>

#include <cstdlib>
#include <vector>

#include "common/encoding.h"

namespace latchkey {

std::string Random::Hex(std::size_t bytes) {
  std::vector<std::uint8_t> buffer(bytes);
  Fill(buffer);
  return HexEncode(buffer);
}

std::string Random::Base64Url(std::size_t bytes) {
  std::vector<std::uint8_t> buffer(bytes);
  Fill(buffer);
  return Base64UrlEncode(buffer);
}

void EnsureLibsodium() {
  static const bool initialized = [] {
    if (sodium_init() < 0) std::abort();  // no entropy source: nothing safe can run
    return true;
  }();
  (void)initialized;
}

void SystemRandom::Fill(std::span<std::uint8_t> out) {
  EnsureLibsodium();
  randombytes_buf(out.data(), out.size());
}

std::uint64_t SystemRandom::Uniform(std::uint64_t upper_bound) {
  EnsureLibsodium();
  // randombytes_uniform is 32-bit; compose two draws for larger bounds without bias.
  if (upper_bound <= UINT32_MAX) {
    return randombytes_uniform(static_cast<std::uint32_t>(upper_bound));
  }
  std::uint64_t limit = UINT64_MAX - (UINT64_MAX % upper_bound);
  std::uint64_t r = 0;
  do {
    randombytes_buf(&r, sizeof r);
  } while (r >= limit);
  return r % upper_bound;
}

SystemRandom& SystemRandom::Instance() {
  static SystemRandom random;
  return random;
}

}  // namespace latchkey
