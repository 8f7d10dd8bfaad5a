// Fuzzes what a token endpoint (or a mixed-up, hostile authorization server) answers:
// token, device-authorization and revocation responses, JSON or form-encoded, under the
// quirks that change how they are read. Input (tests/support/fuzz_input.h):
//   STATUS [device|revoke] [json|form|auto] [ok-body] [token-path] [account] [instance]
//          [default-expires] [terminal] [comma] [polling]
//   name: value ...
//
//   body
// Properties: an error's description is printable, bounded, valid UTF-8 and never holds
// a secret we sent; a token response that parses has an access token, a token type and a
// positive lifetime, and no empty scope.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/encoding.h"
#include "oauth/retry_after.h"
#include "oauth/token_fields.h"
#include "oauth/token_response_parser.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

namespace {

using namespace latchkey;

constexpr std::string_view kSentSecret = "sent-client-secret-4711";

void CheckError(const oauth::TokenError& error) {
  FUZZ_CHECK(!error.code.empty());
  FUZZ_CHECK(error.description.size() <= oauth::kMaxDescriptionLength);
  FUZZ_CHECK(IsValidUtf8(error.description));
  FUZZ_CHECK(error.description.find(kSentSecret) == std::string::npos);
  for (char c : error.description) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  for (char c : error.code) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  if (error.retry_after) FUZZ_CHECK(*error.retry_after <= oauth::kLongestRetryAfter);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::Message message = fuzz::SplitMessage(fuzz::AsText(data, size));
  provider::ProviderDefinition provider;
  provider.name = "fuzz";
  provider.api_base_url = "https://api.example.com";
  auto& quirks = provider.quirks;
  quirks.token_response_format = message.Has("form") ? "form" : message.Has("auto") ? "auto" : "json";
  quirks.error_in_ok_body = message.Has("ok-body");
  if (message.Has("token-path")) quirks.token_path = "authed_user";
  if (message.Has("account")) quirks.account_field = "team.name";
  if (message.Has("instance")) quirks.api_base_url_field = "instance_url";
  if (message.Has("default-expires")) quirks.default_expires_in = 3600;
  if (message.Has("terminal")) {
    quirks.terminal_errors = {"revoked"};
    quirks.terminal_error_descriptions = {"AADSTS70008"};
  }
  if (message.Has("comma")) provider.scope_separator = ",";

  oauth::ResponseContext context;
  context.provider = &provider;
  context.now = TimePoint{} + std::chrono::seconds(1'700'000'000);
  context.endpoint_host = "auth.example.com";
  context.device_poll = message.Has("polling");
  context.redact = {kSentSecret};

  oauth::HttpResponse response;
  std::from_chars(message.first_line.data(), message.first_line.data() + message.first_line.size(),
                  response.status);
  response.headers = message.headers;
  response.body = std::string(message.body);

  if (message.Has("device")) {
    auto result = oauth::ParseDeviceAuthorizationResponse(response, context);
    if (!result.ok()) CheckError(result.error());
  } else if (message.Has("revoke")) {
    auto result = oauth::ParseRevocationResponse(response, context);
    if (!result.ok()) CheckError(result.error());
  } else {
    auto result = oauth::ParseTokenResponse(response, context);
    if (!result.ok()) {
      CheckError(result.error());
      return 0;
    }
    FUZZ_CHECK(!result->access_token.empty());
    FUZZ_CHECK(!result->token_type.empty());
    FUZZ_CHECK(result->expires_in && result->expires_in->count() > 0);
    for (const std::string& scope : result->scopes) FUZZ_CHECK(!scope.empty());
    if (result->refresh_expires_at) {
      FUZZ_CHECK(*result->refresh_expires_at > result->received_at);
      FUZZ_CHECK(*result->refresh_expires_at - result->received_at <= oauth::kLongestPlausibleLifetime);
    }
  }
  return 0;
}
