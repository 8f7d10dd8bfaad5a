#include "policy/policy.h"

#include <algorithm>
#include <array>
#include <boost/container/small_vector.hpp>
#include <cstdio>
#include <optional>
#include <utility>

#include "common/ascii.h"

namespace latchkey::policy {
namespace {

constexpr std::array<std::string_view, 7> kKnownMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                           "PATCH", "DELETE", "OPTIONS"};
constexpr std::string_view kAllowedMethodsHint =
    "(allowed: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or *)";

// Renders untrusted text for an error sentence: control characters become \xNN so a
// rule containing CR/LF cannot forge extra log lines.
std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      std::array<char, 5> hex{};
      std::snprintf(hex.data(), hex.size(), "\\x%02x", byte);
      out += hex.data();
    } else {
      out += c;
    }
  }
  return out;
}

Status RuleError(std::string_view rule, std::string_view problem) {
  return InvalidArgumentError("rule '" + Printable(rule) + "' is invalid: " + std::string(problem));
}

bool IsSlugStart(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsSlugChar(char c) { return IsSlugStart(c) || c == '.' || c == '_' || c == '-'; }

bool IsSlug(std::string_view s) {
  return !s.empty() && IsSlugStart(s.front()) && std::all_of(s.begin() + 1, s.end(), IsSlugChar);
}

// Segments of a path, inline up to a depth no real API path reaches (no allocation).
using SegmentList = boost::container::small_vector<std::string_view, 16>;

// Splits on '/' after the leading one: "/a/b" -> {"a", "b"}, "/" -> {""}, "/a/" -> {"a", ""}.
SegmentList Segments(std::string_view absolute_path) {
  SegmentList out;
  std::string_view rest = absolute_path.substr(1);
  for (;;) {
    size_t slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return out;
}

// '*' matches any run of characters (a segment never contains '/'). Greedy with a
// single backtrack point: O(|pattern| * |text|) at worst, never exponential.
bool SegmentMatches(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;  // position of the last '*' seen in pattern
  size_t star_text = 0;                  // text position that '*' is currently matched up to
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

StatusOr<std::vector<std::string>> ParseMethods(std::string_view rule, std::string_view part) {
  if (part == "*") return std::vector<std::string>{};
  std::vector<std::string> methods;
  for (;;) {
    size_t comma = part.find(',');
    std::string_view item = part.substr(0, comma);
    if (item.empty())
      return RuleError(rule, "the method list has an empty item " + std::string(kAllowedMethodsHint));
    if (item == "*") return RuleError(rule, "'*' must stand alone in place of the method list");
    std::string upper = AsciiUpper(item);
    if (std::find(kKnownMethods.begin(), kKnownMethods.end(), upper) == kKnownMethods.end()) {
      return RuleError(rule, "unknown method '" + Printable(item) + "' " + std::string(kAllowedMethodsHint));
    }
    if (std::find(methods.begin(), methods.end(), upper) != methods.end()) {
      return RuleError(rule, "method '" + upper + "' is listed twice");
    }
    methods.push_back(std::move(upper));
    if (comma == std::string_view::npos) break;
    part.remove_prefix(comma + 1);
  }
  return methods;
}

Status ValidatePathGlob(std::string_view rule, std::string_view glob) {
  if (glob.empty()) return RuleError(rule, "the path glob is empty (write /** for any path)");
  if (glob.front() != '/') return RuleError(rule, "the path glob must start with '/'");
  for (char c : glob) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) {
      return RuleError(rule, "the path glob contains whitespace or a control character");
    }
    if (c == '?' || c == '#') {
      return RuleError(rule, "the path glob contains '" + std::string(1, c) +
                                 "' (a glob matches the path only, never a query or fragment)");
    }
  }
  for (std::string_view segment : Segments(glob)) {
    if (segment == "..") return RuleError(rule, "the path glob contains a '..' segment");
    if (segment != "**" && segment.find("**") != std::string_view::npos) {
      return RuleError(rule, "'**' must be a whole path segment, as in /files/** (use * within a segment)");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<PolicyRule> ParsePolicyRule(std::string_view text) {
  if (text.empty()) return RuleError(text, "it is empty (expected CONNECTION[:METHODS[:PATH_GLOB]])");

  // Only the first two ':' separate parts: the path glob may contain ':' itself.
  size_t first = text.find(':');
  std::string_view connection = text.substr(0, first);
  std::optional<std::string_view> methods_part;
  std::optional<std::string_view> glob_part;
  if (first != std::string_view::npos) {
    std::string_view rest = text.substr(first + 1);
    size_t second = rest.find(':');
    methods_part = rest.substr(0, second);
    if (second != std::string_view::npos) glob_part = rest.substr(second + 1);
  }

  if (connection.empty()) return RuleError(text, "the connection name is empty (write * for any connection)");
  if (connection != "*" && !IsSlug(connection)) {
    return RuleError(text,
                     "connection '" + Printable(connection) + "' is not a slug ([a-z0-9][a-z0-9._-]*) or *");
  }

  PolicyRule rule;
  rule.connection = std::string(connection);
  rule.text = std::string(text);
  if (methods_part) {
    if (methods_part->empty()) {
      return RuleError(text, "the method list is empty (write * for any method)");
    }
    LATCHKEY_ASSIGN_OR_RETURN(rule.methods, ParseMethods(text, *methods_part));
  }
  if (glob_part) {
    LATCHKEY_RETURN_IF_ERROR(ValidatePathGlob(text, *glob_part));
    rule.path_glob = std::string(*glob_part);
  }
  return rule;
}

bool PathGlobMatches(std::string_view glob, std::string_view path) {
  if (glob.empty() || glob.front() != '/' || path.empty() || path.front() != '/') return false;
  const SegmentList pattern = Segments(glob);
  const SegmentList text = Segments(path);

  // reachable[j]: the glob segments consumed so far can match exactly text[0, j).
  // One pass per glob segment keeps the work at O(|glob segments| * |path segments|)
  // segment comparisons, whatever mix of '**' the glob holds.
  using Marks = boost::container::small_vector<char, 17>;
  Marks reachable(text.size() + 1, 0);
  reachable[0] = 1;
  for (std::string_view segment : pattern) {
    Marks next(text.size() + 1, 0);
    if (segment == "**") {
      // Zero or more whole segments: every position at or after a reachable one.
      char any = 0;
      for (size_t j = 0; j <= text.size(); ++j) {
        any = static_cast<char>(any | reachable[j]);
        next[j] = any;
      }
    } else {
      for (size_t j = 0; j < text.size(); ++j) {
        if (reachable[j] && SegmentMatches(segment, text[j])) next[j + 1] = 1;
      }
    }
    reachable.swap(next);
  }
  return reachable[text.size()] != 0;
}

StatusOr<Policy> Policy::Parse(const std::vector<std::string>& rule_texts) {
  std::vector<PolicyRule> rules;
  rules.reserve(rule_texts.size());
  for (const std::string& text : rule_texts) {
    LATCHKEY_ASSIGN_OR_RETURN(PolicyRule rule, ParsePolicyRule(text));
    rules.push_back(std::move(rule));
  }
  return Policy(std::move(rules));
}

bool Policy::Allows(std::string_view connection, std::string_view method, std::string_view path) const {
  // Defence in depth: the gateway already refuses '..', but a "/**" rule must never
  // be what lets a traversal through.
  if (path.empty() || path.front() != '/') return false;
  for (std::string_view segment : Segments(path)) {
    if (segment == "..") return false;
  }
  for (const PolicyRule& rule : rules_) {
    if (rule.connection != "*" && rule.connection != connection) continue;
    // Methods are case-sensitive on the wire (RFC 9110 §9.1): "get" is not GET.
    if (!rule.methods.empty() &&
        std::find(rule.methods.begin(), rule.methods.end(), method) == rule.methods.end()) {
      continue;
    }
    if (PathGlobMatches(rule.path_glob, path)) return true;
  }
  return false;
}

bool Policy::MayUseConnection(std::string_view connection) const {
  return std::any_of(rules_.begin(), rules_.end(), [&](const PolicyRule& rule) {
    return rule.connection == "*" || rule.connection == connection;
  });
}

}  // namespace latchkey::policy
