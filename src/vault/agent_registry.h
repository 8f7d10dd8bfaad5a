// AgentRegistry: agents, their keys and their policies. A key is shown once, when it
// is created; the store keeps only its hash (crypto/access_key.h), and presented keys
// are checked in constant time. Thread-safe; state lives in the store.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/secret_string.h"
#include "common/status.h"
#include "policy/policy.h"
#include "store/store.h"

namespace latchkey::vault {

inline constexpr std::string_view kAgentKeyPrefix = "lk";

struct CreatedAgent {
  store::AgentRecord record;
  SecretString key;  // the only time the key exists in plaintext
};

struct AuthenticatedAgent {
  store::AgentRecord record;
  policy::Policy policy;
};

class AgentRegistry {
 public:
  AgentRegistry(std::shared_ptr<store::Store> store, const Clock& clock, Random& random);

  // Every rule is validated first; none is stored unless all parse.
  StatusOr<CreatedAgent> Create(std::string_view name, const std::vector<std::string>& rules);
  StatusOr<std::vector<store::AgentRecord>> List() const;
  Status Revoke(std::string_view name);

  // kUnauthenticated, with the same sentence whatever was wrong (malformed, unknown,
  // wrong secret, revoked), so a caller learns nothing from probing.
  StatusOr<AuthenticatedAgent> Authenticate(std::string_view presented_key) const;
  // The agent by name, for a caller the store itself trusts (the local `latchkey mcp
  // --agent NAME`): kUnauthenticated when it does not exist or is revoked.
  StatusOr<AuthenticatedAgent> Find(std::string_view name) const;

 private:
  std::shared_ptr<store::Store> store_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace latchkey::vault
