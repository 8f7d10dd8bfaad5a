#include "provider/provider_template.h"

#include <algorithm>
#include <array>
#include <sstream>

#include "common/ascii.h"
#include "provider/provider.h"
#include "provider/provider_fields.h"

namespace latchkey::provider {
namespace {

using internal::FieldLocations;

// The fields where a variable may stand as (part of) a URL, and the tables whose values
// may hold one as text.
constexpr std::array<std::string_view, 11> kUrlFields = {
    "issuer",       "authorization_url",  "token_url",
    "refresh_url",  "revocation_url",     "device_authorization_url",
    "userinfo_url", "jwks_url",           "identity_url",
    "api_base_url", "extra_api_base_urls"};
constexpr std::array<std::string_view, 3> kParamTables = {"authorization_params", "token_params",
                                                          "refresh_params"};
constexpr std::string_view kTemplateTable = "template";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsVariableName(std::string_view name) {
  return !name.empty() && name.size() <= 32 && name.front() >= 'a' && name.front() <= 'z' &&
         std::all_of(name.begin(), name.end(), [](char c) { return IsLowerAlnum(c) || c == '_'; });
}

// RFC 1123 label, lower case: [a-z0-9] ([a-z0-9-]* [a-z0-9])?, at most 63 characters.
bool IsDnsLabel(std::string_view label) {
  return !label.empty() && label.size() <= 63 && IsLowerAlnum(label.front()) && IsLowerAlnum(label.back()) &&
         std::all_of(label.begin(), label.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

// "host.name" or "host.name:port": labels joined by dots, then an optional port 1..65535.
bool IsHostAndPort(std::string_view value) {
  std::string_view host = value;
  if (size_t colon = value.find(':'); colon != std::string_view::npos) {
    std::string_view port = value.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    long number = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
      number = number * 10 + (c - '0');
    }
    if (number < 1 || number > 65535) return false;
    host = value.substr(0, colon);
  }
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    if (!IsDnsLabel(host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsPathSegment(std::string_view value) {
  auto ok = [](char c) { return IsAsciiAlnum(c) || c == '.' || c == '_' || c == '~' || c == '-'; };
  return !value.empty() && value.size() <= 128 && value != "." && value != ".." &&
         std::all_of(value.begin(), value.end(), ok);
}

// Printable ASCII without spaces or braces (a value is never itself a template).
bool IsParameterText(std::string_view value) {
  return !value.empty() && value.size() <= 256 && std::all_of(value.begin(), value.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '{' && c != '}';
  });
}

std::string_view KindDescription(TemplateValueKind kind) {
  switch (kind) {
    case TemplateValueKind::kHost:
      return "a host name with an optional port (e.g. sso.example.com or sso.example.com:8443)";
    case TemplateValueKind::kLabel: return "one DNS label: letters, digits and '-', no dot (e.g. acme)";
    case TemplateValueKind::kPathSegment: return "one path segment: letters, digits, '.', '_', '~' or '-'";
    case TemplateValueKind::kText: return "printable ASCII without spaces or braces";
  }
  return "";
}

std::string_view KindName(TemplateValueKind kind) {
  switch (kind) {
    case TemplateValueKind::kHost: return "a whole host";
    case TemplateValueKind::kLabel: return "part of a host";
    case TemplateValueKind::kPathSegment: return "a path segment";
    case TemplateValueKind::kText: return "a parameter value";
  }
  return "";
}

// One {variable} found in a string: where it starts and ends (braces included).
struct Placeholder {
  std::string name;
  size_t begin = 0;
  size_t end = 0;
};

std::vector<Placeholder> FindPlaceholders(std::string_view text) {
  std::vector<Placeholder> found;
  for (size_t open = text.find('{'); open != std::string_view::npos; open = text.find('{', open + 1)) {
    size_t close = text.find('}', open);
    if (close == std::string_view::npos) break;
    std::string_view name = text.substr(open + 1, close - open - 1);
    if (IsVariableName(name)) found.push_back({std::string(name), open, close + 1});
  }
  return found;
}

// Where `placeholder` stands in `url`, or an error sentence when it may not stand there.
StatusOr<TemplateValueKind> KindInUrl(std::string_view url, const Placeholder& placeholder) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || placeholder.begin < scheme_end + 3) {
    return InvalidArgumentError("may not stand in the URL's scheme");
  }
  const size_t authority_begin = scheme_end + 3;
  const size_t authority_end = std::min(url.find_first_of("/?#", authority_begin), url.size());
  const size_t path_end = std::min(url.find_first_of("?#", authority_begin), url.size());
  auto at = [&](size_t i) { return i < url.size() ? url[i] : '\0'; };
  if (placeholder.end <= authority_end) {
    const bool starts_host = placeholder.begin == authority_begin;
    const bool ends_host = placeholder.end == authority_end || at(placeholder.end) == ':';
    if (starts_host && ends_host) return TemplateValueKind::kHost;
    const bool label_start = starts_host || at(placeholder.begin - 1) == '.';
    const bool label_end = ends_host || at(placeholder.end) == '.';
    if (label_start && label_end) return TemplateValueKind::kLabel;
    return InvalidArgumentError("must be the whole host or one whole DNS label of it");
  }
  if (placeholder.begin >= authority_end && placeholder.end <= path_end) {
    const bool segment_start = at(placeholder.begin - 1) == '/';
    const bool segment_end = placeholder.end == path_end || at(placeholder.end) == '/';
    if (segment_start && segment_end) return TemplateValueKind::kPathSegment;
    return InvalidArgumentError("must be one whole path segment");
  }
  return InvalidArgumentError("may stand only in the host or the path");
}

// Calls `visit(field, node)` for every string of the document outside [template]; `field`
// is the dotted name ("authorization_params.audience", "extra_api_base_urls").
template <typename Node, typename Visit>
void ForEachString(Node& node, const std::string& field, Visit& visit) {
  if (auto* table = node.as_table()) {
    for (auto&& [key, child] : *table) {
      if (field.empty() && key.str() == kTemplateTable) continue;
      ForEachString(child, field.empty() ? std::string(key.str()) : field + "." + std::string(key.str()),
                    visit);
    }
  } else if (auto* array = node.as_array()) {
    for (auto& child : *array) ForEachString(child, field, visit);
  } else if (auto* text = node.as_string()) {
    visit(field, *text);
  }
}

std::string Substitute(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t copied = 0;
  for (const Placeholder& placeholder : FindPlaceholders(text)) {
    auto value = values.find(placeholder.name);
    if (value == values.end()) continue;
    out.append(text.substr(copied, placeholder.begin - copied));
    out += value->second;
    copied = placeholder.end;
  }
  out.append(text.substr(copied));
  return out;
}

// The field's top-level name ("authorization_params.audience" → "authorization_params").
std::string_view TopField(std::string_view field) { return field.substr(0, field.find('.')); }

}  // namespace

std::string NormalizeTemplateValue(const TemplateVariable& variable, std::string_view value) {
  if (variable.kind == TemplateValueKind::kHost || variable.kind == TemplateValueKind::kLabel)
    return AsciiLower(value);
  return std::string(value);
}

Status CheckTemplateValue(const TemplateVariable& variable, std::string_view value) {
  bool ok = false;
  switch (variable.kind) {
    case TemplateValueKind::kHost: ok = IsHostAndPort(value); break;
    case TemplateValueKind::kLabel: ok = IsDnsLabel(value); break;
    case TemplateValueKind::kPathSegment: ok = IsPathSegment(value); break;
    case TemplateValueKind::kText: ok = IsParameterText(value); break;
  }
  if (ok) return Status::Ok();
  return InvalidArgumentError("the value of '" + variable.name + "' must be " +
                              std::string(KindDescription(variable.kind)));
}

StatusOr<std::string> InstantiateTemplate(std::string_view template_toml, std::string_view source_name,
                                          const std::map<std::string, std::string>& values,
                                          std::string_view name) {
  LATCHKEY_ASSIGN_OR_RETURN(toml::table document, internal::ParseTomlDocument(template_toml, source_name));
  FieldLocations locations{std::string(source_name)};
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<TemplateVariable> variables,
                            internal::ReadTemplate(document, locations));
  if (variables.empty()) {
    return InvalidArgumentError(std::string(source_name) + " is not a template: it has no [template] table");
  }
  std::map<std::string, std::string> normalized;
  std::string shown;
  for (const TemplateVariable& variable : variables) {
    auto given = values.find(variable.name);
    if (given == values.end()) {
      return InvalidArgumentError("no value for '" + variable.name + "' (" + variable.prompt + ")");
    }
    std::string value = NormalizeTemplateValue(variable, given->second);
    LATCHKEY_RETURN_IF_ERROR(CheckTemplateValue(variable, value));
    if (variable.kind != TemplateValueKind::kText) shown += (shown.empty() ? "" : ", ") + value;
    normalized[variable.name] = std::move(value);
  }
  for (const auto& [key, value] : values) {
    if (normalized.find(key) == normalized.end()) {
      return InvalidArgumentError("'" + key + "' is not a variable of this template");
    }
  }
  internal::FillTemplate(document, normalized);
  document.erase(kTemplateTable);
  // Each tenant has its own OAuth client (Zendesk, Okta, Keycloak ...): the template's own
  // variables become the instance's (LATCHKEY_ZENDESK_CLIENT_ID → LATCHKEY_ZENDESK_ACME_
  // CLIENT_ID), so no entry reads another's and the env policy stays what it is.
  const std::string template_name(document["name"].value_or(""));
  for (auto [field, suffix] :
       {std::pair{"client_id", "CLIENT_ID"}, std::pair{"client_secret", "CLIENT_SECRET"}}) {
    auto* value = document[field].as_string();
    if (value == nullptr) continue;
    for (std::string_view prefix : {"LATCHKEY_", ""}) {
      if (value->get() == "env:" + OwnEnvVariable(template_name, suffix, prefix)) {
        value->get() = "env:" + OwnEnvVariable(name, suffix, prefix);
        break;
      }
    }
  }
  const std::string display = document["display_name"].value_or(template_name);
  document.insert_or_assign("name", std::string(name));
  document.insert_or_assign("display_name", shown.empty() ? display : display + " (" + shown + ")");
  std::ostringstream out;
  out << document << '\n';
  return out.str();
}

std::string TemplateInstanceName(std::string_view template_name,
                                 const std::vector<TemplateVariable>& variables,
                                 const std::map<std::string, std::string>& values) {
  std::string name(template_name);
  for (const TemplateVariable& variable : variables) {
    if (variable.kind == TemplateValueKind::kText) continue;
    auto value = values.find(variable.name);
    if (value == values.end()) return "";
    name += '-';
    for (char c : AsciiLower(value->second)) {
      const char mapped = IsLowerAlnum(c) ? c : '-';
      if (mapped != '-' || name.back() != '-') name += mapped;
    }
  }
  while (!name.empty() && name.back() == '-') name.pop_back();
  return name.size() <= 64 ? name : "";
}

Status RequireConcrete(const ProviderDefinition& definition) {
  if (!definition.is_template()) return Status::Ok();
  std::string params;
  for (const TemplateVariable& variable : definition.template_variables) {
    params += " --param " + variable.name + "=... (" + variable.prompt + ")";
  }
  return FailedPreconditionError(
      "provider '" + definition.name + "' is a template for one tenant each: `latchkey " +
      (definition.auth == AuthKind::kOAuth2 ? "connect " : "connection import NAME --provider ") +
      definition.name + params + "` makes the entry for yours");
}

namespace internal {

StatusOr<std::vector<TemplateVariable>> ReadTemplate(const toml::table& document, FieldLocations& locations) {
  std::vector<TemplateVariable> variables;
  const toml::node* declared = document.get(kTemplateTable);
  if (declared == nullptr) return variables;
  locations.Record(std::string(kTemplateTable), static_cast<int>(declared->source().begin.line));
  const toml::table* table = declared->as_table();
  if (table == nullptr) {
    return locations.FieldError(kTemplateTable, " must be a table of variable = \"prompt\"");
  }
  for (auto&& [key, prompt] : *table) {
    const std::string field = std::string(kTemplateTable) + "." + std::string(key.str());
    locations.Record(field, static_cast<int>(prompt.source().begin.line));
    if (!IsVariableName(key.str())) {
      return locations.FieldError(field,
                                  ": a variable name is a lower-case letter, then letters, digits or '_'");
    }
    const auto* text = prompt.as_string();
    if (text == nullptr || text->get().empty() || text->get().find_first_of("\r\n") != std::string::npos) {
      return locations.FieldError(field, " must be a one-line prompt, e.g. \"the tenant's subdomain\"");
    }
    variables.push_back(
        {.name = std::string(key.str()), .prompt = text->get(), .kind = TemplateValueKind::kText});
  }
  if (variables.empty()) return locations.FieldError(kTemplateTable, " declares no variable");

  std::map<std::string, std::optional<TemplateValueKind>> kinds;
  Status problem = Status::Ok();
  auto visit = [&](const std::string& field, const toml::value<std::string>& text) {
    const std::string_view top = TopField(field);
    const bool url = std::find(kUrlFields.begin(), kUrlFields.end(), top) != kUrlFields.end();
    const bool param = std::find(kParamTables.begin(), kParamTables.end(), top) != kParamTables.end();
    for (const Placeholder& placeholder : FindPlaceholders(text.get())) {
      if (!problem.ok()) return;
      locations.Record(field, static_cast<int>(text.source().begin.line));
      auto known = std::find_if(variables.begin(), variables.end(),
                                [&](const TemplateVariable& v) { return v.name == placeholder.name; });
      if (known == variables.end()) {
        problem = locations.FieldError(field, ": {" + placeholder.name + "} is not declared in [template]");
        return;
      }
      StatusOr<TemplateValueKind> kind = TemplateValueKind::kText;
      if (url) {
        kind = KindInUrl(text.get(), placeholder);
      } else if (!param) {
        problem = locations.FieldError(field,
                                       ": a template variable may stand only in a URL or in an "
                                       "authorization, token or refresh parameter");
        return;
      }
      if (!kind.ok()) {
        problem = locations.FieldError(field, ": {" + placeholder.name + "} " + kind.status().message());
        return;
      }
      std::optional<TemplateValueKind>& seen = kinds[placeholder.name];
      if (seen && *seen != *kind) {
        problem = locations.FieldError(field, ": {" + placeholder.name + "} stands as " +
                                                  std::string(KindName(*kind)) + " here and as " +
                                                  std::string(KindName(*seen)) + " elsewhere");
        return;
      }
      seen = *kind;
    }
  };
  ForEachString(document, "", visit);
  LATCHKEY_RETURN_IF_ERROR(problem);
  for (TemplateVariable& variable : variables) {
    auto used = kinds.find(variable.name);
    if (used == kinds.end()) {
      return locations.FieldError(std::string(kTemplateTable) + "." + variable.name,
                                  ": is not used by any field");
    }
    variable.kind = *used->second;
  }
  return variables;
}

void FillTemplate(toml::table& document, const std::map<std::string, std::string>& values) {
  auto visit = [&](const std::string&, toml::value<std::string>& text) {
    text.get() = Substitute(text.get(), values);
  };
  ForEachString(document, "", visit);
}

std::map<std::string, std::string> SampleTemplateValues(const std::vector<TemplateVariable>& variables) {
  std::map<std::string, std::string> values;
  for (const TemplateVariable& variable : variables) {
    // A loopback host: a template for a server on this host (http://{host}) validates too;
    // an instance's real host then meets the same rules as any entry's.
    values[variable.name] = variable.kind == TemplateValueKind::kHost ? "localhost" : "example";
  }
  return values;
}

}  // namespace internal
}  // namespace latchkey::provider
