// Fuzzes what an identity endpoint (userinfo, GitHub's /user, Slack's auth.test...)
// answers about who a grant belongs to, read through the provider's JSON pointers.
// Input: the id pointer, a newline, the label pointer, a newline, the status, a newline,
// the body. Properties: an account id, when found, is non-empty display-safe text and the
// same answer read twice gives the same account; the phrase for messages is valid UTF-8.
#include <charconv>
#include <cstddef>
#include <cstdint>

#include "common/clock.h"
#include "common/encoding.h"
#include "oauth/fake_http_client.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"
#include "vault/account_identity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  std::string_view input = fuzz::AsText(data, size);
  provider::ProviderDefinition provider;
  provider.name = "acme";
  provider.identity_url = "https://api.acme.example/me";
  provider.identity_id_pointer = std::string(fuzz::NextLine(input));
  provider.identity_label_pointer = std::string(fuzz::NextLine(input));
  const std::string_view status_line = fuzz::NextLine(input);
  int status = 200;
  std::from_chars(status_line.data(), status_line.data() + status_line.size(), status);

  oauth::FakeHttpClient http;
  http.Respond(provider.identity_url, status, std::string(input));
  SimulatedClock clock(FromUnixMillis(1'800'000'000'000));
  vault::AccountIdentities identities(http, clock);
  oauth::TokenResponse tokens;
  tokens.access_token = SecretString(std::string("at-fuzz"));

  auto account = identities.Identify(provider, tokens, "client", "");
  if (!account.ok()) return 0;
  FUZZ_CHECK(IsValidUtf8(account->id) && IsValidUtf8(account->label));
  FUZZ_CHECK(IsValidUtf8(vault::DescribeAccount(account->id, account->label)));
  auto again = identities.Identify(provider, tokens, "client", "");
  FUZZ_CHECK(again.ok() && again->id == account->id && again->label == account->label);
  return 0;
}
