#include "oauth/url_policy.h"

#include <string>

#include "common/ascii.h"
#include "oauth/http_client.h"
#include "provider/provider.h"

namespace latchkey::oauth {
namespace {

// "host:port" or "[::1]:port" → the host alone.
std::string WithoutPort(std::string host_port) {
  if (!host_port.empty() && host_port.front() == '[') return host_port.substr(0, host_port.find(']') + 1);
  return host_port.substr(0, host_port.rfind(':'));
}

}  // namespace

bool IsAllowedEndpointUrl(std::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  std::string host = WithoutPort(UrlHostForMessages(url));
  if (host.empty()) return false;
  // The scheme in any case (RFC 3986 §3.1), as the provider entry's checks take it.
  if (AsciiStartsWithIgnoreCase(url, "https://")) return true;
  return AsciiStartsWithIgnoreCase(url, "http://") && provider::IsLoopbackHost(host);
}

}  // namespace latchkey::oauth
