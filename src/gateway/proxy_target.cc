#include "gateway/proxy_target.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "common/ascii.h"
#include "common/encoding.h"
#include "vault/connection_vault.h"

namespace latchkey::gateway {
namespace {

constexpr size_t kMaxTarget = size_t{8} * 1024;

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return (AsciiLower(c) - 'a') + 10;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Percent-decodes once; nullopt on a malformed escape.
std::optional<std::string> DecodeOnce(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !IsHex(text[i + 1]) || !IsHex(text[i + 2])) return std::nullopt;
    out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
    i += 2;
  }
  return out;
}

// True if `text` holds %XX where XX decodes to one of `bytes` or to a control character.
bool HasEncoded(std::string_view text, std::string_view bytes) {
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    if (text[i] != '%' || !IsHex(text[i + 1]) || !IsHex(text[i + 2])) continue;
    auto c = static_cast<unsigned char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
    if (IsControl(c) || bytes.find(static_cast<char>(c)) != std::string_view::npos) return true;
  }
  return false;
}

Status Unsafe(std::string_view why) { return InvalidArgumentError(std::string(why)); }

Status CheckSegments(std::string_view decoded) {
  size_t start = 1;  // decoded starts with '/'
  while (start <= decoded.size()) {
    size_t end = decoded.find('/', start);
    if (end == std::string_view::npos) end = decoded.size();
    std::string_view segment = decoded.substr(start, end - start);
    // Servers such as Tomcat drop ";params" from a segment: "..;x" is "..".
    std::string_view bare = segment.substr(0, segment.find(';'));
    if (bare == "." || bare == "..") return Unsafe("the path contains a '.' or '..' segment");
    if (segment.empty() && end != decoded.size()) return Unsafe("the path contains an empty segment ('//')");
    start = end + 1;
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ProxyTarget> ParseProxyTarget(std::string_view target) {
  if (target.size() > kMaxTarget) return Unsafe("the request target is longer than 8 KiB");
  if (target.substr(0, kProxyPrefix.size()) != kProxyPrefix) {
    return Unsafe("the request target must be a path starting with /proxy/ (absolute URLs are refused)");
  }
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (IsControl(u) || c == ' ') return Unsafe("the request target contains a control character or space");
    if (c == '\\') return Unsafe("the request target contains a backslash");
    if (c == '#') return Unsafe("the request target contains a fragment ('#')");
    if (u >= 0x80) return Unsafe("the request target contains a byte that is not percent-encoded");
  }

  ProxyTarget out;
  std::string_view rest = target.substr(kProxyPrefix.size());
  size_t query_at = rest.find('?');
  std::string_view path_part = rest.substr(0, query_at);
  if (query_at != std::string_view::npos) out.raw_query = std::string(rest.substr(query_at + 1));

  size_t slash = path_part.find('/');
  std::string_view name = path_part.substr(0, slash);
  if (!vault::IsValidSlug(name)) {
    return Unsafe("'" + std::string(name.substr(0, 80)) +
                  "' is not a connection name (lower-case letters, digits, '.', '_' and '-')");
  }
  out.connection = std::string(name);
  out.raw_path = slash == std::string_view::npos ? "/" : std::string(path_part.substr(slash));

  if (HasEncoded(out.raw_path, "/\\")) {
    return Unsafe("the path contains an encoded slash, backslash or control character");
  }
  std::optional<std::string> decoded = DecodeOnce(out.raw_path);
  if (!decoded) return Unsafe("the path contains a malformed percent-escape");
  if (HasEncoded(*decoded, "./\\%")) return Unsafe("the path is percent-encoded twice");
  LATCHKEY_RETURN_IF_ERROR(CheckSegments(*decoded));
  out.decoded_path = std::move(*decoded);

  if (!DecodeOnce(out.raw_query)) return Unsafe("the query contains a malformed percent-escape");
  if (HasEncoded(out.raw_query, "")) return Unsafe("the query contains an encoded control character");

  out.redacted = out.raw_path;
  if (!out.raw_query.empty()) out.redacted += "?" + RedactQuery(out.raw_query);
  return out;
}

std::string RedactQuery(std::string_view query) {
  std::string out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(start, end - start);
    if (!out.empty()) out += '&';
    size_t eq = pair.find('=');
    out += std::string(pair.substr(0, std::min<size_t>(eq, 100)));
    if (eq != std::string_view::npos) out += "=***";
    start = end + 1;
  }
  return out;
}

StatusOr<BaseUrl> ParseBaseUrl(std::string_view url) {
  // For messages (only then: this runs on every proxied call): the URL may hold any byte.
  auto shown = [url] { return ToDisplayText(url, 256); };
  BaseUrl out;
  std::string_view rest;
  // The scheme in any case (RFC 3986 §3.1), as the provider's URL patterns take it.
  auto scheme_is = [url](std::string_view scheme) {
    return AsciiStartsWithIgnoreCase(url, std::string(scheme) + "://");
  };
  if (scheme_is("https")) {
    rest = url.substr(8);
  } else if (scheme_is("http")) {
    out.tls = false;
    rest = url.substr(7);
  } else {
    return InvalidArgumentError("the API base URL '" + shown() + "' is not http(s)");
  }
  size_t path_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view path = path_at == std::string_view::npos ? "" : rest.substr(path_at);
  if (path.find_first_of("?#") != std::string_view::npos) {
    return InvalidArgumentError("the API base URL '" + shown() + "' has a query or fragment");
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return InvalidArgumentError("the API base URL '" + shown() + "' has no usable host");
  }
  out.port = out.tls ? "443" : "80";
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("bad IPv6 host in '" + shown() + "'");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return InvalidArgumentError("bad port in '" + shown() + "'");
      out.port = std::string(authority.substr(close + 2));
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
  }
  // A host is a DNS name or an IPv4 address (letters, digits, '-', '.', '_', '~'; RFC 3986
  // unreserved) or an IPv6 literal (hex digits, ':', '.'): a byte outside those (a NUL, a
  // space, '%') would reach the Host header and the resolver.
  const bool v6_literal = authority.front() == '[';
  const std::string_view host_chars =
      v6_literal ? "0123456789abcdefABCDEF:."
                 : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~";
  if (out.host.empty() || out.port.empty() || out.host.find_first_not_of(host_chars) != std::string::npos ||
      !std::all_of(out.port.begin(), out.port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgumentError("the API base URL '" + shown() + "' has no usable host or port");
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.path = std::string(path);
  // (Appended piece by piece: GCC 12 warns falsely about "[" + host + "]".)
  std::string name;
  const bool v6 = out.host.find(':') != std::string::npos;
  if (v6) name += '[';
  name += out.host;
  if (v6) name += ']';
  const bool default_port = (out.tls && out.port == "443") || (!out.tls && out.port == "80");
  out.host_header = name;
  if (!default_port) out.host_header.append(":").append(out.port);
  out.origin = out.tls ? "https://" : "http://";
  out.origin.append(name).append(":").append(out.port);
  return out;
}

}  // namespace latchkey::gateway
