// Turns what a token, device-authorization or revocation endpoint answered into a
// TokenResult: the one place that decides terminal vs misconfigured vs transient
// (SPEC §2), honouring the provider's [quirks] as data. Pure functions of their
// inputs (time comes in as `now`): any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "oauth/http_client.h"
#include "oauth/token_result.h"
#include "provider/provider.h"

namespace latchkey::oauth {

struct ResponseContext {
  const provider::ProviderDefinition* provider = nullptr;  // required
  TimePoint now{};                                         // for Retry-After dates and received_at
  std::string endpoint_host;                               // for our own descriptions
  // True only while polling a device code: then authorization_pending, slow_down,
  // expired_token and access_denied are the RFC 8628 kinds, not generic errors.
  bool device_poll = false;
  // Values we sent (client secret, codes, tokens): replaced by "[redacted]" wherever
  // the provider echoes them into an error description.
  std::vector<std::string_view> redact;
};

// A token endpoint response (RFC 6749 §5.1 / §5.2, RFC 8628 §3.5).
TokenResult ParseTokenResponse(const HttpResponse& response, const ResponseContext& context);

// A device authorization response (RFC 8628 §3.2).
DeviceStartResult ParseDeviceAuthorizationResponse(const HttpResponse& response,
                                                   const ResponseContext& context);

// A revocation response (RFC 7009 §2.2): any 2xx is success unless the provider
// reports errors inside a 200 (quirks.error_in_ok_body).
RevokeResult ParseRevocationResponse(const HttpResponse& response, const ResponseContext& context);

// An HttpClient failure as a TokenError: timeouts and network errors are kTransient,
// an oversized response kProtocol, a malformed endpoint URL kMisconfigured.
TokenError TransportError(const Status& status);

// Replaces each (non-trivial) `redact` value, turns control characters into spaces, and
// makes the rest display text (ToDisplayText: valid UTF-8, no bidi or zero-width marks)
// of at most kMaxDescriptionLength bytes.
std::string SanitizeDescription(std::string_view text, const std::vector<std::string_view>& redact);

}  // namespace latchkey::oauth
