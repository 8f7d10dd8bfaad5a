// Authenticated encryption of secrets at rest: XChaCha20-Poly1305 (libsodium) with
// associated data that binds each ciphertext to where it belongs, so a ciphertext
// moved to another row or column fails to open.
//
// Sealed layout (all of it is stored; nothing else is needed to open it but the key;
// bytes 0..8 are authenticated along with the associated data):
//   byte 0       format version (1)
//   bytes 1..8   id of the data key that sealed it, big-endian int64
//   bytes 9..32  random 192-bit nonce
//   bytes 33..   ciphertext followed by the 16-byte Poly1305 tag
// Stateless functions and immutable keys: any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/encoding.h"
#include "common/secret_string.h"
#include "common/status.h"

namespace latchkey::crypto {

inline constexpr std::size_t kKeyBytes = 32;

// A 256-bit key held in guarded memory (sodium_malloc: locked, not in core dumps where
// the OS supports it, wiped when freed). Move-only.
class SymmetricKey {
 public:
  static SymmetricKey Generate();
  // kInvalidArgument unless exactly kKeyBytes bytes.
  static StatusOr<SymmetricKey> FromBytes(std::span<const std::uint8_t> bytes);

  SymmetricKey(SymmetricKey&& other) noexcept;
  SymmetricKey& operator=(SymmetricKey&& other) noexcept;
  SymmetricKey(const SymmetricKey&) = delete;
  SymmetricKey& operator=(const SymmetricKey&) = delete;
  ~SymmetricKey();

  std::span<const std::uint8_t> bytes() const;

 private:
  SymmetricKey();
  std::uint8_t* data_ = nullptr;  // kKeyBytes, from sodium_malloc
};

// Builds the associated data that binds a ciphertext to its place:
// "latchkey/v1/{table}/{row_id}/{column}". A '/' or '%' inside a part is percent-encoded,
// so two different places never share associated data.
std::string AssociatedData(std::string_view table, std::string_view row_id, std::string_view column);

Bytes Seal(const SymmetricKey& key, std::int64_t key_id, std::span<const std::uint8_t> plaintext,
           std::string_view associated_data);

// kDataLoss when the ciphertext is truncated, has an unknown version, was altered, was
// sealed with another key, or belongs to other associated data. The message says which
// of these can be told apart (format problems) and never includes key or plaintext bytes.
StatusOr<SecretString> Open(const SymmetricKey& key, std::span<const std::uint8_t> sealed,
                            std::string_view associated_data);

// The data key id recorded in a sealed value; kDataLoss if the header is malformed.
StatusOr<std::int64_t> SealedKeyId(std::span<const std::uint8_t> sealed);

}  // namespace latchkey::crypto
