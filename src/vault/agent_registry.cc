#include "vault/agent_registry.h"

#include "crypto/access_key.h"
#include "vault/connection_vault.h"

namespace latchkey::vault {
namespace {

Status Unauthenticated() {
  return UnauthenticatedError("the agent key is missing, malformed, unknown or revoked");
}

}  // namespace

AgentRegistry::AgentRegistry(std::shared_ptr<store::Store> store, const Clock& clock, Random& random)
    : store_(std::move(store)), clock_(clock), random_(random) {}

StatusOr<CreatedAgent> AgentRegistry::Create(std::string_view name, const std::vector<std::string>& rules) {
  if (!IsValidSlug(name)) {
    return InvalidArgumentError("'" + std::string(name) +
                                "' is not a valid agent name: use 1-64 lower-case letters, digits, '-', '_' "
                                "or '.', starting with a letter or digit");
  }
  if (rules.empty()) {
    return InvalidArgumentError(
        "an agent needs at least one --allow rule (CONNECTION[:METHODS[:PATH_GLOB]])");
  }
  LATCHKEY_RETURN_IF_ERROR(policy::Policy::Parse(rules));

  crypto::IssuedKey issued = crypto::IssueAccessKey(kAgentKeyPrefix, random_);
  CreatedAgent created{
      .record =
          store::AgentRecord{
              .id = issued.id,
              .name = std::string(name),
              .key_hash = issued.hash,
              .rules = rules,
              .created_at = clock_.Now(),
              .revoked_at = std::nullopt,
          },
      .key = std::move(issued.key),
  };
  Status inserted = store_->InsertAgent(created.record);
  if (inserted.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("agent '" + std::string(name) + "' exists already: choose another name");
  }
  LATCHKEY_RETURN_IF_ERROR(inserted);
  return created;
}

StatusOr<std::vector<store::AgentRecord>> AgentRegistry::List() const { return store_->ListAgents(); }

Status AgentRegistry::Revoke(std::string_view name) { return store_->RevokeAgent(name, clock_.Now()); }

StatusOr<AuthenticatedAgent> AgentRegistry::Authenticate(std::string_view presented_key) const {
  StatusOr<crypto::PresentedKey> presented = crypto::ParseAccessKey(kAgentKeyPrefix, presented_key);
  if (!presented.ok()) return Unauthenticated();
  StatusOr<store::AgentRecord> agent = store_->GetAgentById(presented->id);
  if (!agent.ok()) {
    if (agent.status().code() == StatusCode::kNotFound) return Unauthenticated();
    return agent.status();  // the store is unavailable: not the agent's fault
  }
  // Verify before looking at revocation, so both paths cost the same.
  const bool matches = crypto::VerifyAccessKeySecret(presented->secret, agent->key_hash);
  if (!matches || agent->revoked_at) return Unauthenticated();
  LATCHKEY_ASSIGN_OR_RETURN(policy::Policy policy, policy::Policy::Parse(agent->rules));
  return AuthenticatedAgent{.record = std::move(*agent), .policy = std::move(policy)};
}

StatusOr<AuthenticatedAgent> AgentRegistry::Find(std::string_view name) const {
  StatusOr<store::AgentRecord> agent = store_->GetAgent(name);
  if (!agent.ok()) {
    if (agent.status().code() == StatusCode::kNotFound) return Unauthenticated();
    return agent.status();
  }
  if (agent->revoked_at) return Unauthenticated();
  LATCHKEY_ASSIGN_OR_RETURN(policy::Policy policy, policy::Policy::Parse(agent->rules));
  return AuthenticatedAgent{.record = std::move(*agent), .policy = std::move(policy)};
}

}  // namespace latchkey::vault
