#include "provider/endpoint_url.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/ascii.h"
#include "common/encoding.h"
#include "common/url.h"
#include "provider/provider.h"

namespace latchkey::provider {

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
  if (!AsciiStartsWithIgnoreCase(url, "http://") && !AsciiStartsWithIgnoreCase(url, "https://")) {
    return "must be an absolute https:// URL (got '" + ToDisplayText(url, 256) + "')";
  }
  StatusOr<Url> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return std::string(parsed.status().message());
  if (!rules.allow_query && parsed->has_query) return "must not contain a query ('?...')";
  if (!parsed->https() && !IsLoopbackHost(parsed->host)) {
    return "http:// is allowed only for loopback hosts (127.0.0.1, ::1, localhost)";
  }
  return "";
}

}  // namespace internal
}  // namespace latchkey::provider
