// Helpers both Store backends share for reading and writing rows. Pure functions; any
// thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/records.h"

namespace latchkey::store {

// Scopes and agent rules are stored as JSON arrays of strings.
std::string EncodeStringList(const std::vector<std::string>& items);
StatusOr<std::vector<std::string>> DecodeStringList(std::string_view json, std::string_view row);

// Audit rows are stored a batch at a time (audit_batch.row_json, migration 13): a JSON array
// of one array per row, in id order,
//   [id, at (unix ms), agent, client, connection, method, path, upstream_status, code,
//    latency_ms, refreshed]
// so a batch costs the database one row instead of one row and two index entries per call
// (bench/gateway/RESULTS.md, stop 46), and stays readable by SQL (the `audit` view).
// EncodeAuditRows numbers `records` from `first_id` on; text that is not valid UTF-8 is
// repaired (JSON text must be), anything else is kept byte for byte.
std::string EncodeAuditRows(int64_t first_id, const std::vector<AuditRecord>& records);
// The same for rows read back, each with the id it has (ascending).
std::string EncodeStoredAuditRows(const std::vector<AuditRecord>& records);
// The rows of one stored batch, in id order. kDataLoss (naming `batch`) unless `json` is
// such an array with every field of every row of its type and no id twice.
StatusOr<std::vector<AuditRecord>> DecodeAuditRows(std::string_view json, std::string_view batch);

// Gives a constraint failure the name of its row: "connection 'x' already exists",
// "connection 'x' is sealed under a data key that no longer exists; ...". Other
// errors pass through unchanged (contention must stay recognizable for retry).
Status NameRow(Status status, std::string_view row);

// kInvalidArgument unless 0 < limit; callers pass the limit on to SQL.
Status CheckLimit(int limit);

}  // namespace latchkey::store
