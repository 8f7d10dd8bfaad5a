// Fuzzes what an agent controls on /proxy: the request target, and the policy match on
// what ParseProxyTarget makes of it. Input: a policy rule, a newline, the request target.
// Properties: an accepted target forwards, under the base URL, exactly the path the
// policy matched, however often the upstream decodes it; nothing it leaves holds a
// control character; the audit form is printable ASCII.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/http/base_url.h"
#include "gateway/proxy/proxy_target.h"
#include "policy/policy.h"
#include "support/fuzz_check.h"
#include "vault/connection_vault.h"

namespace {

using latchkey::gateway::ParseProxyTarget;

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// An upstream's percent-decoding, written apart from the code under test.
std::optional<std::string> Decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || Hex(text[i + 1]) < 0 || Hex(text[i + 2]) < 0) return std::nullopt;
    out += static_cast<char>(Hex(text[i + 1]) * 16 + Hex(text[i + 2]));
    i += 2;
  }
  return out;
}

// True if resolving `path`'s dot segments (RFC 3986 §5.2.4, also with Tomcat's ";params")
// or collapsing empty segments could change which resource it names.
bool CouldMove(std::string_view path) {
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    std::string_view bare = segment.substr(0, segment.find(';'));
    if (bare == "." || bare == "..") return true;
    if (end < path.size() && path[end] == '\\') return true;
    if (segment.empty() && end != path.size()) return true;
    start = end + 1;
  }
  return false;
}

bool HasControl(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  const size_t newline = input.find('\n');
  std::string_view rule_text =
      newline == std::string_view::npos ? std::string_view() : input.substr(0, newline);
  std::string_view target = newline == std::string_view::npos ? input : input.substr(newline + 1);

  auto parsed = ParseProxyTarget(target);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty());
    return 0;
  }
  const auto& t = *parsed;
  FUZZ_CHECK(latchkey::vault::IsValidSlug(t.connection));
  FUZZ_CHECK(!t.raw_path.empty() && t.raw_path.front() == '/');
  FUZZ_CHECK(!HasControl(t.raw_path) && !HasControl(t.raw_query));
  FUZZ_CHECK(t.raw_path.find_first_of("?# ") == std::string::npos);
  for (char c : t.redacted) FUZZ_CHECK(c > 0x20 && c < 0x7f);

  // What the policy matched is the path decoded once, and no further decoding by the
  // upstream can make it name another place.
  auto once = Decode(t.raw_path);
  FUZZ_CHECK(once && *once == t.decoded_path);
  FUZZ_CHECK(!CouldMove(t.decoded_path));
  FUZZ_CHECK(!HasControl(t.decoded_path));
  if (auto twice = Decode(t.decoded_path)) FUZZ_CHECK(!CouldMove(*twice) && !HasControl(*twice));

  // Forwarded under the base URL's path, whatever that path is.
  for (std::string_view base : {"https://api.example.com", "https://api.example.com/v2/"}) {
    auto base_url = latchkey::gateway::ParseBaseUrl(base);
    FUZZ_CHECK(base_url.ok());
    const std::string forwarded = base_url->path + t.raw_path;
    FUZZ_CHECK(forwarded.starts_with(base_url->path + "/"));
  }

  // The policy decides on that same path.
  auto rule = latchkey::policy::ParsePolicyRule(rule_text);
  if (rule.ok()) {
    auto reparsed = latchkey::policy::ParsePolicyRule(rule->text);
    FUZZ_CHECK(reparsed.ok() && reparsed->path_glob == rule->path_glob &&
               reparsed->methods == rule->methods && reparsed->connection == rule->connection);
    latchkey::policy::Policy policy({*rule});
    const bool allowed = policy.Allows(t.connection, "GET", t.decoded_path);
    if (allowed) FUZZ_CHECK(latchkey::policy::PathGlobMatches(rule->path_glob, t.decoded_path));
    if (allowed) FUZZ_CHECK(rule->connection == "*" || rule->connection == t.connection);
    FUZZ_CHECK(latchkey::policy::PathGlobMatches("/**", t.decoded_path));
    if (t.decoded_path.find('*') == std::string::npos)
      FUZZ_CHECK(latchkey::policy::PathGlobMatches(t.decoded_path, t.decoded_path));
  }
  return 0;
}
