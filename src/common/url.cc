#include "common/url.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>

#include "common/ascii.h"
#include "common/encoding.h"

namespace latchkey {
namespace {

// What Parse reads, and how its refusals name it.
struct Input {
  std::string_view text;   // an absolute URL
  std::string_view shown;  // what the caller was given, quoted in messages
  std::string_view kind;   // "URL", "listening address"
};

Status Refused(const Input& in, std::string_view why) {
  return InvalidArgumentError("'" + ToDisplayText(in.shown, 256) + "' is not a usable " +
                              std::string(in.kind) + ": " + std::string(why));
}

// The characters RFC 3986 allows anywhere in a URI (unreserved, reserved, '%').
bool IsUriCharacter(char c) {
  if (IsAsciiAlnum(c)) return true;
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

std::string ListenAddress::HttpUrl() const {
  return "http://" + HostForUrl(host) + ":" + std::to_string(port);
}

namespace {

// ParseHttpUrl, with port 0 allowed or not, and `port_given` set when the text names one.
StatusOr<Url> Parse(const Input& in, bool allow_port_zero, bool& port_given) {
  const std::string_view text = in.text;
  // Checked before Boost.URL sees the text: its parser (1.81) trips its own assertion on
  // a scheme followed by a character no URI may hold there ("i:}", found by web_pages_fuzz
  // in an Origin field), and no such character belongs in a URL latchkey accepts anyway.
  if (!std::ranges::all_of(text, IsUriCharacter)) {
    return Refused(in, "it holds a character no URL may hold (RFC 3986)");
  }
  // Also before Boost.URL: the same assertion trips on "scheme:[" (found by url_fuzz).
  // Only "http://" and "https://" URLs are wanted, so nothing else goes further.
  if (!AsciiStartsWithIgnoreCase(text, "http://") && !AsciiStartsWithIgnoreCase(text, "https://")) {
    return Refused(in, "it does not start with http:// or https://");
  }
  auto parsed = boost::urls::parse_uri(boost::core::string_view(text.data(), text.size()));
  if (!parsed) {
    const size_t authority = text.find("://") + 3;
    return Refused(in, text.substr(authority).starts_with('[')
                           ? "it is not an absolute URL (RFC 3986): check the IPv6 address in brackets"
                           : "it is not an absolute URL (RFC 3986)");
  }
  const boost::urls::url_view& view = *parsed;
  Url url;
  url.scheme = AsciiLower(std::string_view(view.scheme().data(), view.scheme().size()));
  if (url.scheme != "http" && url.scheme != "https") return Refused(in, "the scheme is not http or https");
  if (!view.has_authority() || view.encoded_host().empty()) return Refused(in, "it names no host");
  if (view.has_userinfo()) return Refused(in, "it carries user info before the host");
  if (view.has_fragment()) return Refused(in, "it has a fragment");
  switch (view.host_type()) {
    case boost::urls::host_type::ipv6:
      url.ipv6 = true;
      url.host = view.host_ipv6_address().to_string();
      break;
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::name: {
      const auto host = view.encoded_host();
      if (host.find('%') != boost::core::string_view::npos) return Refused(in, "the host is percent-encoded");
      // A DNS name or IPv4 address is letters, digits, '-', '.', '_' and '~' (RFC 3986's
      // unreserved set); the sub-delimiters a registered name may also hold ("a,b;c") name
      // no host and would reach Host fields and the resolver.
      if (!std::ranges::all_of(
              host, [](char c) { return IsAsciiAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }))
        return Refused(in, "the host holds a character no host name has");
      url.host = AsciiLower(std::string_view(host.data(), host.size()));
      break;
    }
    default: return Refused(in, "the host is not a name or an IP address");
  }
  const char* const port_range =
      allow_port_zero ? "the port is not 0 to 65535" : "the port is not 1 to 65535";
  if (view.has_port()) {
    // Boost.URL's port_number() wraps a port past 65535; read the digits here.
    const auto digits = view.port();
    uint32_t port = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
        (port == 0 && !allow_port_zero) || port > 65535) {
      return Refused(in, port_range);
    }
    url.port = static_cast<uint16_t>(port);
    port_given = true;
  } else {
    url.port = url.https() ? 443 : 80;
  }
  const auto path = view.encoded_path();
  // RFC 3986 §3.3: after an authority the path is empty or starts with '/'. Boost.URL
  // 1.81 reads "h:8o" as port 8 and path "o"; refused, it cannot pass for port 8.
  if (!path.empty() && path.front() != '/') return Refused(in, port_range);
  url.path.assign(path.data(), path.size());
  url.has_query = view.has_query();
  const auto query = view.encoded_query();
  url.query.assign(query.data(), query.size());
  return url;
}

}  // namespace

StatusOr<Url> ParseHttpUrl(std::string_view text) {
  bool port_given = false;
  return Parse({.text = text, .shown = text, .kind = "URL"}, /*allow_port_zero=*/false, port_given);
}

StatusOr<ListenAddress> ParseListenAddress(std::string_view text) {
  const Input in{.text = "", .shown = text, .kind = "listening address"};
  if (text.find_first_of("/?#@") != std::string_view::npos)
    return Refused(in, "it must be HOST:PORT and nothing else");
  const std::string url = "http://" + std::string(text);
  bool port_given = false;
  LATCHKEY_ASSIGN_OR_RETURN(
      Url parsed, Parse({.text = url, .shown = text, .kind = in.kind}, /*allow_port_zero=*/true, port_given));
  if (!port_given)
    return Refused(in, "it names no port (HOST:PORT; an IPv6 address goes in brackets, [::1]:8787)");
  return ListenAddress{.host = std::move(parsed.host), .port = parsed.port};
}

bool IsHttpsUrl(std::string_view text) {
  StatusOr<Url> url = ParseHttpUrl(text);
  return url.ok() && url->https();
}

StatusOr<Url> ParseOrigin(std::string_view text) {
  LATCHKEY_ASSIGN_OR_RETURN(Url url, ParseHttpUrl(text));
  if (!url.path.empty() || url.has_query) {
    return Refused({.text = text, .shown = text, .kind = "origin"}, "an origin has no path or query");
  }
  return url;
}

}  // namespace latchkey
