// Random: the one source of randomness (keys, nonces, identifiers, jitter).
// SystemRandom draws from the OS CSPRNG via libsodium; tests may inject a seeded fake
// for jitter, never for key material. Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace latchkey {

class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(std::span<std::uint8_t> out) = 0;
  // Uniform in [0, upper_bound); upper_bound > 0.
  virtual std::uint64_t Uniform(std::uint64_t upper_bound) = 0;

  // `bytes` random bytes as lowercase hex (2 * bytes characters).
  std::string Hex(std::size_t bytes);
  // `bytes` random bytes as unpadded base64url.
  std::string Base64Url(std::size_t bytes);
};

class SystemRandom final : public Random {
 public:
  void Fill(std::span<std::uint8_t> out) override;
  std::uint64_t Uniform(std::uint64_t upper_bound) override;
  static SystemRandom& Instance();
};

}  // namespace latchkey

namespace latchkey {
// Initializes libsodium once per process (idempotent, thread-safe). Everything that uses
// libsodium calls it; main() calls it first so a failure is reported at start-up.
void EnsureLibsodium();
}  // namespace latchkey
