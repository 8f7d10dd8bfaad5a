#include "gateway/http/base_url.h"

#include "common/encoding.h"
#include "common/url.h"

namespace latchkey::gateway {

StatusOr<BaseUrl> ParseBaseUrl(std::string_view url) {
  StatusOr<Url> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return parsed.status().WithContext("the API base URL");
  if (parsed->has_query) {
    return InvalidArgumentError("the API base URL '" + ToDisplayText(url, 256) + "' has a query");
  }
  std::string_view path = parsed->path;
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  BaseUrl out;
  out.tls = parsed->https();
  out.host = parsed->host;
  out.port = std::to_string(parsed->port);
  out.path = std::string(path);
  out.host_header = parsed->Authority();
  out.origin = parsed->scheme + "://" + parsed->HostForUrl() + ":" + out.port;
  return out;
}

}  // namespace latchkey::gateway
