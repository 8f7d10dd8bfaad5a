#include "store/sql/row_codec.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/encoding.h"

namespace latchkey::store {

namespace {

// `text` as a JSON string: quotes, backslashes and control characters escaped.
void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t plain = 0;  // start of the run not yet copied
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(plain, i - plain));
    plain = i + 1;
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(text.substr(plain));
  out.push_back('"');
}

void AppendText(std::string& out, std::string_view text) {
  out.push_back(',');
  if (IsValidUtf8(text)) {
    AppendJsonString(out, text);
  } else {
    AppendJsonString(out, ToValidUtf8(text));
  }
}

void AppendInteger(std::string& out, int64_t value) {
  std::array<char, 24> digits{};  // an int64 is at most 20
  out.append(digits.data(), std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr);
}

void AppendNumber(std::string& out, int64_t value) {
  out.push_back(',');
  AppendInteger(out, value);
}

// The rows as EncodeAuditRows writes them, row i with the id id_of(i).
template <typename IdOf>
std::string AuditRowsJson(const std::vector<AuditRecord>& records, IdOf id_of) {
  std::string out;
  out.reserve(records.size() * 64 + 2);
  out.push_back('[');
  for (size_t i = 0; i < records.size(); ++i) {
    const AuditRecord& r = records[i];
    if (i != 0) out.push_back(',');
    out.push_back('[');
    AppendInteger(out, id_of(i));
    AppendNumber(out, ToUnixMillis(r.at));
    AppendText(out, r.agent);
    AppendText(out, r.client);
    AppendText(out, r.connection);
    AppendText(out, r.method);
    AppendText(out, r.path);
    AppendNumber(out, r.upstream_status);
    AppendText(out, r.code);
    AppendNumber(out, r.latency_ms);
    out.append(r.refreshed ? ",true]" : ",false]");
  }
  out.push_back(']');
  return out;
}

}  // namespace

std::string EncodeAuditRows(int64_t first_id, const std::vector<AuditRecord>& records) {
  return AuditRowsJson(records, [first_id](size_t i) { return first_id + static_cast<int64_t>(i); });
}

std::string EncodeStoredAuditRows(const std::vector<AuditRecord>& records) {
  return AuditRowsJson(records, [&records](size_t i) { return records[i].id; });
}

StatusOr<std::vector<AuditRecord>> DecodeAuditRows(std::string_view json, std::string_view batch) {
  // Bytes that are not UTF-8 can only sit inside strings (SQL wrote them there, from rows
  // stored before migration 13): repaired, as EncodeAuditRows would have.
  const nlohmann::json parsed =
      IsValidUtf8(json) ? nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false)
                        : nlohmann::json::parse(ToValidUtf8(json), nullptr, /*allow_exceptions=*/false);
  auto malformed = [&] { return DataLossError(std::string(batch) + " is malformed in the store"); };
  if (!parsed.is_array()) return malformed();
  std::vector<AuditRecord> rows;
  rows.reserve(parsed.size());
  for (const nlohmann::json& row : parsed) {
    if (!row.is_array() || row.size() != 11) return malformed();
    auto integer = [&](size_t i) { return row[i].is_number_integer(); };
    auto text = [&](size_t i) { return row[i].is_string(); };
    // refreshed: a JSON boolean, or 0 / 1 where SQL wrote it (migration 13's SQLite rows)
    const nlohmann::json& refreshed = row[10];
    if (!integer(0) || !integer(1) || !text(2) || !text(3) || !text(4) || !text(5) || !text(6) ||
        !integer(7) || !text(8) || !integer(9) ||
        !(refreshed.is_boolean() || refreshed.is_number_integer())) {
      return malformed();
    }
    AuditRecord r;
    r.id = row[0].get<int64_t>();
    // Within what a TimePoint holds (some 292 years either side of 1970), with room.
    constexpr int64_t kFarthestMillis = int64_t{9'000'000'000'000};
    const int64_t at = row[1].get<int64_t>();
    if (at < -kFarthestMillis || at > kFarthestMillis) return malformed();
    r.at = FromUnixMillis(at);
    r.agent = row[2].get<std::string>();
    r.client = row[3].get<std::string>();
    r.connection = row[4].get<std::string>();
    r.method = row[5].get<std::string>();
    r.path = row[6].get<std::string>();
    const int64_t status = row[7].get<int64_t>();
    if (status < std::numeric_limits<int>::min() || status > std::numeric_limits<int>::max())
      return malformed();
    r.upstream_status = static_cast<int>(status);
    r.code = row[8].get<std::string>();
    r.latency_ms = row[9].get<int64_t>();
    r.refreshed = refreshed.is_boolean() ? refreshed.get<bool>() : refreshed.get<int64_t>() != 0;
    rows.push_back(std::move(r));
  }
  if (!std::ranges::is_sorted(rows, {}, &AuditRecord::id)) std::ranges::sort(rows, {}, &AuditRecord::id);
  if (std::ranges::adjacent_find(rows, {}, &AuditRecord::id) != rows.end()) return malformed();
  return rows;
}

std::string EncodeStringList(const std::vector<std::string>& items) { return nlohmann::json(items).dump(); }

StatusOr<std::vector<std::string>> DecodeStringList(std::string_view json, std::string_view row) {
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> items;
  bool valid = parsed.is_array();
  if (valid) {
    for (const auto& item : parsed) {
      if (!item.is_string()) {
        valid = false;
        break;
      }
      items.push_back(item.get<std::string>());
    }
  }
  if (!valid) return DataLossError(std::string(row) + " has a malformed list column in the store");
  return items;
}

Status NameRow(Status status, std::string_view row) {
  switch (status.code()) {
    case StatusCode::kAlreadyExists: return AlreadyExistsError(std::string(row) + " already exists");
    case StatusCode::kFailedPrecondition:
      return FailedPreconditionError(
          std::string(row) + " is sealed under a data key that no longer exists; reload keys and retry");
    case StatusCode::kInvalidArgument: return status.WithContext(row);
    default: return status;
  }
}

Status CheckLimit(int limit) {
  if (limit <= 0) return InvalidArgumentError("limit must be positive, got " + std::to_string(limit));
  return Status::Ok();
}

}  // namespace latchkey::store
