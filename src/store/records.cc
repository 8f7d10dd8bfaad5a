#include "store/records.h"

#include "common/clock.h"

namespace latchkey::store {

std::string_view ConnectionStatusName(ConnectionStatus status) {
  switch (status) {
    case ConnectionStatus::kPending: return "pending";
    case ConnectionStatus::kActive: return "active";
    case ConnectionStatus::kNeedsReauth: return "needs_reauth";
    case ConnectionStatus::kDisconnected: return "disconnected";
  }
  return "unknown";
}

std::optional<ConnectionStatus> ParseConnectionStatus(std::string_view name) {
  for (ConnectionStatus s : {ConnectionStatus::kPending, ConnectionStatus::kActive,
                             ConnectionStatus::kNeedsReauth, ConnectionStatus::kDisconnected}) {
    if (ConnectionStatusName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view CredentialKindName(CredentialKind kind) {
  switch (kind) {
    case CredentialKind::kOAuth2: return "oauth2";
    case CredentialKind::kClientCredentials: return "client_credentials";
    case CredentialKind::kApiKey: return "api_key";
    case CredentialKind::kBasic: return "basic";
  }
  return "unknown";
}

std::optional<CredentialKind> ParseCredentialKind(std::string_view name) {
  for (CredentialKind k : {CredentialKind::kOAuth2, CredentialKind::kClientCredentials,
                           CredentialKind::kApiKey, CredentialKind::kBasic}) {
    if (CredentialKindName(k) == name) return k;
  }
  return std::nullopt;
}

std::string_view McpTokenKindName(McpTokenKind kind) {
  switch (kind) {
    case McpTokenKind::kCode: return "code";
    case McpTokenKind::kAccess: return "access";
    case McpTokenKind::kRefresh: return "refresh";
  }
  return "unknown";
}

std::optional<McpTokenKind> ParseMcpTokenKind(std::string_view name) {
  for (McpTokenKind k : {McpTokenKind::kCode, McpTokenKind::kAccess, McpTokenKind::kRefresh}) {
    if (McpTokenKindName(k) == name) return k;
  }
  return std::nullopt;
}

std::string HandedOverReason(TimePoint at, std::string_view what) {
  return "this store was handed over to another at " + FormatRfc3339(at) +
         " (`latchkey backup --final`), so it " + std::string(what) +
         " no more: use the store the backup was restored into (or, if the move was abandoned, `latchkey "
         "backup --resume` here)";
}

}  // namespace latchkey::store
