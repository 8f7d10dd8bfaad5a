#include "oauth/token_result.h"

namespace latchkey::oauth {

std::string_view TokenErrorKindName(TokenErrorKind kind) {
  switch (kind) {
    case TokenErrorKind::kTerminal: return "terminal";
    case TokenErrorKind::kMisconfigured: return "misconfigured";
    case TokenErrorKind::kTransient: return "transient";
    case TokenErrorKind::kProtocol: return "protocol";
    case TokenErrorKind::kDevicePending: return "device_pending";
    case TokenErrorKind::kDeviceSlowDown: return "device_slow_down";
    case TokenErrorKind::kDeviceExpired: return "device_expired";
    case TokenErrorKind::kDeviceDenied: return "device_denied";
  }
  return "unknown";
}

std::string TokenError::ToString() const {
  std::string out(TokenErrorKindName(kind));
  out += ": ";
  out += code.empty() ? "unknown_error" : code;
  if (http_status != 0) out += " (HTTP " + std::to_string(http_status) + ")";
  if (!description.empty()) out += ": " + description;
  if (retry_after) out += " (retry after " + std::to_string(retry_after->count()) + " s)";
  return out;
}

Status TokenErrorToStatus(const TokenError& error) {
  switch (error.kind) {
    case TokenErrorKind::kTerminal:
    case TokenErrorKind::kMisconfigured: return NeedsHumanError(error.ToString());
    case TokenErrorKind::kDeviceDenied: return PermissionDeniedError(error.ToString());
    case TokenErrorKind::kDeviceExpired: return DeadlineExceededError(error.ToString());
    case TokenErrorKind::kTransient:
    case TokenErrorKind::kProtocol:
    case TokenErrorKind::kDevicePending:
    case TokenErrorKind::kDeviceSlowDown: return UnavailableError(error.ToString());
  }
  return InternalError(error.ToString());
}

}  // namespace latchkey::oauth
