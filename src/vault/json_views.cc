#include "vault/json_views.h"

#include "common/duration.h"
#include "vault/account_identity.h"

namespace latchkey::vault {

nlohmann::json ConnectionJson(const store::ConnectionRecord& c, const RefreshForecast& forecast) {
  nlohmann::json j = {
      {"name", c.name},
      {"provider", c.provider},
      {"kind", store::CredentialKindName(c.kind)},
      {"status", store::ConnectionStatusName(c.status)},
      {"account", c.account},
      {"account_id", c.account_id},  // "" when unknown
      {"account_description", DescribeAccount(c.account_id, c.account)},
      {"scopes", c.scopes},
      {"api_base_url", c.api_base_url},
      {"token_type", c.token_type},
      {"expires_at", c.expires_at ? nlohmann::json(FormatRfc3339(*c.expires_at)) : nlohmann::json()},
      {"has_refresh_token", c.refresh_token.has_value()},
      {"last_refresh_at",
       c.last_refresh_at ? nlohmann::json(FormatRfc3339(*c.last_refresh_at)) : nlohmann::json()},
      {"needs_reauth_since",
       c.needs_reauth_since ? nlohmann::json(FormatRfc3339(*c.needs_reauth_since)) : nlohmann::json()},
      {"last_error", c.last_error},
      {"created_at", FormatRfc3339(c.created_at)},
      {"updated_at", FormatRfc3339(c.updated_at)},
  };
  if (c.kind == store::CredentialKind::kBasic) j["username"] = c.username;
  j["health"] = ConnectionHealth(c);
  j["refresh_failures"] = c.refresh_failures;
  j["refresh_expires_at"] =
      forecast.expires_at ? nlohmann::json(FormatRfc3339(*forecast.expires_at)) : nlohmann::json();
  j["refresh_expiry_source"] = RefreshExpirySourceName(forecast.source);
  // The operator's rules for this connection, where set ("7d").
  j["refresh_token_lifetime"] = c.refresh_lifetime_override
                                    ? nlohmann::json(FormatDuration(*c.refresh_lifetime_override))
                                    : nlohmann::json();
  j["refresh_token_idle_lifetime"] = c.refresh_idle_lifetime_override
                                         ? nlohmann::json(FormatDuration(*c.refresh_idle_lifetime_override))
                                         : nlohmann::json();
  return j;
}

std::string ConnectionHealth(const store::ConnectionRecord& c) {
  if (c.status != store::ConnectionStatus::kActive) return std::string(store::ConnectionStatusName(c.status));
  return c.refresh_failures > 0 ? "degraded" : "healthy";
}

nlohmann::json AgentJson(const store::AgentRecord& a) {
  return {
      {"name", a.name},
      {"id", a.id},
      {"rules", a.rules},
      {"created_at", FormatRfc3339(a.created_at)},
      {"revoked_at", a.revoked_at ? nlohmann::json(FormatRfc3339(*a.revoked_at)) : nlohmann::json()},
  };
}

namespace {

std::string SecretSourceText(const provider::ValueSource& source, bool stored) {
  if (!source.env_var.empty()) return "env:" + source.env_var;
  if (stored) return "(stored encrypted)";
  return source.literal.empty() ? "" : "(literal)";
}

}  // namespace

nlohmann::json ProviderJson(const provider::ProviderDefinition& p, bool stored_secret) {
  nlohmann::json j = {
      {"name", p.name},     {"display_name", p.display_name}, {"auth", provider::AuthKindName(p.auth)},
      {"source", p.source}, {"api_base_url", p.api_base_url},
  };
  if (p.auth == provider::AuthKind::kOAuth2) {
    j["issuer"] = p.issuer;
    j["authorization_url"] = p.authorization_url;
    j["token_url"] = p.token_url;
    if (!p.refresh_url.empty()) j["refresh_url"] = p.refresh_url;
    j["revocation_url"] = p.revocation_url;
    j["device_authorization_url"] = p.device_authorization_url;
    // A client id is not secret, but show where it comes from rather than resolving env vars.
    j["client_id"] = p.client_id.env_var.empty() ? std::string(p.client_id.literal.reveal())
                                                 : "env:" + p.client_id.env_var;
    j["client_secret"] = SecretSourceText(p.client_secret, stored_secret);
    j["token_auth"] = provider::TokenAuthMethodName(p.token_auth);
    j["scopes"] = p.scopes;
    j["scope_separator"] = p.scope_separator;
    j["authorization_params"] = p.authorization_params;
    // Lifetimes as the entry writes them ("90d"), or null where not documented.
    auto duration = [](const std::optional<std::chrono::seconds>& d) {
      return d ? nlohmann::json(FormatDuration(*d)) : nlohmann::json();
    };
    j["refresh_token_lifetime"] = duration(p.refresh_tokens.lifetime);
    j["refresh_token_idle_lifetime"] = duration(p.refresh_tokens.idle_lifetime);
    j["refresh_token_reuse_grace"] = duration(p.refresh_tokens.reuse_grace);
  } else if (p.auth == provider::AuthKind::kApiKey) {
    if (!p.api_key_header.empty()) j["api_key_header"] = p.api_key_header;
    if (!p.api_key_query.empty()) j["api_key_query"] = p.api_key_query;
  }
  if (!p.method_override_header.empty()) j["method_override_header"] = p.method_override_header;
  if (!p.test_path.empty()) j["test_path"] = p.test_path;
  if (!p.docs_url.empty()) j["docs_url"] = p.docs_url;
  // A template: the values `connect --param` takes, with the prompt for each.
  if (p.is_template()) {
    j["template"] = nlohmann::json::object();
    for (const provider::TemplateVariable& variable : p.template_variables)
      j["template"][variable.name] = variable.prompt;
  }
  return j;
}

nlohmann::json AuditJson(const store::AuditRecord& r) {
  return {{"id", r.id},
          {"at", FormatRfc3339(r.at)},
          {"agent", r.agent},
          {"client", r.client},  // the MCP client the call came through, or ""
          {"connection", r.connection},
          {"method", r.method},
          {"path", r.path},
          {"upstream_status", r.upstream_status},
          {"code", r.code},
          {"latency_ms", r.latency_ms},
          {"refreshed", r.refreshed}};
}

nlohmann::json AlertJson(const store::AlertEvent& e) {
  nlohmann::json payload = nlohmann::json::parse(e.payload, nullptr, /*allow_exceptions=*/false);
  return {
      {"id", e.event_id},
      {"type", e.type},
      {"connection", e.connection},
      {"data", payload.is_discarded() ? nlohmann::json::object() : payload},
      {"created_at", FormatRfc3339(e.created_at)},
      {"attempts", e.attempts},
      {"delivered_at", e.delivered_at ? nlohmann::json(FormatRfc3339(*e.delivered_at)) : nlohmann::json()},
      {"last_error", e.last_error}};
}

}  // namespace latchkey::vault
