#include "oauth/url_policy.h"

#include <string>

#include "common/url.h"
#include "provider/provider.h"

namespace latchkey::oauth {

bool IsAllowedEndpointUrl(std::string_view url) {
  StatusOr<Url> parsed = ParseHttpUrl(url);
  return parsed.ok() && (parsed->https() || provider::IsLoopbackHost(parsed->host));
}

}  // namespace latchkey::oauth
