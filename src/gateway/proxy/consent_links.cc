#include "gateway/proxy/consent_links.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "oauth/token_fields.h"
#include "vault/connection_vault.h"

namespace latchkey::gateway {
namespace {

using nlohmann::json;

constexpr std::string_view kAssociatedData = "latchkey/consent-link/v1";
constexpr size_t kMaxTokenLength = 4096;

ConsentRequest Asking(ConsentKind kind, std::string_view connection, std::string_view provider,
                      std::vector<std::string> scopes, std::string_view asked_by) {
  ConsentRequest request;
  request.kind = kind;
  request.connection = std::string(connection);
  request.provider = std::string(provider);
  request.scopes = std::move(scopes);
  request.asked_by = std::string(asked_by);
  return request;
}

std::vector<std::string> StringsOf(const json& value) {
  std::vector<std::string> out;
  if (!value.is_array()) return out;
  for (const json& item : value) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

std::string_view ConsentKindName(ConsentKind kind) {
  switch (kind) {
    case ConsentKind::kConnect: return "connect";
    case ConsentKind::kReconnect: return "reconnect";
    case ConsentKind::kReconsent: return "reconsent";
  }
  return "connect";
}

ConsentLinks::ConsentLinks(const vault::KeyManager& keys, const Clock& clock, std::string public_url)
    : clock_(clock), public_url_(std::move(public_url)), key_(keys.DeriveKey("latchkey consent link v1")) {
  while (!public_url_.empty() && public_url_.back() == '/') public_url_.pop_back();
}

std::string ConsentLinks::Reconsent(const store::ConnectionRecord& connection,
                                    const std::vector<std::string>& missing, std::string_view asked_by) {
  if (!store::HasUserGrant(connection.kind)) return "";
  ConsentRequest request =
      Asking(ConsentKind::kReconsent, connection.name, connection.provider, connection.scopes, asked_by);
  // The missing scopes come from an agent (request_access) or an upstream's 403: only
  // well-formed scope tokens, and not a flood of them, reach the human's review page.
  constexpr size_t kMaxAdded = 50;
  for (const auto& scope : missing) {
    if (!oauth::IsScopeToken(scope) || request.added.size() >= kMaxAdded) continue;
    if (std::find(request.scopes.begin(), request.scopes.end(), scope) == request.scopes.end()) {
      request.scopes.push_back(scope);
      request.added.push_back(scope);
    }
  }
  return Make(request).url;
}

std::string ConsentLinks::Reconnect(const store::ConnectionRecord& connection, std::string_view asked_by) {
  if (!store::HasUserGrant(connection.kind)) return "";
  return Make(Asking(ConsentKind::kReconnect, connection.name, connection.provider, connection.scopes,
                     asked_by))
      .url;
}

StatusOr<ConsentLink> ConsentLinks::Connect(std::string_view provider, std::string_view connection,
                                            const std::vector<std::string>& scopes) {
  if (!vault::IsValidSlug(connection)) {
    return InvalidArgumentError("'" + std::string(connection) + "' is not a valid connection name");
  }
  return Make(Asking(ConsentKind::kConnect, connection, provider, scopes, ""));
}

ConsentLink ConsentLinks::Make(const ConsentRequest& request) const {
  const TimePoint expires_at = clock_.Now() + kConsentLinkLifetime;
  const json body = {{"k", ConsentKindName(request.kind)},
                     {"c", request.connection},
                     {"p", request.provider},
                     {"s", request.scopes},
                     {"n", request.added},
                     {"a", request.asked_by},
                     {"e", ToUnixMillis(expires_at)}};
  const std::string text = body.dump();
  const Bytes sealed = crypto::Seal(key_, 0, AsBytes(text), kAssociatedData);
  return {.url = public_url_ + "/consent/" + Base64UrlEncode(sealed), .expires_at = expires_at};
}

StatusOr<ConsentRequest> ConsentLinks::Open(std::string_view token) const {
  const Status unknown =
      InvalidArgumentError("this consent link is not one latchkey made, or it was altered");
  if (token.empty() || token.size() > kMaxTokenLength ||
      token.find_first_of("+/=") != std::string_view::npos) {
    return unknown;
  }
  std::optional<Bytes> sealed = Base64Decode(token);
  if (!sealed) return unknown;
  StatusOr<SecretString> opened = crypto::Open(key_, *sealed, kAssociatedData);
  if (!opened.ok()) return unknown;
  const json body = json::parse(opened->reveal(), nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.value("e", json()).is_number_integer()) return unknown;
  ConsentRequest request;
  const std::string kind = body.value("k", "");
  if (kind == "reconnect") {
    request.kind = ConsentKind::kReconnect;
  } else if (kind == "reconsent") {
    request.kind = ConsentKind::kReconsent;
  } else if (kind == "connect") {
    request.kind = ConsentKind::kConnect;
  } else {
    return unknown;
  }
  request.connection = body.value("c", "");
  request.provider = body.value("p", "");
  request.scopes = StringsOf(body.value("s", json()));
  request.added = StringsOf(body.value("n", json()));
  request.asked_by = body.value("a", "");
  request.expires_at = FromUnixMillis(body["e"].get<int64_t>());
  if (request.expires_at <= clock_.Now()) {
    return DeadlineExceededError("this consent link expired at " + FormatRfc3339(request.expires_at) +
                                 "; ask for a new one (the agent's next call, or the dashboard)");
  }
  return request;
}

}  // namespace latchkey::gateway
