#include "gateway/proxy/forwarding_rules.h"

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>
#include <cctype>

#include "common/ascii.h"

namespace latchkey::gateway {

namespace http = boost::beast::http;
using boost::beast::iequals;

namespace {

bool HasPrefix(std::string_view name, std::string_view lower_prefix) {
  return name.size() >= lower_prefix.size() && iequals(name.substr(0, lower_prefix.size()), lower_prefix);
}

}  // namespace

bool IsStrippedRequestHeader(http::field known, std::string_view name,
                             const std::vector<std::string>& connection_listed) {
  switch (known) {
    case http::field::authorization:
    case http::field::cookie:
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::te:
    case http::field::trailer:
    case http::field::upgrade:
    case http::field::host:
    case http::field::content_length:
    case http::field::transfer_encoding:
    case http::field::expect: return true;
    default: break;
  }
  if (HasPrefix(name, "proxy-") || IsMethodOverrideHeader(name)) return true;
  return std::ranges::any_of(connection_listed,
                             [name](std::string_view listed) { return iequals(name, listed); });
}

bool IsStrippedRequestHeader(std::string_view name, const std::vector<std::string>& connection_listed) {
  return IsStrippedRequestHeader(http::string_to_field(name), name, connection_listed);
}

bool IsMethodOverrideHeader(std::string_view name) {
  return iequals(name, "x-http-method-override") || iequals(name, "x-http-method") ||
         iequals(name, "x-method-override");
}

bool IsStrippedResponseHeader(http::field known, std::string_view name) {
  switch (known) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::te:
    case http::field::trailer:
    case http::field::upgrade:
    case http::field::transfer_encoding:
    case http::field::content_length:
    case http::field::set_cookie:
    case http::field::proxy_authenticate:
    case http::field::proxy_connection: return true;
    case http::field::unknown: return HasPrefix(name, "latchkey-");
    default: return false;
  }
}

// By the name's length, then a compare or two: no hash into Beast's table of field names
// for each field of every answer (the hot path); the same verdict as the overload above,
// which forwarding_rules_test checks for every name Beast knows.
bool IsStrippedResponseHeader(std::string_view name) {
  if (name.size() < 2) return false;
  // Each name below by its first letter and length: most fields fail both at once.
  auto is = [name](std::string_view stripped) { return AsciiEqualsLowerWord(name, stripped); };
  switch (name[0] | 0x20) {
    case 'c': return is("connection") || is("content-length");
    case 'k': return is("keep-alive");
    case 'l': return AsciiStartsWithIgnoreCase(name, "latchkey-");
    case 'p': return is("proxy-connection") || is("proxy-authenticate");
    case 's': return is("set-cookie");
    case 't': return is("te") || is("trailer") || is("transfer-encoding");
    case 'u': return is("upgrade");
    default: return false;
  }
}

std::vector<std::string> ConnectionListed(const Request& request) {
  std::vector<std::string> names;
  for (const auto& field : request.base()) {
    if (field.name() != http::field::connection) continue;
    std::string value(field.value());
    size_t start = 0;
    while (start < value.size()) {
      size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      std::string token = AsciiLower(value.substr(start, end - start));
      std::erase(token, ' ');
      if (!token.empty()) names.push_back(token);
      start = end + 1;
    }
  }
  return names;
}

std::string WithoutQueryParam(std::string_view query, std::string_view name) {
  std::string out;
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(start, end - start);
    if (pair.substr(0, pair.find('=')) != name && !pair.empty()) {
      if (!out.empty()) out += '&';
      out += pair;
    }
    start = end + 1;
  }
  return out;
}

}  // namespace latchkey::gateway
