// The outcome of a call to a token, device-authorization or revocation endpoint: the
// parsed tokens, or a TokenError that says what the caller should do next (SPEC §2:
// needs_reauth, operator alert, retry with backoff, keep polling). Value types: each
// result has one owner; tokens are SecretStrings, wiped when the result dies.
//
//   TokenResult r = client.Refresh(old_refresh);
//   if (!r.ok()) {
//     if (r.error().kind == TokenErrorKind::kTerminal) MarkNeedsReauth(...);
//     ...
//   }
//   if (r->refresh_token.empty()) { /* keep the old refresh token */ }
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/secret_string.h"
#include "common/status.h"

namespace latchkey::oauth {

enum class TokenErrorKind {
  kTerminal,        // the grant is gone (invalid_grant and provider equivalents): needs_reauth
  kMisconfigured,   // invalid_client, unauthorized_client, invalid_scope, unknown 4xx codes: alert operator
  kTransient,       // network, timeout, 5xx, 429, temporarily_unavailable, HTML error pages: back off, retry
  kProtocol,        // a 2xx that is not a usable answer (non-JSON, no access_token): retry like
                    // kTransient, but it is the provider (or a proxy) misbehaving, not the network
  kDevicePending,   // RFC 8628 authorization_pending: poll again after `interval`
  kDeviceSlowDown,  // RFC 8628 slow_down: add 5 s to the polling interval, then poll again
  kDeviceExpired,   // RFC 8628 expired_token: the device code is dead; start over
  kDeviceDenied,    // RFC 8628 access_denied: the user said no
};

std::string_view TokenErrorKindName(TokenErrorKind kind);  // "terminal", "misconfigured", ...

struct TokenError {
  TokenErrorKind kind = TokenErrorKind::kTransient;
  // The provider's error code ("invalid_grant"), or ours for failures without one:
  // "network", "timeout", "response_too_large", "http_<status>", "malformed_response",
  // "missing_access_token", "no_endpoint".
  std::string code;
  // Provider's error_description or our sentence: control characters removed, at most
  // kMaxDescriptionLength bytes, values of secrets we sent replaced by "[redacted]".
  std::string description;
  std::optional<std::chrono::seconds> retry_after;  // from a Retry-After header
  int http_status = 0;                              // 0 when no HTTP response arrived

  // For logs and alerts: "terminal: invalid_grant (HTTP 400): Token has been revoked."
  std::string ToString() const;
};

inline constexpr std::size_t kMaxDescriptionLength = 300;

// A Status for callers that only propagate: kTerminal and kMisconfigured → kNeedsHuman,
// kDeviceDenied → kPermissionDenied, kDeviceExpired → kDeadlineExceeded, the rest →
// kUnavailable. The message is TokenError::ToString().
Status TokenErrorToStatus(const TokenError& error);

struct TokenResponse {
  SecretString access_token;
  SecretString refresh_token;  // empty when the response had none: the caller keeps the old one
  SecretString id_token;
  std::string token_type;                          // "Bearer" when absent or any case of "bearer"
  std::vector<std::string> scopes;                 // as granted; split on the provider's separator
  bool scopes_in_response = false;                 // false: RFC 6749 §5.1 says "same as requested"
  std::optional<std::chrono::seconds> expires_in;  // always set; see expires_in_defaulted
  bool expires_in_defaulted = false;               // expires_in was absent/zero/unparsable/absurd
  // ... and the entry states no default_expires_in either: expires_in is latchkey's guess.
  bool expires_in_assumed = false;
  std::string api_base_url;  // from quirks.api_base_url_field (Salesforce instance_url)
  std::string account;       // from quirks.account_field
  // When the refresh token dies, if the response says (RefreshExpiresAtFromJson).
  std::optional<TimePoint> refresh_expires_at;
  TimePoint received_at{};  // Clock::Now() when the response arrived
};

struct DeviceAuthorization {
  SecretString device_code;
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;  // may be empty
  std::chrono::seconds expires_in{0};
  std::chrono::seconds interval{5};  // RFC 8628 §3.2 default
};

// A value of T or a TokenError (the OAuth analogue of StatusOr<T>).
template <typename T>
class [[nodiscard]] OAuthResult {
 public:
  OAuthResult(T value) : state_(std::move(value)) {}           // NOLINT(google-explicit-constructor)
  OAuthResult(TokenError error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const TokenError& error() const { return std::get<TokenError>(state_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, TokenError> state_;
};

using TokenResult = OAuthResult<TokenResponse>;
using DeviceStartResult = OAuthResult<DeviceAuthorization>;
using RevokeResult = OAuthResult<std::monostate>;

}  // namespace latchkey::oauth
