// HttpClient: the one door from the OAuth engine to the network, so tests can swap in
// FakeHttpClient and production uses CurlHttpClient. Requests own their secrets
// (SecretString body and Authorization value, wiped when the request dies).
// Implementations must be safe to call from many threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/secret_string.h"
#include "common/status.h"

namespace latchkey::oauth {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  // Non-secret headers. The Authorization value is a credential and lives apart.
  std::vector<std::pair<std::string, std::string>> headers;
  SecretString authorization;  // sent as "Authorization: <value>" when not empty
  SecretString body;           // token requests carry codes, secrets and refresh tokens
};

struct HttpResponse {
  int status = 0;
  // Names lower-cased; repeated headers appear once per occurrence, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of `name` (give it lower-cased), or empty.
  std::string_view Header(std::string_view name) const;
};

struct HttpLimits {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{30000};
  std::size_t max_response_bytes = std::size_t{1024} * 1024;
  // For a URL a stranger chose: connect only to public addresses (IsPublicAddress), as
  // checked on each address at the moment of connecting, so DNS rebinding cannot swap in
  // a private one after a check; proxies from the environment are not used then, as the
  // check would see only the proxy.
  bool public_addresses_only = false;
  // A PEM bundle of the CAs to trust instead of the system's (a private CA); empty: the
  // system's.
  std::string ca_file;
};

// Errors from Send, each one sentence naming the host (never a body or a secret):
//   kUnavailable        DNS, connection refused/reset, TLS failure
//   kDeadlineExceeded   connect or total timeout
//   kResourceExhausted  response body larger than max_response_bytes
//   kInvalidArgument    malformed URL or a scheme other than http/https
//   kPermissionDenied   public_addresses_only, and the host has no public address
// Any HTTP status, 4xx and 5xx included, is a successful Send.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual StatusOr<HttpResponse> Send(const HttpRequest& request, const HttpLimits& limits) = 0;
};

// The host[:port] of an http(s) URL, for messages ("id.acme.example", the port only when
// not the scheme's default); "" when it is not a usable URL (ParseHttpUrl), so user info
// (credentials) in a URL never reaches a message.
std::string UrlHostForMessages(std::string_view url);

}  // namespace latchkey::oauth
