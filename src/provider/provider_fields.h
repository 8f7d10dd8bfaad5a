// Internal to src/provider/: reads typed values out of a toml++ table and remembers
// where each field was written, so every later complaint can name the source, the
// line and the field ("acme.toml:7: field 'token_url': ..."). One parse owns one
// FieldLocations; not shared between threads.
#pragma once

#include <toml++/toml.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "provider/provider_template.h"

namespace latchkey::provider::internal {

// Which auth kinds a field of a provider entry applies to.
enum class FieldScope { kAny, kOAuth2, kApiKey };
struct FieldSpec {
  std::string_view name;
  FieldScope scope;
};

// Every field a provider entry may hold (SPEC §9), at the top level and in its `quirks`
// table, with the auth kind it applies to: the parser refuses any other key, and
// validation refuses a field written for another auth kind (a token_url on an api_key
// entry would silently do nothing). A new field is added here, once.
inline constexpr FieldSpec kTopLevelFields[] = {
    {"name", FieldScope::kAny},
    {"display_name", FieldScope::kAny},
    {"auth", FieldScope::kAny},
    {"issuer", FieldScope::kOAuth2},
    {"authorization_url", FieldScope::kOAuth2},
    {"token_url", FieldScope::kOAuth2},
    {"refresh_url", FieldScope::kOAuth2},
    {"revocation_url", FieldScope::kOAuth2},
    {"device_authorization_url", FieldScope::kOAuth2},
    {"userinfo_url", FieldScope::kOAuth2},
    {"jwks_url", FieldScope::kOAuth2},
    {"identity_url", FieldScope::kOAuth2},
    {"identity_id_pointer", FieldScope::kOAuth2},
    {"identity_label_pointer", FieldScope::kOAuth2},
    {"client_id", FieldScope::kOAuth2},
    {"client_secret", FieldScope::kOAuth2},
    {"token_auth", FieldScope::kOAuth2},
    {"scopes", FieldScope::kOAuth2},
    {"scope_separator", FieldScope::kOAuth2},
    {"authorization_params", FieldScope::kOAuth2},
    {"token_params", FieldScope::kOAuth2},
    {"refresh_params", FieldScope::kOAuth2},
    {"api_base_url", FieldScope::kAny},
    {"extra_api_base_urls", FieldScope::kAny},
    {"api_key_header", FieldScope::kApiKey},
    {"api_key_query", FieldScope::kApiKey},
    {"api_key_prefix", FieldScope::kApiKey},
    {"method_override_header", FieldScope::kAny},
    {"test_path", FieldScope::kAny},
    {"docs_url", FieldScope::kAny},
    {"refresh_token_lifetime", FieldScope::kOAuth2},
    {"refresh_token_idle_lifetime", FieldScope::kOAuth2},
    {"refresh_token_reuse_grace", FieldScope::kOAuth2},
    {"quirks", FieldScope::kAny},
    {"template", FieldScope::kAny},
};
inline constexpr FieldSpec kQuirkFields[] = {
    {"token_response_format", FieldScope::kAny},
    {"token_request_headers", FieldScope::kOAuth2},
    {"token_path", FieldScope::kAny},
    {"error_in_ok_body", FieldScope::kAny},
    {"terminal_errors", FieldScope::kAny},
    {"terminal_error_descriptions", FieldScope::kAny},
    {"default_expires_in", FieldScope::kAny},
    {"api_base_url_field", FieldScope::kAny},
    {"rotates_refresh_token", FieldScope::kAny},
    {"refresh_token_lifetime", FieldScope::kAny},
    {"incremental_consent_params", FieldScope::kAny},
    {"scope_error_format", FieldScope::kAny},
    {"account_field", FieldScope::kAny},
};

// The names alone, for FieldReader::RejectUnknownKeys.
template <size_t N>
constexpr std::array<std::string_view, N> FieldNames(const FieldSpec (&fields)[N]) {
  std::array<std::string_view, N> names{};
  for (size_t i = 0; i < N; ++i) names[i] = fields[i].name;
  return names;
}

// Parses TOML text whichever way toml++ was built (exceptions on or off); a syntax
// error becomes "SOURCE:LINE:COL: TOML syntax error: <description>".
StatusOr<toml::table> ParseTomlDocument(std::string_view text, std::string_view source);

// Field name (dotted for nested tables, e.g. "quirks.token_path") → line it was written on.
class FieldLocations {
 public:
  explicit FieldLocations(std::string source) : source_(std::move(source)) {}

  void Record(std::string field, int line) { lines_[std::move(field)] = line; }
  bool Has(std::string_view field) const { return lines_.find(field) != lines_.end(); }
  int Line(std::string_view field) const;  // 0 when absent

  // "SOURCE:LINE: field 'x'<text>"; the line is left out when not known. `text`
  // starts with its own separator: " must be a string", ": http:// is ...".
  Status FieldError(std::string_view field, std::string_view text) const;
  // "SOURCE:LINE: <text>" (or "SOURCE: <text>" when line is 0).
  Status ErrorAt(int line, std::string_view text) const;

 private:
  std::string source_;
  std::map<std::string, int, std::less<>> lines_;
};

// Reads one table's fields. Every Read* records the field's line, leaves `out`
// untouched when the key is absent, and fails on a wrong type.
class FieldReader {
 public:
  // `prefix` is "" for the top level or "quirks." for a nested table.
  FieldReader(const toml::table& table, std::string prefix, FieldLocations& locations);

  // Refuses any key not in `known`, reporting the one written first.
  Status RejectUnknownKeys(std::span<const std::string_view> known) const;

  Status ReadString(std::string_view key, std::string& out);
  Status ReadStringArray(std::string_view key, std::vector<std::string>& out);
  Status ReadStringTable(std::string_view key, std::map<std::string, std::string>& out);
  Status ReadBool(std::string_view key, bool& out);
  Status ReadInteger(std::string_view key, std::optional<long long>& out);
  // A duration as common/duration.h writes it ("90d", "8h", "10m", "30s").
  Status ReadDuration(std::string_view key, std::optional<std::chrono::seconds>& out);
  // Null when absent; an error when present but not a table.
  StatusOr<const toml::table*> ReadTable(std::string_view key);

  bool Present(std::string_view key) const { return locations_.Has(FieldName(key)); }
  std::string FieldName(std::string_view key) const { return prefix_ + std::string(key); }
  Status FieldError(std::string_view key, std::string_view text) const {
    return locations_.FieldError(FieldName(key), text);
  }

 private:
  // The node for `key` (recording its line), or null when absent.
  const toml::node* Find(std::string_view key);

  const toml::table& table_;
  std::string prefix_;
  FieldLocations& locations_;
};

// Template entries (provider_template.h). ReadTemplate reads [template]'s variables and
// gives each the kind its places in the document call for; it refuses an undeclared,
// unused, misplaced or mixed-kind variable. Empty when the document is no template.
StatusOr<std::vector<TemplateVariable>> ReadTemplate(const toml::table& document, FieldLocations& locations);
// Replaces each {variable} in the document's strings ([template] itself aside).
void FillTemplate(toml::table& document, const std::map<std::string, std::string>& values);
// A valid value of each variable's kind: a template validates as its instances would.
std::map<std::string, std::string> SampleTemplateValues(const std::vector<TemplateVariable>& variables);

}  // namespace latchkey::provider::internal
