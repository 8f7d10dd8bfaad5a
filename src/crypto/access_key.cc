#include "crypto/access_key.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cassert>

namespace latchkey::crypto {
namespace {

constexpr std::size_t kIdBytes = 8;  // 16 hex chars
constexpr std::size_t kIdChars = 2 * kIdBytes;
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kSecretChars = 43;  // unpadded base64url of 32 bytes
constexpr std::size_t kHashBytes = crypto_generichash_BYTES;
// Domain separation: this hash means "access key secret" and nothing else.
// 16..64 bytes, as BLAKE2b requires of a key.
constexpr std::string_view kHashKey = "latchkey/access-key-secret/v1";

bool IsValidPrefix(std::string_view prefix) {
  return !prefix.empty() && std::ranges::all_of(prefix, [](char c) { return c >= 'a' && c <= 'z'; });
}

bool IsLowerHex(std::string_view text) {
  return std::ranges::all_of(text, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsBase64Url(std::string_view text) {
  return std::ranges::all_of(text, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// True if `secret` is the one canonical encoding of 32 bytes (unused low bits are zero).
bool IsCanonicalSecret(std::string_view secret) {
  std::optional<Bytes> decoded = Base64Decode(secret);
  if (!decoded) return false;
  const bool ok = decoded->size() == kSecretBytes;
  decoded->resize(decoded->capacity());
  sodium_memzero(decoded->data(), decoded->size());
  return ok;
}

}  // namespace

IssuedKey IssueAccessKey(std::string_view prefix, Random& random) {
  assert(IsValidPrefix(prefix) && "access key prefixes are lowercase letters");
  EnsureLibsodium();
  std::array<std::uint8_t, kSecretBytes> raw{};
  random.Fill(raw);
  std::string secret = Base64UrlEncode(raw);
  sodium_memzero(raw.data(), raw.size());

  IssuedKey issued;
  issued.id = random.Hex(kIdBytes);
  std::string whole;
  whole.reserve(prefix.size() + 1 + kIdChars + 1 + kSecretChars);
  whole.append(prefix).append("_").append(issued.id).append("_").append(secret);
  issued.key = SecretString{std::string_view(whole)};
  issued.hash = HashAccessKeySecret(secret);
  WipeString(secret);
  WipeString(whole);
  return issued;
}

StatusOr<PresentedKey> ParseAccessKey(std::string_view prefix, std::string_view text) {
  // The secret may itself contain '_', so the parts are found by position, not by splitting.
  const std::size_t id_at = prefix.size() + 1;
  const std::size_t secret_at = id_at + kIdChars + 1;
  const bool well_formed = IsValidPrefix(prefix) && text.size() == secret_at + kSecretChars &&
                           text.starts_with(prefix) && text[id_at - 1] == '_' &&
                           IsLowerHex(text.substr(id_at, kIdChars)) && text[secret_at - 1] == '_' &&
                           IsBase64Url(text.substr(secret_at)) && IsCanonicalSecret(text.substr(secret_at));
  if (!well_formed) return UnauthenticatedError("malformed key");
  return PresentedKey{std::string(text.substr(id_at, kIdChars)), SecretString(text.substr(secret_at))};
}

Bytes HashAccessKeySecret(std::string_view secret) {
  EnsureLibsodium();
  Bytes hash(kHashBytes);
  crypto_generichash(hash.data(), hash.size(), AsBytes(secret).data(), secret.size(),
                     AsBytes(kHashKey).data(), kHashKey.size());
  return hash;
}

bool VerifyAccessKeySecret(const SecretString& secret, std::span<const std::uint8_t> stored_hash) {
  const Bytes hash = HashAccessKeySecret(secret.reveal());
  if (stored_hash.size() != hash.size()) return false;
  return sodium_memcmp(hash.data(), stored_hash.data(), hash.size()) == 0;
}

}  // namespace latchkey::crypto
