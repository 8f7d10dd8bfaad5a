#include "store/sql/tx.h"

#include <charconv>

namespace latchkey::store::sql {

Params& Params::Add(int64_t value) {
  values_.emplace_back(value);
  return *this;
}

Params& Params::Add(std::string_view value) {
  values_.emplace_back(std::string(value));
  return *this;
}

Params& Params::Add(const Bytes& value) {
  values_.emplace_back(value);
  return *this;
}

Params& Params::Add(TimePoint value) { return Add(ToUnixMillis(value)); }

Params& Params::Add(const std::optional<int64_t>& value) { return value ? Add(*value) : AddNull(); }

Params& Params::Add(const std::optional<Bytes>& value) { return value ? Add(*value) : AddNull(); }

Params& Params::Add(const std::optional<TimePoint>& value) { return value ? Add(*value) : AddNull(); }

Params& Params::AddBool(bool value) {
  values_.emplace_back(value);
  return *this;
}

Params& Params::AddNull() {
  values_.emplace_back(std::monostate{});
  return *this;
}

Params& Params::AddUnowned(std::string_view value) {
  values_.emplace_back(Unowned{value});
  return *this;
}

bool Row::IsNull(int col) const { return std::holds_alternative<std::monostate>(At(col)); }

int64_t Row::Int(int col) const {
  const Cell& cell = At(col);
  if (const auto* value = std::get_if<int64_t>(&cell)) return *value;
  if (const auto* text = std::get_if<std::string>(&cell)) {
    // A column whose type the backend reported as something other than an integer
    // (a NUMERIC aggregate, an untyped literal): read its decimal text.
    int64_t value = 0;
    std::from_chars(text->data(), text->data() + text->size(), value);
    return value;
  }
  return 0;
}

std::string Row::Text(int col) const {
  const Cell& cell = At(col);
  if (const auto* text = std::get_if<std::string>(&cell)) return *text;
  if (const auto* value = std::get_if<int64_t>(&cell)) return std::to_string(*value);
  if (const auto* bytes = std::get_if<Bytes>(&cell)) return std::string(bytes->begin(), bytes->end());
  return {};
}

Bytes Row::Blob(int col) const {
  const Cell& cell = At(col);
  if (const auto* bytes = std::get_if<Bytes>(&cell)) return *bytes;
  if (const auto* text = std::get_if<std::string>(&cell)) return Bytes(text->begin(), text->end());
  return {};
}

std::optional<int64_t> Row::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::optional<Bytes> Row::OptBlob(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Blob(col);
}

std::optional<TimePoint> Row::OptTime(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Time(col);
}

StatusOr<std::vector<Row>> Tx::Query(std::string_view sql, const Params& params) {
  std::vector<Row> rows;
  LATCHKEY_RETURN_IF_ERROR(Each(sql, params, [&](const Row& row) {
    rows.push_back(row);
    return Status::Ok();
  }));
  return rows;
}

}  // namespace latchkey::store::sql
