// Which environment variables a provider entry may name with "env:NAME" (SPEC §9). An
// entry comes from `provider add` or the admin API, and its token endpoint receives what
// the variable holds: unchecked, "env:LATCHKEY_MASTER_KEY" would post the master key to
// any host the entry names. Pure functions and plain values; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/secret_string.h"
#include "common/status.h"
#include "provider/provider.h"

namespace latchkey::vault {

struct EnvReferencePolicy {
  // latchkey.toml `env_secret_prefixes`: the variables entries may name start with one of these.
  std::vector<std::string> allowed_prefixes = {"LATCHKEY_SECRET_"};
};

// OK when `provider`'s `field` ("client_id", "client_secret") may read `variable`: it
// starts with an allowed prefix, or it is the entry's own [LATCHKEY_]<NAME>_CLIENT_ID or
// _CLIENT_SECRET (as the built-in catalog and SPEC §9's example name them, NAME upper
// case with '_' for '-').
// The master key's variables never. kInvalidArgument names the setting that allows it.
Status CheckEnvReference(const EnvReferencePolicy& policy, std::string_view provider, std::string_view field,
                         std::string_view variable);

// Checks every env: reference of `definition`.
Status CheckEnvReferences(const EnvReferencePolicy& policy, const provider::ProviderDefinition& definition);

// The value of `source` for `field`: its literal, or the variable it names when the
// policy allows it (kNeedsHuman when not allowed, unset or empty).
StatusOr<SecretString> ResolveValueSource(const EnvReferencePolicy& policy, std::string_view provider,
                                          std::string_view field, const provider::ValueSource& source);

}  // namespace latchkey::vault
