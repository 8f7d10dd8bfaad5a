// application/x-www-form-urlencoded (WHATWG URL §5): the body of every token request,
// and of token responses from providers that answer in form encoding (GitHub without
// an Accept header). Pure functions: any thread. Callers wipe results that hold secrets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace latchkey::oauth {

// Percent-encodes everything but ALPHA / DIGIT / "-" / "." / "_" / "*", and space as
// "+". This is also the encoding RFC 6749 §2.3.1 requires for client_secret_basic.
std::string FormUrlEncode(std::string_view value);

// Builds "a=1&b=2" from ordered pairs. The result may hold secrets: wipe it after use.
std::string FormEncodePairs(const std::vector<std::pair<std::string, std::string>>& pairs);

// Parses "a=1&b=%20" into ordered pairs ("+" is a space). nullopt on a malformed
// percent escape or a segment without '='; an empty body gives an empty list.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseFormEncoded(std::string_view body);

}  // namespace latchkey::oauth
