// Agent policies: which connections, methods and paths an agent may use. A rule is
// written CONNECTION[:METHODS[:PATH_GLOB]] (SPEC §8), e.g.
//   work-gmail:GET:/gmail/v1/users/me/messages/**
//   crm:GET,POST            (any path)
//   notes                   (any method, any path)
// CONNECTION is a slug or "*"; METHODS is "*" or a comma list of HTTP methods; in
// PATH_GLOB "*" matches within one path segment and "**" any number of segments.
// Immutable after parsing: any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace latchkey::policy {

struct PolicyRule {
  std::string connection;            // slug or "*"
  std::vector<std::string> methods;  // upper case; empty means any
  std::string path_glob = "/**";     // always starts with '/'
  std::string text;                  // the rule as written, for display
};

// kInvalidArgument with one sentence naming the rule and what is wrong with it.
StatusOr<PolicyRule> ParsePolicyRule(std::string_view text);

// True if `path` (starting with '/', no query) matches `glob`.
bool PathGlobMatches(std::string_view glob, std::string_view path);

class Policy {
 public:
  Policy() = default;  // allows nothing
  explicit Policy(std::vector<PolicyRule> rules) : rules_(std::move(rules)) {}
  static StatusOr<Policy> Parse(const std::vector<std::string>& rule_texts);

  bool Allows(std::string_view connection, std::string_view method, std::string_view path) const;
  // True if some rule names this connection (or "*"): it may be listed to the agent.
  bool MayUseConnection(std::string_view connection) const;
  const std::vector<PolicyRule>& rules() const { return rules_; }

 private:
  std::vector<PolicyRule> rules_;
};

}  // namespace latchkey::policy
