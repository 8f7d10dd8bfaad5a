// Internal to src/provider/: reads typed values out of a toml++ table and remembers
// where each field was written, so every later complaint can name the source, the
// line and the field ("acme.toml:7: field 'token_url': ..."). One parse owns one
// FieldLocations; not shared between threads.
#pragma once

#include <toml++/toml.h>

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace latchkey::provider::internal {

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

}  // namespace latchkey::provider::internal
