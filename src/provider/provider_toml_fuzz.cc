// Fuzzes provider entries (TOML), which an operator writes and a colleague may hand over:
// the one input that decides where latchkey sends secrets. Properties: an error is one
// kInvalidArgument sentence naming the source; an entry that parses has a slug name, and
// every endpoint it names passes the endpoint rules (https, or http on loopback only); a
// template that parses makes, with valid values, an instance that parses too.
#include <cstddef>
#include <cstdint>

#include "provider/endpoint_url.h"
#include "provider/provider.h"
#include "provider/provider_fields.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace latchkey;
  const std::string_view text = fuzz::AsText(data, size);
  auto provider = provider::ParseProvider(text, "fuzz.toml");
  (void)provider::StripLiteralClientSecret(text);
  if (!provider.ok()) {
    FUZZ_CHECK(provider.status().code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(provider.status().message().starts_with("fuzz.toml"));
    FUZZ_CHECK(provider.status().message().find('\n') == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(!provider->name.empty());
  for (char c : provider->name) FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (provider->is_template()) {
    auto instance_text = provider::InstantiateTemplate(
        text, "fuzz.toml", provider::internal::SampleTemplateValues(provider->template_variables),
        "fuzz-instance");
    FUZZ_CHECK(instance_text.ok());
    provider = provider::ParseProvider(*instance_text, "instance");
    FUZZ_CHECK(provider.ok());
    FUZZ_CHECK(!provider->is_template() && provider->name == "fuzz-instance");
  }
  for (const std::string* url : {&provider->token_url, &provider->refresh_url, &provider->authorization_url,
                                 &provider->revocation_url, &provider->device_authorization_url,
                                 &provider->userinfo_url, &provider->jwks_url, &provider->identity_url}) {
    if (!url->empty()) FUZZ_CHECK(provider::internal::EndpointUrlProblem(*url).empty());
  }
  return 0;
}
