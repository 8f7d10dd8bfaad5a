#include "vault/backup.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>
#include <variant>
#include <vector>

#include "common/encoding.h"
#include "crypto/hmac.h"

namespace latchkey::vault {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;  // keys in the order given: the same store, the same bytes

constexpr std::string_view kFormat = "latchkey-backup";
constexpr int64_t kFormatVersion = 1;
constexpr std::string_view kMacPurpose = "latchkey backup mac v1";

std::string Shown(std::string_view text) { return "'" + ToDisplayText(text, 64) + "'"; }

// The string at `key` of a JSON object; "" when absent or not a string.
std::string StringField(const Json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

// --- writing ---

// Writes lines to `out` and the MAC over them.
class SignedLines {
 public:
  SignedLines(std::ostream& out, const KeyManager& keys)
      : out_(out), mac_(keys.DeriveKey(kMacPurpose).bytes()) {}

  Status Write(std::string_view line) {
    mac_.Update(line);
    mac_.Update("\n");
    out_ << line << '\n';
    if (!out_) return UnavailableError("cannot write the backup (is the disk full?)");
    return Status::Ok();
  }
  std::string FinishHex() && { return std::move(mac_).FinishHex(); }

 private:
  std::ostream& out_;
  crypto::HmacSha256 mac_;
};

StatusOr<OrderedJson> CellJson(const store::SnapshotRow& row, const store::SnapshotCell& cell) {
  if (const auto* number = std::get_if<int64_t>(&cell.value)) return OrderedJson(*number);
  if (const auto* bytes = std::get_if<Bytes>(&cell.value)) return OrderedJson(Base64UrlEncode(*bytes));
  if (const auto* text = std::get_if<std::string>(&cell.value)) {
    if (!IsValidUtf8(*text)) {
      return FailedPreconditionError("table " + row.table + " column " + cell.column +
                                     " holds text that is not UTF-8, which a backup cannot carry");
    }
    return OrderedJson(*text);
  }
  return OrderedJson(nullptr);
}

StatusOr<std::string> RowLine(const store::SnapshotRow& row) {
  OrderedJson cells = OrderedJson::object();
  for (const store::SnapshotCell& cell : row.cells) {
    LATCHKEY_ASSIGN_OR_RETURN(OrderedJson value, CellJson(row, cell));
    cells[cell.column] = std::move(value);
  }
  OrderedJson line = OrderedJson::object();
  line["t"] = row.table;
  line["r"] = std::move(cells);
  return line.dump();
}

// --- reading ---

struct BackupFile {
  Json header;
  std::vector<Json> rows;        // the row lines, parsed
  std::string_view signed_part;  // every byte before the MAC line
  std::string mac;
};

// Step 1: the lines, each parsed, nothing trusted yet.
StatusOr<BackupFile> ParseLines(std::string_view file) {
  if (file.size() > kMaxBackupBytes) {
    return InvalidArgumentError("the file is larger than a backup may be (" +
                                std::to_string(kMaxBackupBytes) + " bytes)");
  }
  std::string_view body = file;
  if (body.ends_with('\n')) body.remove_suffix(1);
  const size_t header_end = std::min(body.find('\n'), body.size());
  BackupFile parsed;
  parsed.header = Json::parse(body.substr(0, header_end), nullptr, /*allow_exceptions=*/false);
  if (!parsed.header.is_object() || StringField(parsed.header, "format") != kFormat) {
    return InvalidArgumentError(
        "this is not a latchkey backup (its first line is no latchkey-backup header)");
  }
  const size_t mac_start = body.rfind('\n');
  if (mac_start == std::string_view::npos) {
    return DataLossError("the backup ends after its header, without its MAC line: the file was cut short");
  }
  const Json mac_line = Json::parse(body.substr(mac_start + 1), nullptr, /*allow_exceptions=*/false);
  if (!mac_line.is_object() || !mac_line.contains("mac") || !mac_line["mac"].is_string() ||
      !mac_line.contains("rows") || !mac_line["rows"].is_number_integer()) {
    return DataLossError("the backup's last line is not its MAC line: the file was cut short or damaged");
  }
  parsed.mac = mac_line["mac"].get<std::string>();
  parsed.signed_part = file.substr(0, mac_start + 1);

  int64_t line_number = 1;
  for (size_t at = header_end + 1; at <= mac_start;) {
    ++line_number;
    const size_t end = body.find('\n', at);
    Json row = Json::parse(body.substr(at, end - at), nullptr, /*allow_exceptions=*/false);
    if (!row.is_object() || !row.contains("t") || !row["t"].is_string() || !row.contains("r") ||
        !row["r"].is_object()) {
      return DataLossError("line " + std::to_string(line_number) +
                           " of the backup is not a row: the file is damaged");
    }
    parsed.rows.push_back(std::move(row));
    at = end + 1;
  }
  if (mac_line["rows"] != parsed.rows.size()) {
    return DataLossError("the backup's last line counts " + mac_line["rows"].dump() +
                         " rows, the file holds " + std::to_string(parsed.rows.size()) +
                         ": the file is damaged");
  }
  return parsed;
}

// Steps 2 and 3: a backup this latchkey reads, of a schema it restores, made under this
// master key. Returns the backup's schema version.
StatusOr<int> CheckHeader(const Json& header, int schema_version, const KeyManager& keys) {
  const Json& version = header.contains("version") ? header["version"] : Json();
  if (!version.is_number_integer() || version != kFormatVersion) {
    return InvalidArgumentError("the backup has format version " + ToDisplayText(version.dump(), 20) +
                                "; this latchkey reads version " + std::to_string(kFormatVersion));
  }
  const Json& schema = header.contains("schema_version") ? header["schema_version"] : Json();
  if (!schema.is_number_integer() || schema < std::numeric_limits<int>::min() ||
      schema > std::numeric_limits<int>::max()) {
    return InvalidArgumentError("the backup's store schema version is " + ToDisplayText(schema.dump(), 20) +
                                ", not a version number");
  }
  const int backup_schema = schema.get<int>();
  LATCHKEY_RETURN_IF_ERROR(store::CheckSnapshotSchema(backup_schema, schema_version));
  const std::string master = StringField(header, "master_key_id");
  if (master != keys.master_key_id()) {
    return FailedPreconditionError("the backup was made under master key " + Shown(master) +
                                   ", this one is " + Shown(keys.master_key_id()) + " (from " +
                                   keys.master_key_source() +
                                   "): use the master key of the store it came from");
  }
  return backup_schema;
}

// Step 4.
Status CheckMac(const BackupFile& file, const KeyManager& keys) {
  crypto::HmacSha256 mac(keys.DeriveKey(kMacPurpose).bytes());
  mac.Update(file.signed_part);
  if (!crypto::ConstantTimeEquals(std::move(mac).FinishHex(), file.mac)) {
    return DataLossError("the backup's MAC does not match its contents: the file was altered or damaged");
  }
  return Status::Ok();
}

StatusOr<store::SnapshotValue> CellValue(const Json& value, store::CellType type) {
  if (value.is_null()) return store::SnapshotValue();
  switch (type) {
    case store::CellType::kInt:
      if (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()})
        break;
      if (value.is_number_integer()) return store::SnapshotValue(value.get<int64_t>());
      break;
    case store::CellType::kText:
      if (value.is_string()) return store::SnapshotValue(value.get<std::string>());
      break;
    case store::CellType::kBytes:
      if (!value.is_string()) break;
      if (std::optional<Bytes> bytes = Base64Decode(value.get_ref<const std::string&>())) {
        return store::SnapshotValue(std::move(*bytes));
      }
      break;
  }
  return InvalidArgumentError("holds no value of its type");
}

// A row line as the store's row, cells in column order.
StatusOr<store::SnapshotRow> ReadRow(const Json& line, int64_t line_number) {
  const std::string where = "line " + std::to_string(line_number) + " of the backup: ";
  const std::string& name = line["t"].get_ref<const std::string&>();
  const store::SnapshotTable* table = store::FindSnapshotTable(name);
  if (table == nullptr) return InvalidArgumentError(where + "unknown table " + Shown(name));
  const Json& cells = line["r"];
  store::SnapshotRow row{.table = name, .cells = {}};
  for (const store::SnapshotColumn& column : table->columns) {
    auto cell = cells.find(std::string(column.name));
    const std::string named = "table " + name + " column " + std::string(column.name);
    if (cell == cells.end()) return InvalidArgumentError(where + named + " is missing");
    StatusOr<store::SnapshotValue> value = CellValue(*cell, column.type);
    if (!value.ok()) return value.status().WithContext(where + named);
    row.cells.push_back({std::string(column.name), std::move(*value)});
  }
  for (const auto& [key, value] : cells.items()) {
    if (row.Find(key) == nullptr)
      return InvalidArgumentError(where + "unknown table " + name + " column " + Shown(key));
  }
  return row;
}

// Step 5: every data key unwraps with this master key, and every sealed cell opens where it is.
Status CheckSecrets(const std::vector<store::SnapshotRow>& rows, const KeyManager& keys) {
  std::vector<store::WrappedDataKey> wrappers;
  std::vector<int64_t> data_keys;
  for (const store::SnapshotRow& row : rows) {
    if (row.table == "data_key_wrappers") {
      LATCHKEY_ASSIGN_OR_RETURN(store::WrappedDataKey wrapper, store::ReadWrappedDataKey(row));
      wrappers.push_back(std::move(wrapper));
    } else if (row.table == "data_keys") {
      const auto* id = std::get_if<int64_t>(row.Find("id"));
      data_keys.push_back(id != nullptr ? *id : 0);
    }
  }
  StatusOr<DataKeyRing> ring = keys.UnwrapDataKeys(wrappers);
  if (!ring.ok()) return ring.status().WithContext("the backup's data keys");
  for (int64_t id : data_keys) {
    if (!ring->contains(id)) {
      return DataLossError("data key " + std::to_string(id) + " in the backup has no wrapper by master key " +
                           keys.master_key_id() + ", so nothing sealed under it could be read");
    }
  }
  for (const store::SnapshotRow& row : rows) {
    for (const store::SecretCell& cell : store::SealedCells(row)) {
      StatusOr<SecretString> opened = ring->Open(cell.value, {cell.table, cell.row_id, cell.column});
      if (!opened.ok()) {
        return DataLossError("the sealed " + cell.column + " of " + cell.table + " row " +
                             Shown(cell.row_id) +
                             " in the backup does not open: " + opened.status().message());
      }
    }
  }
  return Status::Ok();
}

// kAborted (run it again) when the connection `row` has a refresh in flight (see BackupOptions).
Status NotRefreshing(const store::SnapshotRow& row, const Clock& clock, const BackupOptions& options) {
  const store::SnapshotValue* started = row.Find("refresh_started_at");
  if (started == nullptr || !std::holds_alternative<int64_t>(*started)) return Status::Ok();
  if (clock.Now() - FromUnixMillis(std::get<int64_t>(*started)) >= options.in_flight) return Status::Ok();
  const store::SnapshotValue* name = row.Find("name");
  const std::string named = name != nullptr && std::holds_alternative<std::string>(*name)
                                ? "'" + std::get<std::string>(*name) + "'"
                                : "a connection";
  return AbortedError(named + " is being refreshed right now; the backup waits for it");
}

}  // namespace

Status WriteBackup(store::Store& store, const KeyManager& keys, const Clock& clock,
                   const BackupOptions& options, std::ostream& out) {
  if (options.final) {
    LATCHKEY_ASSIGN_OR_RETURN(std::optional<TimePoint> fenced, store.HandedOverAt());
    if (!fenced) LATCHKEY_RETURN_IF_ERROR(store.SetHandedOver(clock.Now()));
  }
  SignedLines lines(out, keys);
  int64_t rows = 0;
  LATCHKEY_RETURN_IF_ERROR(store.ExportSnapshot({
      .begin =
          [&](const store::SnapshotInfo& info) {
            OrderedJson header = {{"format", std::string(kFormat)},
                                  {"version", kFormatVersion},
                                  {"schema_version", info.schema_version},
                                  {"master_key_id", keys.master_key_id()},
                                  {"created_at", FormatRfc3339(clock.Now())}};
            if (!info.backend.empty()) header["source"] = info.backend;
            header["final"] = options.final;
            return lines.Write(header.dump());
          },
      .row = [&](const store::SnapshotRow& row) -> Status {
        if (options.final && row.table == "connections") {
          Status waiting = NotRefreshing(row, clock, options);
          if (!waiting.ok()) return waiting;
        }
        LATCHKEY_ASSIGN_OR_RETURN(std::string line, RowLine(row));
        ++rows;
        return lines.Write(line);
      },
  }));
  OrderedJson mac = {{"mac", std::move(lines).FinishHex()}, {"rows", rows}};
  out << mac.dump() << '\n';
  out.flush();
  if (!out) return UnavailableError("cannot write the backup (is the disk full?)");
  return Status::Ok();
}

StatusOr<RestoredBackup> RestoreBackup(std::string_view file, store::Store& target, const KeyManager& keys) {
  LATCHKEY_ASSIGN_OR_RETURN(BackupFile parsed, ParseLines(file));
  LATCHKEY_ASSIGN_OR_RETURN(const int schema_version, target.SchemaVersion());
  LATCHKEY_ASSIGN_OR_RETURN(const int backup_schema, CheckHeader(parsed.header, schema_version, keys));
  LATCHKEY_RETURN_IF_ERROR(CheckMac(parsed, keys));

  // Authentic from here on: what still fails was made by another latchkey, or not by one.
  const Json& header = parsed.header;
  if (!header.contains("created_at") || !header["created_at"].is_string() || !header.contains("final") ||
      !header["final"].is_boolean() || (header.contains("source") && !header["source"].is_string())) {
    return InvalidArgumentError(
        "the backup header lacks created_at or final, or holds one of the wrong type");
  }
  store::Snapshot snapshot{.schema_version = backup_schema, .rows = {}};
  snapshot.rows.reserve(parsed.rows.size());
  for (size_t i = 0; i < parsed.rows.size(); ++i) {
    LATCHKEY_ASSIGN_OR_RETURN(store::SnapshotRow row, ReadRow(parsed.rows[i], static_cast<int64_t>(i) + 2));
    snapshot.rows.push_back(std::move(row));
    parsed.rows[i] = Json();  // one copy of the rows at a time
  }
  LATCHKEY_RETURN_IF_ERROR(CheckSecrets(snapshot.rows, keys));

  LATCHKEY_RETURN_IF_ERROR(target.ImportSnapshot(snapshot));
  return RestoredBackup{
      .rows = static_cast<int64_t>(snapshot.rows.size()),
      .created_at = header["created_at"].get<std::string>(),
      .source = StringField(header, "source"),
      .final = header["final"].get<bool>(),
  };
}

}  // namespace latchkey::vault
