#include "provider/provider_fields.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/duration.h"

namespace latchkey::provider::internal {
namespace {

int LineOf(const toml::source_region& region) { return static_cast<int>(region.begin.line); }

Status SyntaxError(const toml::parse_error& error, std::string_view source) {
  const toml::source_position& at = error.source().begin;
  return InvalidArgumentError(std::string(source) + ":" + std::to_string(at.line) + ":" +
                              std::to_string(at.column) +
                              ": TOML syntax error: " + std::string(error.description()));
}

// Levenshtein distance, for "did you mean" hints on misspelt field names.
std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

StatusOr<toml::table> ParseTomlDocument(std::string_view text, std::string_view source) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    return SyntaxError(error, source);
  }
#else
  toml::parse_result result = toml::parse(text, source);
  if (!result) return SyntaxError(result.error(), source);
  return std::move(result).table();
#endif
}

int FieldLocations::Line(std::string_view field) const {
  auto it = lines_.find(field);
  return it == lines_.end() ? 0 : it->second;
}

Status FieldLocations::FieldError(std::string_view field, std::string_view text) const {
  return ErrorAt(Line(field), "field '" + std::string(field) + "'" + std::string(text));
}

Status FieldLocations::ErrorAt(int line, std::string_view text) const {
  std::string where = source_;
  if (line > 0) where += ":" + std::to_string(line);
  return InvalidArgumentError(where + ": " + std::string(text));
}

FieldReader::FieldReader(const toml::table& table, std::string prefix, FieldLocations& locations)
    : table_(table), prefix_(std::move(prefix)), locations_(locations) {}

Status FieldReader::RejectUnknownKeys(std::span<const std::string_view> known) const {
  // toml::table iterates in key order; report the first unknown key in the file instead.
  const toml::key* first = nullptr;
  for (const auto& [key, node] : table_) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    if (first == nullptr || key.source().begin.line < first->source().begin.line) first = &key;
  }
  if (first == nullptr) return Status::Ok();
  std::string message = "unknown field '" + FieldName(first->str()) + "'";
  for (std::string_view candidate : known) {
    if (EditDistance(first->str(), candidate) <= 2) {
      message += " (did you mean '" + FieldName(candidate) + "'?)";
      break;
    }
  }
  return locations_.ErrorAt(LineOf(first->source()), message);
}

const toml::node* FieldReader::Find(std::string_view key) {
  auto it = table_.find(key);
  if (it == table_.end()) return nullptr;
  int line = LineOf(it->first.source());
  if (line == 0) line = LineOf(it->second.source());
  locations_.Record(FieldName(key), line);
  return &it->second;
}

Status FieldReader::ReadString(std::string_view key, std::string& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return Status::Ok();
  const auto* value = node->as_string();
  if (value == nullptr) return FieldError(key, " must be a string");
  out = value->get();
  return Status::Ok();
}

Status FieldReader::ReadStringArray(std::string_view key, std::vector<std::string>& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return Status::Ok();
  const toml::array* array = node->as_array();
  if (array == nullptr) return FieldError(key, " must be an array of strings");
  std::vector<std::string> values;
  for (const toml::node& element : *array) {
    const auto* value = element.as_string();
    if (value == nullptr) return FieldError(key, " must be an array of strings");
    values.push_back(value->get());
  }
  out = std::move(values);
  return Status::Ok();
}

Status FieldReader::ReadStringTable(std::string_view key, std::map<std::string, std::string>& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return Status::Ok();
  const toml::table* table = node->as_table();
  if (table == nullptr) return FieldError(key, " must be a table of strings");
  std::map<std::string, std::string> values;
  for (const auto& [name, element] : *table) {
    const auto* value = element.as_string();
    if (value == nullptr) {
      // Point at the offending entry, which may sit lines below the table header.
      int line = LineOf(name.source());
      return locations_.ErrorAt(line > 0 ? line : locations_.Line(FieldName(key)),
                                "field '" + FieldName(key) + "' must be a table of strings ('" +
                                    std::string(name.str()) + "' is not a string)");
    }
    values.emplace(std::string(name.str()), value->get());
  }
  out = std::move(values);
  return Status::Ok();
}

Status FieldReader::ReadBool(std::string_view key, bool& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return Status::Ok();
  const auto* value = node->as_boolean();
  if (value == nullptr) return FieldError(key, " must be true or false");
  out = value->get();
  return Status::Ok();
}

Status FieldReader::ReadInteger(std::string_view key, std::optional<long long>& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return Status::Ok();
  const auto* value = node->as_integer();
  if (value == nullptr) return FieldError(key, " must be an integer");
  static_assert(std::numeric_limits<long long>::max() >= std::numeric_limits<int64_t>::max());
  out = static_cast<long long>(value->get());
  return Status::Ok();
}

Status FieldReader::ReadDuration(std::string_view key, std::optional<std::chrono::seconds>& out) {
  std::string text;
  LATCHKEY_RETURN_IF_ERROR(ReadString(key, text));
  if (!Present(key)) return Status::Ok();
  out = ParseDuration(text);
  if (!out) {
    return FieldError(
        key, " must be a whole number and a unit, such as \"90d\", \"8h\", \"10m\" or \"30s\" (at most " +
                 FormatDuration(kLongestDuration) + ")");
  }
  return Status::Ok();
}

StatusOr<const toml::table*> FieldReader::ReadTable(std::string_view key) {
  const toml::node* node = Find(key);
  if (node == nullptr) return static_cast<const toml::table*>(nullptr);
  const toml::table* table = node->as_table();
  if (table == nullptr) return FieldError(key, " must be a table");
  return table;
}

}  // namespace latchkey::provider::internal
