// Reads the credentials an operator imports with `latchkey connection import`: an
// RFC 6749 §5.1 token response for OAuth providers, {"api_key": ...} for API-key
// providers, {"username": ..., "password": ...} for basic ones. Errors are one
// sentence and never quote the document (it holds secrets). Pure functions: any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_string.h"
#include "common/status.h"
#include "provider/provider.h"

namespace latchkey::vault {

struct ImportedCredentials {
  SecretString access_token;
  SecretString refresh_token;
  SecretString api_key;
  std::string username;
  SecretString password;
  std::string token_type;                          // defaults to "Bearer"
  std::vector<std::string> scopes;                 // as granted; split on the provider's separator
  std::optional<std::chrono::seconds> expires_in;  // absent, unusable or absurd values: nullopt
  std::string account;                             // from the provider's account_field, when present
  std::string api_base_url;                        // from the provider's api_base_url_field, when present
};

// `document` is the whole file / stdin; `source` names it in messages ("tokens.json").
StatusOr<ImportedCredentials> ParseImportDocument(std::string_view document, std::string_view source,
                                                  const provider::ProviderDefinition& provider);

}  // namespace latchkey::vault
