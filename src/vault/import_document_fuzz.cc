// Fuzzes the credentials document an operator imports (`latchkey connection import`),
// for an OAuth, an API-key and a basic provider. Properties: an error is one sentence
// that names the source and never quotes what in the document looks like a secret; an OAuth import
// that parses has an access token, and an API-key import a key.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "support/fuzz_check.h"
#include "support/fuzz_input.h"
#include "vault/import_document.h"

namespace {

// The runs of the document that look like a secret (12 or more token characters, letters
// and digits both), which a message must never hold. (Not the whole document: the fuzzer
// once sent "s.json is not valid J", a piece of our own wording, as the document.)
std::vector<std::string_view> SecretLike(std::string_view document) {
  constexpr std::string_view kTokenChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+/";
  std::vector<std::string_view> runs;
  size_t at = 0;
  while ((at = document.find_first_of(kTokenChars, at)) != std::string_view::npos) {
    const size_t end = std::min(document.find_first_not_of(kTokenChars, at), document.size());
    const std::string_view run = document.substr(at, end - at);
    const bool letters =
        run.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != run.npos;
    const bool digits = run.find_first_of("0123456789") != run.npos;
    if (run.size() >= 12 && letters && digits) runs.push_back(run);
    at = end;
  }
  return runs;
}

}  // namespace

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
      for (std::string_view secret : SecretLike(document))
        FUZZ_CHECK(message.find(secret) == std::string::npos);
      continue;
    }
    if (provider.auth == provider::AuthKind::kOAuth2) FUZZ_CHECK(!imported->access_token.empty());
    if (provider.auth == provider::AuthKind::kApiKey) FUZZ_CHECK(!imported->api_key.empty());
    if (imported->expires_in) FUZZ_CHECK(imported->expires_in->count() > 0);
  }
  return 0;
}
