#include "gateway/proxy/scope_error_decoder.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "oauth/token_fields.h"

namespace latchkey::gateway {
namespace {

using nlohmann::json;

void SkipSpaces(std::string_view text, size_t& i) {
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == ',')) ++i;
}

std::optional<json> JsonBody(const UpstreamRefusal& refusal) {
  json doc = json::parse(refusal.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  return doc;
}

std::string StringAt(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> Missing(const std::vector<std::string>& required,
                                 const std::vector<std::string>& granted) {
  std::vector<std::string> out;
  for (const auto& scope : required) {
    if (std::find(granted.begin(), granted.end(), scope) == granted.end()) out.push_back(scope);
  }
  return out;
}

std::optional<ScopeError> FromChallenge(const UpstreamRefusal& refusal) {
  std::string error, scope;
  for (const auto& [name, value] : ParseBearerChallenge(refusal.www_authenticate)) {
    if (name == "error") error = value;
    if (name == "scope") scope = value;
  }
  if (error != "insufficient_scope") return std::nullopt;
  return ScopeError{oauth::SplitScopes(scope, " ")};
}

std::optional<ScopeError> FromGoogle(const UpstreamRefusal& refusal) {
  if (refusal.status != 403) return std::nullopt;
  auto doc = JsonBody(refusal);
  if (!doc || !doc->contains("error") || !(*doc)["error"].is_object()) return std::nullopt;
  const json& error = (*doc)["error"];
  for (const char* list : {"errors", "details"}) {
    auto it = error.find(list);
    if (it == error.end() || !it->is_array()) continue;
    for (const json& item : *it) {
      if (!item.is_object()) continue;
      std::string reason = StringAt(item, "reason");
      if (reason == "insufficientPermissions" || reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT")
        return ScopeError{};
    }
  }
  return std::nullopt;
}

std::optional<ScopeError> FromSlack(const UpstreamRefusal& refusal) {
  auto doc = JsonBody(refusal);
  if (!doc || StringAt(*doc, "error") != "missing_scope") return std::nullopt;
  // Slack separates scopes with commas.
  std::string needed = StringAt(*doc, "needed");
  std::replace(needed.begin(), needed.end(), ',', ' ');
  return ScopeError{oauth::SplitScopes(needed, " ")};
}

std::optional<ScopeError> FromGithub(const UpstreamRefusal& refusal,
                                     const std::vector<std::string>& granted) {
  if (refusal.status != 403 && refusal.status != 404) return std::nullopt;
  std::string accepted = refusal.accepted_oauth_scopes;
  std::replace(accepted.begin(), accepted.end(), ',', ' ');
  std::vector<std::string> any_of = oauth::SplitScopes(accepted, " ");
  if (any_of.empty()) return std::nullopt;
  // Any one of the accepted scopes suffices.
  for (const auto& scope : any_of) {
    if (std::find(granted.begin(), granted.end(), scope) != granted.end()) return std::nullopt;
  }
  return ScopeError{{any_of.front()}};
}

std::optional<ScopeError> FromGraph(const UpstreamRefusal& refusal) {
  if (refusal.status != 403) return std::nullopt;
  auto doc = JsonBody(refusal);
  if (!doc || !doc->contains("error") || !(*doc)["error"].is_object()) return std::nullopt;
  std::string code = StringAt((*doc)["error"], "code");
  std::string message = AsciiLower(StringAt((*doc)["error"], "message"));
  if (code == "Authorization_RequestDenied" || code == "ErrorAccessDenied" ||
      message.find("insufficient privileges") != std::string::npos ||
      message.find("scp or roles claim") != std::string::npos) {
    return ScopeError{};
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParseBearerChallenge(std::string_view header) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t i = 0;
  SkipSpaces(header, i);
  if (AsciiLower(header.substr(i, 7)) != "bearer " && AsciiLower(header.substr(i)) != "bearer") return params;
  i += 6;
  while (i < header.size()) {
    SkipSpaces(header, i);
    size_t eq = header.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string name = AsciiLower(header.substr(i, eq - i));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    i = eq + 1;
    while (i < header.size() && header[i] == ' ') ++i;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      for (++i; i < header.size() && header[i] != '"'; ++i) {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i];
      }
      ++i;
    } else {
      while (i < header.size() && header[i] != ',') value += header[i++];
      while (!value.empty() && value.back() == ' ') value.pop_back();
    }
    params.emplace_back(std::move(name), std::move(value));
  }
  return params;
}

std::optional<ScopeError> DecodeScopeError(std::string_view format, const UpstreamRefusal& refusal,
                                           const std::vector<std::string>& granted) {
  std::optional<ScopeError> found;
  if (refusal.status == 403) found = FromChallenge(refusal);
  if (!found && format == "google") found = FromGoogle(refusal);
  if (!found && format == "slack") found = FromSlack(refusal);
  if (!found && format == "github") found = FromGithub(refusal, granted);
  if (!found && format == "microsoft_graph") found = FromGraph(refusal);
  if (found) {
    // An upstream's text becomes a consent link's scopes and the agent's problem: only
    // scope tokens (RFC 6749 §3.3) go on; a quote or control character is the upstream's.
    std::erase_if(found->required, [](const std::string& scope) { return !oauth::IsScopeToken(scope); });
    // Ask only for what is missing (a server may list scopes the token already has).
    std::vector<std::string> missing = Missing(found->required, granted);
    if (!missing.empty()) found->required = std::move(missing);
  }
  return found;
}

}  // namespace latchkey::gateway
