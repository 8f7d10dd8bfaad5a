// JSON as text for another program or a person to read.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace latchkey {

// `value` serialized compactly. Never throws: a string that is not valid UTF-8 (a request
// target, a header, an upstream's words) has its bad bytes replaced by U+FFFD, where
// nlohmann's dump() would throw type_error 316.
std::string DumpJson(const nlohmann::json& value);

}  // namespace latchkey
