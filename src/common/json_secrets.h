// Helpers for JSON documents that carry secrets (token responses, import files):
// wiping every string a parsed document holds, and walking dotted paths for the
// provider quirks ("authed_user", "team.name"). Pure functions: any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace latchkey {

// nlohmann keeps parsed strings in ordinary heap storage: overwrite every string in
// `value` (recursively) so token bytes do not linger in freed memory.
void WipeJson(nlohmann::json& value);

// The node at a dotted path of object keys; nullptr if any step is missing.
const nlohmann::json* FindJsonPath(const nlohmann::json& root, std::string_view dotted);

}  // namespace latchkey
