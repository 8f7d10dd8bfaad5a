#include "gateway/proxy/proxy_target.h"

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
  if (text.find('%') == std::string_view::npos) return std::string(text);  // the most common
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

// Whether every '%' in `text` begins a well-formed escape (%XX).
bool WellEscaped(std::string_view text) {
  for (size_t i = text.find('%'); i != std::string_view::npos; i = text.find('%', i + 3)) {
    if (i + 2 >= text.size() || !IsHex(text[i + 1]) || !IsHex(text[i + 2])) return false;
  }
  return true;
}

// True if `text` holds %XX where XX decodes to one of `bytes` or to a control character.
bool HasEncoded(std::string_view text, std::string_view bytes) {
  for (size_t i = text.find('%'); i != std::string_view::npos && i + 2 < text.size();
       i = text.find('%', i + 1)) {
    if (!IsHex(text[i + 1]) || !IsHex(text[i + 2])) continue;
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

Status ParseProxyTarget(std::string_view target, ProxyTarget& out) {
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

  std::string_view rest = target.substr(kProxyPrefix.size());
  size_t query_at = rest.find('?');
  std::string_view path_part = rest.substr(0, query_at);
  out.raw_query = query_at != std::string_view::npos ? rest.substr(query_at + 1) : std::string_view();

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

  if (!WellEscaped(out.raw_query)) return Unsafe("the query contains a malformed percent-escape");
  if (HasEncoded(out.raw_query, "")) return Unsafe("the query contains an encoded control character");

  out.redacted = out.raw_path;
  if (!out.raw_query.empty()) out.redacted.append("?").append(RedactQuery(out.raw_query));
  return Status::Ok();
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

}  // namespace latchkey::gateway
