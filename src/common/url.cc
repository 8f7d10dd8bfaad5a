#include "common/url.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>

#include "common/ascii.h"
#include "common/encoding.h"

namespace latchkey {
namespace {

Status Refused(std::string_view text, std::string_view why) {
  return InvalidArgumentError("'" + ToDisplayText(text, 256) + "' is not a usable URL: " + std::string(why));
}

// The characters RFC 3986 allows anywhere in a URI (unreserved, reserved, '%').
bool IsUriCharacter(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~:/?#[]@!$&'()*+,;=%").find(c) != std::string_view::npos;
}

}  // namespace

std::string HostForUrl(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return "[" + std::string(host) + "]";
  return std::string(host);
}

std::string Url::HostForUrl() const { return latchkey::HostForUrl(host); }

std::string Url::Authority() const {
  const uint16_t default_port = https() ? 443 : 80;
  return port == default_port ? HostForUrl() : HostForUrl() + ":" + std::to_string(port);
}

std::string Url::Origin() const { return scheme + "://" + Authority(); }

StatusOr<Url> ParseHttpUrl(std::string_view text) {
  // Checked before Boost.URL sees the text: its parser (1.81) trips its own assertion on
  // a scheme followed by a character no URI may hold there ("i:}", found by web_pages_fuzz
  // in an Origin field), and no such character belongs in a URL latchkey accepts anyway.
  if (!std::ranges::all_of(text, IsUriCharacter)) {
    return Refused(text, "it holds a character no URL may hold (RFC 3986)");
  }
  // Also before Boost.URL: the same assertion trips on "scheme:[" (found by url_fuzz).
  // Only "http://" and "https://" URLs are wanted, so nothing else goes further.
  if (!AsciiStartsWithIgnoreCase(text, "http://") && !AsciiStartsWithIgnoreCase(text, "https://")) {
    return Refused(text, "it does not start with http:// or https://");
  }
  auto parsed = boost::urls::parse_absolute_uri(boost::core::string_view(text.data(), text.size()));
  if (!parsed) return Refused(text, "it is not an absolute URL (RFC 3986)");
  const boost::urls::url_view& view = *parsed;
  Url url;
  url.scheme = AsciiLower(std::string_view(view.scheme().data(), view.scheme().size()));
  if (url.scheme != "http" && url.scheme != "https") return Refused(text, "the scheme is not http or https");
  if (!view.has_authority() || view.encoded_host().empty()) return Refused(text, "it names no host");
  if (view.has_userinfo()) return Refused(text, "it carries user info before the host");
  if (view.has_fragment()) return Refused(text, "it has a fragment");
  switch (view.host_type()) {
    case boost::urls::host_type::ipv6:
      url.ipv6 = true;
      url.host = view.host_ipv6_address().to_string();
      break;
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::name: {
      const auto host = view.encoded_host();
      if (host.find('%') != boost::core::string_view::npos)
        return Refused(text, "the host is percent-encoded");
      url.host = AsciiLower(std::string_view(host.data(), host.size()));
      break;
    }
    default: return Refused(text, "the host is not a name or an IP address");
  }
  if (view.has_port()) {
    // Boost.URL's port_number() wraps a port past 65535; read the digits here.
    const auto digits = view.port();
    uint32_t port = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || port == 0 ||
        port > 65535) {
      return Refused(text, "the port is not 1 to 65535");
    }
    url.port = static_cast<uint16_t>(port);
  } else {
    url.port = url.https() ? 443 : 80;
  }
  const auto path = view.encoded_path();
  url.path.assign(path.data(), path.size());
  url.has_query = view.has_query();
  const auto query = view.encoded_query();
  url.query.assign(query.data(), query.size());
  return url;
}

bool IsHttpsUrl(std::string_view text) {
  StatusOr<Url> url = ParseHttpUrl(text);
  return url.ok() && url->https();
}

StatusOr<Url> ParseOrigin(std::string_view text) {
  LATCHKEY_ASSIGN_OR_RETURN(Url url, ParseHttpUrl(text));
  if (!url.path.empty() || url.has_query) return Refused(text, "an origin has no path or query");
  return url;
}

}  // namespace latchkey
