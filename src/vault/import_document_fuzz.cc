// Fuzzes the credentials document an operator imports (`latchkey connection import`),
// for an OAuth, an API-key and a basic provider. Properties: an error is one sentence
// that names the source and never quotes the document (it holds secrets); an OAuth import
// that parses has an access token, and an API-key import a key.
#include <cstddef>
#include <cstdint>

#include "support/fuzz_check.h"
#include "support/fuzz_input.h"
#include "vault/import_document.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  const std::string_view document = fuzz::AsText(data, size);
  static const provider::ProviderDefinition kinds[] = {
      {.name = "oauth", .auth = provider::AuthKind::kOAuth2, .quirks = {.account_field = "team.name"}},
      {.name = "key", .auth = provider::AuthKind::kApiKey},
      {.name = "basic", .auth = provider::AuthKind::kBasic},
  };
  for (const auto& provider : kinds) {
    auto imported = vault::ParseImportDocument(document, "tokens.json", provider);
    if (!imported.ok()) {
      const std::string message = imported.status().message();
      FUZZ_CHECK(message.find("tokens.json") != std::string::npos);
      if (document.size() >= 12) FUZZ_CHECK(message.find(document) == std::string::npos);
      continue;
    }
    if (provider.auth == provider::AuthKind::kOAuth2) FUZZ_CHECK(!imported->access_token.empty());
    if (provider.auth == provider::AuthKind::kApiKey) FUZZ_CHECK(!imported->api_key.empty());
    if (imported->expires_in) FUZZ_CHECK(imported->expires_in->count() > 0);
  }
  return 0;
}
