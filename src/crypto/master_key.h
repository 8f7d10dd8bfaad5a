// The master key: wraps (encrypts) the data keys and nothing else. It comes from the
// LATCHKEY_MASTER_KEY environment variable or from a key file in the data dir, created
// with mode 0600 on first run. Encoded form (env value and file contents):
//   "lkmk1." + base64url(32 key bytes), optionally followed by a newline.
// Functions are safe to call from any thread; file creation is safe across processes
// (two first runs racing end up with the same key).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/secret_string.h"
#include "common/status.h"
#include "crypto/aead.h"

namespace latchkey::crypto {

struct MasterKey {
  SymmetricKey key;
  std::string id;      // fingerprint: 16 hex chars of a keyed BLAKE2b of the key; not secret
  std::string source;  // "LATCHKEY_MASTER_KEY" or "key file /path/master.key", for messages
};

// Parses the encoded form. kInvalidArgument with a sentence naming `source` on any
// malformed input (never echoing the input).
StatusOr<MasterKey> ParseMasterKey(std::string_view encoded, std::string source);

// The encoded form of `key` (a secret).
SecretString EncodeMasterKey(const SymmetricKey& key);

std::string MasterKeyId(const SymmetricKey& key);

// Uses `env_value` when given (the caller read LATCHKEY_MASTER_KEY); otherwise reads
// `key_file`, creating it with a fresh key first if it does not exist and
// `create_if_missing` is set. Refuses a key file readable or writable by group/others
// (kFailedPrecondition naming the path and the fix: chmod 600).
StatusOr<MasterKey> LoadMasterKey(const std::optional<SecretString>& env_value,
                                  const std::filesystem::path& key_file, bool create_if_missing);

// Replaces `key_file` with `key`, atomically (temporary file, fsync, rename, fsync dir).
Status WriteKeyFile(const std::filesystem::path& key_file, const SymmetricKey& key);

}  // namespace latchkey::crypto
