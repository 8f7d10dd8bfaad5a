#include "vault/env_references.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace latchkey::vault {
namespace {

// The variables that hold or replace the master key: never readable through an entry.
bool IsMasterKeyVariable(std::string_view variable) {
  return variable == "LATCHKEY_MASTER_KEY" || variable == "LATCHKEY_NEW_MASTER_KEY";
}

}  // namespace

Status CheckEnvReference(const EnvReferencePolicy& policy, std::string_view provider, std::string_view field,
                         std::string_view variable) {
  const std::string where = "provider '" + std::string(provider) + "': " + std::string(field) +
                            " = \"env:" + std::string(variable) + "\"";
  if (IsMasterKeyVariable(variable)) {
    return InvalidArgumentError(where + " names the master key's variable, which no provider entry may read");
  }
  // The entry's own variables, as the built-in catalog (LATCHKEY_GOOGLE_CLIENT_SECRET) and
  // SPEC §9's example (ACME_CLIENT_SECRET for "acme") name them.
  // The form without LATCHKEY_ never starts with it: an entry named "latchkey-github"
  // would otherwise own LATCHKEY_GITHUB_CLIENT_SECRET, the built-in's variable.
  bool own = false;
  for (std::string_view prefix : {"LATCHKEY_", ""}) {
    const bool mine = variable == provider::OwnEnvVariable(provider, "CLIENT_ID", prefix) ||
                      variable == provider::OwnEnvVariable(provider, "CLIENT_SECRET", prefix);
    own = own || (mine && (!prefix.empty() || !variable.starts_with("LATCHKEY_")));
  }
  const bool allowed = std::ranges::any_of(
      policy.allowed_prefixes, [&](const std::string& prefix) { return variable.starts_with(prefix); });
  if (own || allowed) return Status::Ok();
  std::string prefixes;
  for (const std::string& prefix : policy.allowed_prefixes)
    prefixes += (prefixes.empty() ? "" : ", ") + prefix;
  return InvalidArgumentError(where + " is not allowed: an entry may read only variables starting with " +
                              (prefixes.empty() ? "(none configured)" : prefixes) + ", or its own " +
                              provider::OwnEnvVariable(provider, "CLIENT_ID") + " and " +
                              provider::OwnEnvVariable(provider, "CLIENT_SECRET") +
                              " (also without LATCHKEY_); rename the variable, or add its prefix to "
                              "env_secret_prefixes in latchkey.toml");
}

Status CheckEnvReferences(const EnvReferencePolicy& policy, const provider::ProviderDefinition& definition) {
  if (!definition.client_id.env_var.empty()) {
    LATCHKEY_RETURN_IF_ERROR(
        CheckEnvReference(policy, definition.name, "client_id", definition.client_id.env_var));
  }
  if (!definition.client_secret.env_var.empty()) {
    LATCHKEY_RETURN_IF_ERROR(
        CheckEnvReference(policy, definition.name, "client_secret", definition.client_secret.env_var));
  }
  return Status::Ok();
}

StatusOr<SecretString> ResolveValueSource(const EnvReferencePolicy& policy, std::string_view provider,
                                          std::string_view field, const provider::ValueSource& source) {
  if (source.env_var.empty()) return SecretString(std::string(source.literal.reveal()));
  // Stored before this check existed, or allowed under an earlier latchkey.toml.
  if (Status allowed = CheckEnvReference(policy, provider, field, source.env_var); !allowed.ok()) {
    return NeedsHumanError(allowed.message());
  }
  const char* value =
      std::getenv(source.env_var.c_str());  // NOLINT(concurrency-mt-unsafe): never set after start-up
  if (value == nullptr || *value == '\0') {
    return NeedsHumanError("provider '" + std::string(provider) + "' takes its " + std::string(field) +
                           " from $" + source.env_var +
                           ", which is not set: set it, or override the provider with "
                           "`latchkey provider add`");
  }
  return SecretString(std::string(value));
}

}  // namespace latchkey::vault
