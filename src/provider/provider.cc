#include "provider/provider.h"

#include <sstream>

#include "common/ascii.h"
#include "provider/provider_fields.h"

namespace latchkey::provider {

std::string_view AuthKindName(AuthKind kind) {
  switch (kind) {
    case AuthKind::kOAuth2: return "oauth2";
    case AuthKind::kApiKey: return "api_key";
    case AuthKind::kBasic: return "basic";
  }
  return "unknown";
}

std::string_view TokenAuthMethodName(TokenAuthMethod method) {
  switch (method) {
    case TokenAuthMethod::kClientSecretBasic: return "client_secret_basic";
    case TokenAuthMethod::kClientSecretPost: return "client_secret_post";
    case TokenAuthMethod::kNone: return "none";
  }
  return "unknown";
}

std::string OwnEnvVariable(std::string_view provider_name, std::string_view suffix, std::string_view prefix) {
  std::string out(prefix);
  for (char c : provider_name) out += c == '-' ? '_' : AsciiUpper(c);
  out += '_';
  out += suffix;
  return out;
}

StatusOr<std::string> StripLiteralClientSecret(std::string_view toml_text) {
  LATCHKEY_ASSIGN_OR_RETURN(toml::table table, internal::ParseTomlDocument(toml_text, "provider"));
  if (const auto* secret = table["client_secret"].as_string()) {
    // env: references name where the secret lives; only literals are secrets themselves.
    if (!secret->get().starts_with("env:")) table.erase("client_secret");
  }
  std::ostringstream out;
  out << table << '\n';
  return out.str();
}

}  // namespace latchkey::provider
