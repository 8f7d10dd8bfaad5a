// Bearer keys that latchkey issues (agent keys "lk_…" and admin tokens "lka_…"):
//   "{prefix}_{id}_{secret}"   e.g. "lk_3f9c0a1b2c3d4e5f_Vq3...43 chars"
// `id` (16 hex chars) is public and finds the row; `secret` (32 random bytes,
// base64url) is only ever stored as a keyed BLAKE2b-256 hash and compared in constant
// time. A key is high-entropy, so a fast hash is the right tool (no password KDF).
// Pure functions: any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/random.h"
#include "common/secret_string.h"
#include "common/status.h"

namespace latchkey::crypto {

struct IssuedKey {
  std::string id;    // public lookup id
  SecretString key;  // the whole key, shown to the operator once
  Bytes hash;        // what is stored
};

// prefix: lowercase letters only, e.g. "lk" (agent) or "lka" (admin).
IssuedKey IssueAccessKey(std::string_view prefix, Random& random);

struct PresentedKey {
  std::string id;
  SecretString secret;
};

// kUnauthenticated (without echoing the input) unless `text` has the form above with
// this prefix.
StatusOr<PresentedKey> ParseAccessKey(std::string_view prefix, std::string_view text);

Bytes HashAccessKeySecret(std::string_view secret);

// Constant-time comparison of hash(secret) with `stored_hash`.
bool VerifyAccessKeySecret(const SecretString& secret, std::span<const std::uint8_t> stored_hash);

}  // namespace latchkey::crypto
