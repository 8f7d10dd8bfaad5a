#include "crypto/aead.h"

#include <sodium.h>

#include <cassert>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "common/random.h"

namespace latchkey::crypto {
namespace {

constexpr std::uint8_t kFormatVersion = 1;
constexpr std::size_t kKeyIdBytes = 8;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kVersionAndKeyIdBytes = 1 + kKeyIdBytes;
constexpr std::size_t kHeaderBytes = kVersionAndKeyIdBytes + kNonceBytes;
static_assert(kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kHeaderBytes == 33);

const unsigned char* AsUnsigned(std::string_view s) { return AsBytes(s).data(); }

const unsigned char* KeyPointer(const SymmetricKey& key) {
  assert(!key.bytes().empty() && "use of a moved-from SymmetricKey");
  return key.bytes().data();
}

// The version and key id are authenticated too, so a sealed value whose header was
// edited (say, to point at another data key) fails to open instead of being trusted.
std::string BoundAssociatedData(std::span<const std::uint8_t> sealed, std::string_view associated_data) {
  std::string bound(reinterpret_cast<const char*>(sealed.data()), kVersionAndKeyIdBytes);
  bound += associated_data;
  return bound;
}

Status CheckHeader(std::span<const std::uint8_t> sealed) {
  if (sealed.empty()) return DataLossError("sealed value is empty");
  if (sealed[0] != kFormatVersion) {
    return DataLossError("unknown sealed-value format version " + std::to_string(sealed[0]));
  }
  if (sealed.size() < kHeaderBytes + kTagBytes) {
    return DataLossError("sealed value is truncated (" + std::to_string(sealed.size()) + " bytes, at least " +
                         std::to_string(kHeaderBytes + kTagBytes) + " expected)");
  }
  return Status::Ok();
}

void AppendEscapedPart(std::string& out, std::string_view part) {
  out.push_back('/');
  for (char c : part) {
    if (c == '%') {
      out += "%25";
    } else if (c == '/') {
      out += "%2F";
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

SymmetricKey::SymmetricKey() {
  EnsureLibsodium();
  data_ = static_cast<std::uint8_t*>(sodium_malloc(kKeyBytes));
  if (data_ == nullptr) throw std::bad_alloc();
}

SymmetricKey SymmetricKey::Generate() {
  SymmetricKey key;
  crypto_aead_xchacha20poly1305_ietf_keygen(key.data_);
  return key;
}

StatusOr<SymmetricKey> SymmetricKey::FromBytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kKeyBytes) {
    return InvalidArgumentError("a key must be " + std::to_string(kKeyBytes) + " bytes, not " +
                                std::to_string(bytes.size()));
  }
  SymmetricKey key;
  std::memcpy(key.data_, bytes.data(), kKeyBytes);
  return key;
}

SymmetricKey::SymmetricKey(SymmetricKey&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {}

SymmetricKey& SymmetricKey::operator=(SymmetricKey&& other) noexcept {
  if (this != &other) {
    sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
  }
  return *this;
}

SymmetricKey::~SymmetricKey() { sodium_free(data_); }

std::span<const std::uint8_t> SymmetricKey::bytes() const {
  if (data_ == nullptr) return {};
  return {data_, kKeyBytes};
}

std::string AssociatedData(std::string_view table, std::string_view row_id, std::string_view column) {
  std::string out = "latchkey/v1";
  AppendEscapedPart(out, table);
  AppendEscapedPart(out, row_id);
  AppendEscapedPart(out, column);
  return out;
}

Bytes Seal(const SymmetricKey& key, std::int64_t key_id, std::span<const std::uint8_t> plaintext,
           std::string_view associated_data) {
  EnsureLibsodium();
  Bytes sealed(kHeaderBytes + plaintext.size() + kTagBytes);
  sealed[0] = kFormatVersion;
  auto id = static_cast<std::uint64_t>(key_id);
  for (std::size_t i = kKeyIdBytes; i >= 1; --i, id >>= 8) sealed[i] = static_cast<std::uint8_t>(id & 0xff);
  std::uint8_t* nonce = sealed.data() + kVersionAndKeyIdBytes;
  randombytes_buf(nonce, kNonceBytes);

  const std::string bound = BoundAssociatedData(sealed, associated_data);
  // libsodium accepts an empty message, but not every build tolerates a null pointer.
  static const std::uint8_t kNothing = 0;
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      sealed.data() + kHeaderBytes, &length, plaintext.empty() ? &kNothing : plaintext.data(),
      plaintext.size(), AsUnsigned(bound), bound.size(), nullptr, nonce, KeyPointer(key));
  assert(length == plaintext.size() + kTagBytes);
  return sealed;
}

StatusOr<SecretString> Open(const SymmetricKey& key, std::span<const std::uint8_t> sealed,
                            std::string_view associated_data) {
  LATCHKEY_RETURN_IF_ERROR(CheckHeader(sealed));
  EnsureLibsodium();
  const std::string bound = BoundAssociatedData(sealed, associated_data);
  std::span<const std::uint8_t> ciphertext = sealed.subspan(kHeaderBytes);
  std::string plaintext(ciphertext.size() - kTagBytes, '\0');
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plaintext.data()), &length, nullptr, ciphertext.data(),
          ciphertext.size(), AsUnsigned(bound), bound.size(), sealed.data() + kVersionAndKeyIdBytes,
          KeyPointer(key)) != 0) {
    return DataLossError(
        "authentication failed: the value was altered, belongs to another row or column, or was sealed "
        "with another key");
  }
  plaintext.resize(length);
  // Copy from a view, then wipe: moving the string could leave bytes in its small buffer.
  SecretString result{std::string_view(plaintext)};
  WipeString(plaintext);
  return result;
}

StatusOr<std::int64_t> SealedKeyId(std::span<const std::uint8_t> sealed) {
  LATCHKEY_RETURN_IF_ERROR(CheckHeader(sealed));
  std::uint64_t id = 0;
  for (std::size_t i = 1; i <= kKeyIdBytes; ++i) id = (id << 8) | sealed[i];
  return static_cast<std::int64_t>(id);
}

}  // namespace latchkey::crypto
