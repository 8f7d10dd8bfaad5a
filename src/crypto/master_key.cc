#include "crypto/master_key.h"

#include <sodium.h>

#include <array>
#include <utility>

#include "common/encoding.h"
#include "common/random.h"
#include "crypto/private_file.h"

namespace latchkey::crypto {
namespace {

constexpr std::string_view kPrefix = "lkmk1.";
constexpr std::string_view kEnvName = "LATCHKEY_MASTER_KEY";
// Keys the fingerprint hash so that the id is not a plain hash of the key that might be
// reused elsewhere. 16..64 bytes, as BLAKE2b requires of a key.
constexpr std::string_view kIdDomain = "latchkey/master-key-id/v1";
constexpr std::size_t kIdBytes = 8;
// A key file holds ~50 bytes; anything much larger is not a key file.
constexpr std::size_t kMaxKeyFileBytes = 1024;

std::string_view TrimTrailingWhitespace(std::string_view text) {
  while (!text.empty() &&
         (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

void Wipe(Bytes& bytes) {
  bytes.resize(bytes.capacity());
  sodium_memzero(bytes.data(), bytes.size());
}

SecretString KeyFileContents(const SymmetricKey& key) {
  const SecretString encoded = EncodeMasterKey(key);
  std::string text;
  text.reserve(encoded.size() + 1);  // no reallocation, which would leave an unwiped copy
  text.append(encoded.reveal()).push_back('\n');
  SecretString contents{std::string_view(text)};
  WipeString(text);
  return contents;
}

}  // namespace

StatusOr<MasterKey> ParseMasterKey(std::string_view encoded, std::string source) {
  auto malformed = [&source](std::string_view why) {
    return InvalidArgumentError("the master key from " + source + " is malformed: " + std::string(why));
  };
  std::string_view text = TrimTrailingWhitespace(encoded);
  if (!text.starts_with(kPrefix)) return malformed("it does not start with \"lkmk1.\"");
  std::optional<Bytes> decoded = Base64Decode(text.substr(kPrefix.size()));
  if (!decoded) return malformed("the part after \"lkmk1.\" is not valid base64url");
  StatusOr<SymmetricKey> key = SymmetricKey::FromBytes(*decoded);
  const std::size_t size = decoded->size();
  Wipe(*decoded);
  if (!key.ok()) {
    return malformed("it encodes " + std::to_string(size) + " bytes instead of " + std::to_string(kKeyBytes));
  }
  std::string id = MasterKeyId(*key);
  return MasterKey{std::move(key).value(), std::move(id), std::move(source)};
}

SecretString EncodeMasterKey(const SymmetricKey& key) {
  std::string body = Base64UrlEncode(key.bytes());
  std::string text;
  text.reserve(kPrefix.size() + body.size());
  text.append(kPrefix).append(body);
  SecretString encoded{std::string_view(text)};
  WipeString(body);
  WipeString(text);
  return encoded;
}

std::string MasterKeyId(const SymmetricKey& key) {
  EnsureLibsodium();
  std::array<std::uint8_t, crypto_generichash_BYTES_MIN> digest{};
  crypto_generichash(digest.data(), digest.size(), key.bytes().data(), key.bytes().size(),
                     AsBytes(kIdDomain).data(), kIdDomain.size());
  return HexEncode(std::span(digest).first(kIdBytes));
}

StatusOr<MasterKey> LoadMasterKey(const std::optional<SecretString>& env_value,
                                  const std::filesystem::path& key_file, bool create_if_missing) {
  if (env_value.has_value()) return ParseMasterKey(env_value->reveal(), std::string(kEnvName));

  StatusOr<SecretString> contents = ReadPrivateFile(key_file, kMaxKeyFileBytes);
  if (!contents.ok() && contents.status().code() == StatusCode::kNotFound && create_if_missing) {
    // Whoever wins the race to create the file, everyone then reads the same file.
    Status created = CreatePrivateFileOnce(key_file, KeyFileContents(SymmetricKey::Generate()));
    if (!created.ok() && created.code() != StatusCode::kAlreadyExists) {
      return created.WithContext("creating the master key file");
    }
    contents = ReadPrivateFile(key_file, kMaxKeyFileBytes);
  }
  if (!contents.ok()) {
    return contents.status().WithContext("reading the master key");
  }
  return ParseMasterKey(contents->reveal(), "key file " + key_file.string());
}

Status WriteKeyFile(const std::filesystem::path& key_file, const SymmetricKey& key) {
  return ReplacePrivateFile(key_file, KeyFileContents(key));
}

}  // namespace latchkey::crypto
