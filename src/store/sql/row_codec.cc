#include "store/sql/row_codec.h"

#include <nlohmann/json.hpp>

namespace latchkey::store {

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
