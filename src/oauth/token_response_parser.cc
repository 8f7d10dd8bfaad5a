#include "oauth/token_response_parser.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/ascii.h"
#include "common/encoding.h"
#include "common/json_secrets.h"
#include "oauth/form_encoding.h"
#include "oauth/retry_after.h"
#include "oauth/token_fields.h"
#include "oauth/url_policy.h"
#include "provider/api_base_urls.h"

namespace latchkey::oauth {
namespace {

using nlohmann::json;

constexpr std::chrono::seconds kAssumedLifetime = std::chrono::hours(1);
constexpr std::size_t kMaxCodeLength = 64;

struct JsonWiper {
  std::optional<json>& document;
  ~JsonWiper() {
    if (document) WipeJson(*document);
  }
};

std::string_view TrimLeft(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) text.remove_prefix(1);
  return text;
}

std::optional<json> ParseJson(std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

std::optional<json> ParseForm(std::string_view body) {
  auto pairs = ParseFormEncoded(body);
  if (!pairs || pairs->empty()) return std::nullopt;
  json object = json::object();
  for (auto& [name, value] : *pairs) {
    if (!object.contains(name)) object[name] = value;
    WipeString(value);
  }
  return object;
}

// Decodes the body as the provider's token_response_format says; nullopt when it is
// neither (HTML error pages, truncated JSON, empty bodies).
std::optional<json> DecodeBody(const HttpResponse& response, std::string_view format) {
  std::string content_type = AsciiLower(response.Header("content-type"));
  std::string_view body = TrimLeft(response.body);
  if (body.empty() || content_type.find("html") != std::string::npos) return std::nullopt;
  bool looks_like_json = body.front() == '{' || body.front() == '[';
  if (format == "form") return looks_like_json ? ParseJson(body) : ParseForm(body);
  if (format == "auto") {
    if (content_type.find("json") != std::string::npos || looks_like_json) return ParseJson(body);
    return ParseForm(body);
  }
  return ParseJson(body);  // "json"
}

std::string StringField(const json& object, const char* field) {
  if (!object.is_object()) return "";
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::string ScalarAsString(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  return "";
}

std::string SanitizeCode(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (out.size() == kMaxCodeLength) break;
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.' || c == ':') {
      out.push_back(c);
    }
  }
  return out.empty() ? "unknown_error" : out;
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

TokenErrorKind ClassifyCode(std::string_view code, std::string_view description, int http_status,
                            const ResponseContext& context) {
  const provider::ProviderQuirks& quirks = context.provider->quirks;
  // A rate limit or a server failure is never proof that the grant is gone.
  if (http_status == 429 || http_status >= 500) return TokenErrorKind::kTransient;
  if (context.device_poll) {
    if (code == "authorization_pending") return TokenErrorKind::kDevicePending;
    if (code == "slow_down") return TokenErrorKind::kDeviceSlowDown;
    if (code == "expired_token") return TokenErrorKind::kDeviceExpired;
    if (code == "access_denied") return TokenErrorKind::kDeviceDenied;
  }
  if (code == "invalid_grant" || code == "invalid_token" || Contains(quirks.terminal_errors, code)) {
    return TokenErrorKind::kTerminal;
  }
  for (const std::string& marker : quirks.terminal_error_descriptions) {
    if (!marker.empty() && description.find(marker) != std::string_view::npos) {
      return TokenErrorKind::kTerminal;
    }
  }
  if (code == "temporarily_unavailable" || code == "server_error" || code == "slow_down" ||
      code == "authorization_pending") {
    return TokenErrorKind::kTransient;
  }
  // invalid_client, unauthorized_client, invalid_scope, unsupported_grant_type,
  // invalid_request and codes we do not know: retrying the same request will not
  // help and the grant may well be fine, so a person has to look.
  return TokenErrorKind::kMisconfigured;
}

TokenError MakeError(TokenErrorKind kind, std::string code, const std::string& description, int http_status,
                     const HttpResponse& response, const ResponseContext& context) {
  TokenError error;
  error.kind = kind;
  error.code = std::move(code);
  error.description = SanitizeDescription(description, context.redact);
  error.http_status = http_status;
  std::string_view retry_after = response.Header("retry-after");
  if (!retry_after.empty()) error.retry_after = ParseRetryAfter(retry_after, context.now);
  return error;
}

// An error object ({"error": ..., "error_description": ...}) as a TokenError.
TokenError ErrorFromObject(const json& object, const HttpResponse& response, const ResponseContext& context) {
  std::string code = SanitizeCode(StringField(object, "error"));
  std::string description = StringField(object, "error_description");
  TokenErrorKind kind = ClassifyCode(code, description, response.status, context);
  return MakeError(kind, std::move(code), description, response.status, response, context);
}

bool HasErrorField(const json& document) {
  return document.is_object() && document.contains("error") && document["error"].is_string();
}

// Non-2xx answers.
TokenError ClassifyHttpError(const HttpResponse& response, const std::optional<json>& document,
                             const ResponseContext& context) {
  if (document && HasErrorField(*document)) return ErrorFromObject(*document, response, context);
  const int status = response.status;
  std::string code = "http_" + std::to_string(status);
  std::string content_type(response.Header("content-type"));
  if (content_type.empty()) content_type = "no content type";
  std::string what = context.endpoint_host + " answered HTTP " + std::to_string(status) + " (" +
                     content_type + ") without an OAuth error";
  if (status == 401) {
    // RFC 6749 §5.2: a 401 from a token endpoint is a failed client authentication.
    return MakeError(TokenErrorKind::kMisconfigured, std::move(code),
                     what + "; the client credentials were probably rejected", status, response, context);
  }
  if (status >= 300 && status < 400) {
    return MakeError(TokenErrorKind::kMisconfigured, std::move(code),
                     what + "; redirects are not followed, so the endpoint URL is probably wrong", status,
                     response, context);
  }
  // 5xx, 429, and proxies' HTML pages for other codes: nothing says the grant is bad.
  return MakeError(TokenErrorKind::kTransient, std::move(code), what, status, response, context);
}

bool IsSuccess(int status) { return status >= 200 && status < 300; }

// Slack ({"ok": false, "error": "..."} with 200) and GitHub (200 with error=...).
std::optional<TokenError> ErrorInSuccessBody(const json& document, const json& tokens,
                                             const HttpResponse& response, const ResponseContext& context) {
  if (context.provider->quirks.error_in_ok_body && document.is_object() && document.contains("ok") &&
      document["ok"] == false) {
    if (HasErrorField(document)) return ErrorFromObject(document, response, context);
    return MakeError(ClassifyCode("unknown_error", "", response.status, context), "unknown_error",
                     "the provider answered ok=false without an error code", response.status, response,
                     context);
  }
  if (HasErrorField(document) && !tokens.contains("access_token")) {
    return ErrorFromObject(document, response, context);
  }
  return std::nullopt;
}

TokenResult BuildTokenResponse(const json& document, const json& tokens, const HttpResponse& response,
                               const ResponseContext& context) {
  const provider::ProviderDefinition& provider = *context.provider;
  auto protocol_error = [&](std::string code, const std::string& description) {
    return MakeError(TokenErrorKind::kProtocol, std::move(code), description, response.status, response,
                     context);
  };
  TokenResponse out;
  out.received_at = context.now;
  std::string access = StringField(tokens, "access_token");
  if (access.empty()) {
    return protocol_error("missing_access_token", context.endpoint_host + " answered HTTP " +
                                                      std::to_string(response.status) +
                                                      " without an access_token");
  }
  out.access_token = SecretString(std::move(access));
  out.refresh_token = SecretString(StringField(tokens, "refresh_token"));
  std::string id_token = StringField(tokens, "id_token");
  if (id_token.empty()) id_token = StringField(document, "id_token");
  out.id_token = SecretString(std::move(id_token));
  out.token_type = NormalizeTokenType(StringField(tokens, "token_type"));

  if (auto scope = tokens.find("scope"); scope != tokens.end()) {
    if (scope->is_string()) {
      out.scopes = SplitScopes(scope->get<std::string>(), provider.scope_separator);
      out.scopes_in_response = true;
    } else if (scope->is_array()) {
      for (const json& item : *scope) {
        if (item.is_string() && !Contains(out.scopes, item.get<std::string>())) {
          out.scopes.push_back(item.get<std::string>());
        }
      }
      out.scopes_in_response = true;
    }
  }

  if (auto expires = tokens.find("expires_in"); expires != tokens.end())
    out.expires_in = ExpiresInFromJson(*expires);
  if (!out.expires_in) {
    out.expires_in_defaulted = true;
    std::optional<std::chrono::seconds> fallback;
    if (provider.quirks.default_expires_in) {
      fallback = ParseExpiresIn(std::to_string(*provider.quirks.default_expires_in));
    }
    out.expires_in_assumed = !fallback.has_value();
    out.expires_in = fallback.value_or(kAssumedLifetime);
  }

  out.refresh_expires_at = RefreshExpiresAtFromJson(tokens, context.now);

  if (!provider.quirks.api_base_url_field.empty()) {
    const json* url = FindJsonPath(document, provider.quirks.api_base_url_field);
    if (url == nullptr) url = FindJsonPath(tokens, provider.quirks.api_base_url_field);
    if (url != nullptr && url->is_string()) {
      std::string value = url->get<std::string>();
      if (!IsAllowedEndpointUrl(value)) {
        return protocol_error(
            "bad_api_base_url",
            "the token response field '" + provider.quirks.api_base_url_field + "' is not an https URL");
      }
      // The calls of the connection, with its token, would go there.
      if (!provider::IsAllowedApiBaseUrl(provider, value)) {
        return protocol_error("bad_api_base_url",
                              "the token response field '" + provider.quirks.api_base_url_field +
                                  "' names '" + value.substr(0, 100) + "', which provider '" + provider.name +
                                  "' does not allow (api_base_url, extra_api_base_urls)");
      }
      out.api_base_url = std::move(value);
    }
  }
  if (!provider.quirks.account_field.empty()) {
    const json* account = FindJsonPath(document, provider.quirks.account_field);
    if (account == nullptr) account = FindJsonPath(tokens, provider.quirks.account_field);
    if (account != nullptr) out.account = ScalarAsString(*account);
  }
  return out;
}

std::string NotUsable(const HttpResponse& response, const ResponseContext& context, std::string_view what) {
  std::string content_type(response.Header("content-type"));
  if (content_type.empty()) content_type = "no content type";
  return context.endpoint_host + " answered HTTP " + std::to_string(response.status) + " (" + content_type +
         ") with a body that is not " + std::string(what);
}

}  // namespace

std::string SanitizeDescription(std::string_view text, const std::vector<std::string_view>& redact) {
  std::string out(text);
  for (std::string_view secret : redact) {
    // Very short values would blank out ordinary words; our secrets are never that short.
    if (secret.size() < 4) continue;
    for (std::size_t at = out.find(secret); at != std::string::npos; at = out.find(secret, at)) {
      out.replace(at, secret.size(), "[redacted]");
      at += 10;
    }
  }
  // Line breaks and tabs read as spaces; what is left that is not fit to show (bytes that
  // are not UTF-8, other controls, bidi overrides) goes with the cut to the length cap.
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return ToDisplayText(out, kMaxDescriptionLength);
}

TokenError TransportError(const Status& status) {
  TokenError error;
  error.description = status.message();
  switch (status.code()) {
    case StatusCode::kDeadlineExceeded:
      error.kind = TokenErrorKind::kTransient;
      error.code = "timeout";
      break;
    case StatusCode::kResourceExhausted:
      error.kind = TokenErrorKind::kProtocol;
      error.code = "response_too_large";
      break;
    case StatusCode::kInvalidArgument:
      error.kind = TokenErrorKind::kMisconfigured;
      error.code = "bad_endpoint_url";
      break;
    default:
      error.kind = TokenErrorKind::kTransient;
      error.code = "network";
      break;
  }
  return error;
}

TokenResult ParseTokenResponse(const HttpResponse& response, const ResponseContext& context) {
  std::optional<json> document = DecodeBody(response, context.provider->quirks.token_response_format);
  JsonWiper wiper{document};
  if (!IsSuccess(response.status)) return ClassifyHttpError(response, document, context);
  if (!document || !document->is_object()) {
    return MakeError(TokenErrorKind::kProtocol, "malformed_response",
                     NotUsable(response, context, "a token response"), response.status, response, context);
  }
  const json* tokens = &*document;
  if (const std::string& path = context.provider->quirks.token_path; !path.empty()) {
    // Slack user tokens arrive nested under authed_user; fall back to the top level.
    if (const json* nested = FindJsonPath(*document, path); nested != nullptr && nested->is_object())
      tokens = nested;
  }
  if (auto error = ErrorInSuccessBody(*document, *tokens, response, context)) return *error;
  return BuildTokenResponse(*document, *tokens, response, context);
}

DeviceStartResult ParseDeviceAuthorizationResponse(const HttpResponse& response,
                                                   const ResponseContext& context) {
  std::optional<json> document = DecodeBody(response, context.provider->quirks.token_response_format);
  JsonWiper wiper{document};
  if (!IsSuccess(response.status)) return ClassifyHttpError(response, document, context);
  auto protocol_error = [&](std::string code, const std::string& description) {
    return MakeError(TokenErrorKind::kProtocol, std::move(code), description, response.status, response,
                     context);
  };
  if (!document || !document->is_object()) {
    return protocol_error("malformed_response", NotUsable(response, context, "a device authorization"));
  }
  if (auto error = ErrorInSuccessBody(*document, *document, response, context)) return *error;
  DeviceAuthorization out;
  out.device_code = SecretString(StringField(*document, "device_code"));
  out.user_code = StringField(*document, "user_code");
  out.verification_uri = StringField(*document, "verification_uri");
  // Google and older Entra endpoints still say verification_url.
  if (out.verification_uri.empty()) out.verification_uri = StringField(*document, "verification_url");
  out.verification_uri_complete = StringField(*document, "verification_uri_complete");
  if (out.device_code.empty() || out.user_code.empty() || out.verification_uri.empty()) {
    return protocol_error(
        "incomplete_device_authorization",
        context.endpoint_host +
            " sent a device authorization without device_code, user_code or verification_uri");
  }
  if (!IsAllowedEndpointUrl(out.verification_uri)) {
    return protocol_error("bad_verification_uri",
                          "the verification_uri from " + context.endpoint_host + " is not an https URL");
  }
  std::optional<std::chrono::seconds> expires;
  if (auto it = document->find("expires_in"); it != document->end()) expires = ExpiresInFromJson(*it);
  out.expires_in = expires.value_or(std::chrono::minutes(10));
  if (auto it = document->find("interval"); it != document->end()) {
    if (auto interval = ExpiresInFromJson(*it)) out.interval = std::min(*interval, std::chrono::seconds(60));
  }
  return out;
}

RevokeResult ParseRevocationResponse(const HttpResponse& response, const ResponseContext& context) {
  std::optional<json> document = DecodeBody(response, "auto");
  JsonWiper wiper{document};
  if (!IsSuccess(response.status)) return ClassifyHttpError(response, document, context);
  if (context.provider->quirks.error_in_ok_body && document && document->is_object()) {
    static const json kNoTokens = json::object({{"access_token", ""}});
    if (auto error = ErrorInSuccessBody(*document, kNoTokens, response, context)) return *error;
  }
  return std::monostate{};
}

}  // namespace latchkey::oauth
