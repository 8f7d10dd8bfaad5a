#include "oauth/http_client.h"

#include "common/url.h"

namespace latchkey::oauth {

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

std::string UrlHostForMessages(std::string_view url) {
  StatusOr<Url> parsed = ParseHttpUrl(url);
  return parsed.ok() ? parsed->Authority() : "";
}

}  // namespace latchkey::oauth
