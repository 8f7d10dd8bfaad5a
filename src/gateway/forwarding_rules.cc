#include "gateway/forwarding_rules.h"

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>
#include <cctype>

namespace latchkey::gateway {

namespace http = boost::beast::http;
using boost::beast::iequals;

bool IsStrippedRequestHeader(std::string_view name, const std::vector<std::string>& connection_listed) {
  static constexpr std::array<std::string_view, 11> kStripped = {
      "authorization", "cookie", "connection",     "keep-alive",        "te",    "trailer",
      "upgrade",       "host",   "content-length", "transfer-encoding", "expect"};
  constexpr std::string_view kProxyPrefix = "proxy-";
  if (name.size() >= kProxyPrefix.size() && iequals(name.substr(0, kProxyPrefix.size()), kProxyPrefix)) {
    return true;
  }
  auto same = [name](std::string_view stripped) { return iequals(name, stripped); };
  return std::ranges::any_of(kStripped, same) || std::ranges::any_of(connection_listed, same);
}

bool IsStrippedResponseHeader(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kStripped = {
      "connection",      "keep-alive", "te",
      "trailer",         "upgrade",    "transfer-encoding",
      "content-length",  "set-cookie", "proxy-authenticate",
      "proxy-connection"};
  return std::ranges::any_of(kStripped,
                             [name](std::string_view stripped) { return iequals(name, stripped); });
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
      std::string token = value.substr(start, end - start);
      std::erase(token, ' ');
      for (char& c : token) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
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
