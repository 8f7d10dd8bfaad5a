// Helpers both Store backends share for reading and writing rows. Pure functions; any
// thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace latchkey::store {

// Scopes and agent rules are stored as JSON arrays of strings.
std::string EncodeStringList(const std::vector<std::string>& items);
StatusOr<std::vector<std::string>> DecodeStringList(std::string_view json, std::string_view row);

// Gives a constraint failure the name of its row: "connection 'x' already exists",
// "connection 'x' is sealed under a data key that no longer exists; ...". Other
// errors pass through unchanged (contention must stay recognizable for retry).
Status NameRow(Status status, std::string_view row);

// kInvalidArgument unless 0 < limit; callers pass the limit on to SQL.
Status CheckLimit(int limit);

}  // namespace latchkey::store
