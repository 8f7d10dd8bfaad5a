// CurlHttpClient: HttpClient over libcurl for token, revocation and discovery
// endpoints. Stateless apart from the process-wide curl_global_init (done once): each
// Send uses its own easy handle, so any number of threads may call it at once.
//
// Policy, not options: TLS peer and host verification always on, only http/https,
// redirects never followed (a token endpoint that redirects is refused, not chased),
// no signals (safe in threaded daemons), size cap enforced while reading.
// Per request (HttpLimits): public_addresses_only checks every address as curl opens its
// socket (CURLOPT_OPENSOCKETFUNCTION), so what is checked is what is connected to, DNS
// rebinding or not; ca_file replaces the system's CAs.
#pragma once

#include "oauth/http_client.h"

namespace latchkey::oauth {

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient();
  StatusOr<HttpResponse> Send(const HttpRequest& request, const HttpLimits& limits) override;
};

}  // namespace latchkey::oauth
