// AdminTokens: who may use the gateway's admin API (/v1). A token looks like an agent key
// with the prefix "lka" (crypto/access_key.h): shown once when created, stored only as a
// hash, compared in constant time. `latchkey serve` creates the first one on first run.
// Thread-safe; state lives in the store.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/secret_string.h"
#include "common/status.h"
#include "store/store.h"

namespace latchkey::vault {

inline constexpr std::string_view kAdminTokenPrefix = "lka";

class AdminTokens {
 public:
  AdminTokens(std::shared_ptr<store::Store> store, const Clock& clock, Random& random);

  // A new token (the only time it exists in plaintext).
  StatusOr<SecretString> Create();
  // Creates a token only when no unrevoked one exists; returns it then, else nullopt.
  StatusOr<std::optional<SecretString>> EnsureOne();
  Status Revoke(std::string_view id);
  StatusOr<std::vector<store::AdminTokenRecord>> List() const;

  // kUnauthenticated, with one sentence whatever was wrong.
  Status Authenticate(std::string_view presented) const;
  // The id (public part) of a well-formed token, checked or not; empty when malformed.
  static std::string IdOf(std::string_view presented);
  // OK while the token with this id exists and is not revoked (the dashboard's sessions
  // live only as long as the token they were opened with), else kUnauthenticated.
  Status StillValid(std::string_view id) const;

 private:
  std::shared_ptr<store::Store> store_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace latchkey::vault
