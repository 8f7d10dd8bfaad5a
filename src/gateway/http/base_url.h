// BaseUrl: an API base URL as the upstream client connects by it (common/url's ParseHttpUrl
// and the parts every proxied call needs, derived once). Value type; any thread.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace latchkey::gateway {

// Only http (loopback, by provider validation) and https.
struct BaseUrl {
  bool tls = true;
  std::string host;  // without brackets for IPv6
  std::string port;  // always set ("443" by default)
  std::string path;  // no trailing '/', may be empty
  // Derived once by ParseBaseUrl, as every proxied call needs them:
  std::string host_header;  // the Host header: host, and port when not the scheme's default
  std::string origin;       // "scheme://host:port", which keys the upstream connection pool
};
StatusOr<BaseUrl> ParseBaseUrl(std::string_view url);

}  // namespace latchkey::gateway
