#include "provider/endpoint_url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "common/ascii.h"
#include "provider/provider.h"

namespace latchkey::provider {
namespace {

// Characters RFC 3986 allows in a host name or an IPv6 literal (percent-encoding is
// refused: a provider's host has no reason to need it and it hides what is meant).
bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  std::string lowered = AsciiLower(host);
  if (lowered == "localhost") return true;
  if (lowered.size() >= 2 && lowered.front() == '[' && lowered.back() == ']') {
    lowered = lowered.substr(1, lowered.size() - 2);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, lowered.c_str(), &v6) == 1) {
    return std::memcmp(&v6, &in6addr_loopback, sizeof(v6)) == 0;
  }
  // inet_pton accepts only the strict dotted quad, so "127.1" or "0x7f.0.0.1" are not
  // mistaken for loopback here (nor anywhere else, as they fail the host check).
  in_addr v4{};
  if (inet_pton(AF_INET, lowered.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  return false;
}

namespace internal {

std::string EndpointUrlProblem(std::string_view url, UrlRules rules) {
  if (url.empty()) return "must not be empty";
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return "must be a URL without spaces or control characters";
    }
  }
  bool is_http = AsciiStartsWithIgnoreCase(url, "http://");
  if (!is_http && !AsciiStartsWithIgnoreCase(url, "https://")) {
    return "must be an absolute https:// URL (got '" + std::string(url) + "')";
  }
  if (url.find('#') != std::string_view::npos) return "must not contain a fragment ('#...')";

  std::string_view rest = url.substr(is_http ? 7 : 8);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  std::string_view after_authority = rest.substr(authority.size());
  if (authority.find('@') != std::string_view::npos) {
    return "must not contain user information ('user@host'); credentials belong in client_id/client_secret";
  }
  if (!rules.allow_query && after_authority.find('?') != std::string_view::npos) {
    return "must not contain a query ('?...')";
  }

  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "has an unterminated IPv6 address";
    host = authority.substr(0, close + 1);
    std::string_view tail = authority.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':') return "has an invalid host";
      port = tail.substr(1);
    }
    std::string literal(host.substr(1, host.size() - 2));
    in6_addr ignored{};
    if (inet_pton(AF_INET6, literal.c_str(), &ignored) != 1) return "has an invalid IPv6 address";
  } else {
    std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return "must name a host";
    if (!std::all_of(host.begin(), host.end(), IsHostChar))
      return "has an invalid host '" + std::string(host) + "'";
  }
  if (authority.size() > host.size()) {
    int number = 0;
    auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || error != std::errc() || end != port.data() + port.size() || number < 1 ||
        number > 65535) {
      return "has an invalid port '" + std::string(port) + "'";
    }
  }
  if (is_http && !IsLoopbackHost(host)) {
    return "http:// is allowed only for loopback hosts (127.0.0.1, ::1, localhost)";
  }
  return "";
}

}  // namespace internal
}  // namespace latchkey::provider
