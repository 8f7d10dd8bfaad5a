#include "policy/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace latchkey::policy {
namespace {

using ::testing::HasSubstr;

struct ValidRuleCase {
  std::string text;
  std::string connection;
  std::vector<std::string> methods;
  std::string path_glob;
};

TEST(ParsePolicyRuleTest, AcceptsValidRules) {
  const std::vector<ValidRuleCase> cases = {
      {"notes", "notes", {}, "/**"},
      {"*", "*", {}, "/**"},
      {"crm:GET,POST", "crm", {"GET", "POST"}, "/**"},
      {"crm:*", "crm", {}, "/**"},
      {"crm:get,Post", "crm", {"GET", "POST"}, "/**"},
      {"work-gmail:GET:/gmail/v1/users/me/messages/**",
       "work-gmail",
       {"GET"},
       "/gmail/v1/users/me/messages/**"},
      {"a.b_c-d:*:/x/*", "a.b_c-d", {}, "/x/*"},
      {"*:DELETE:/items/*", "*", {"DELETE"}, "/items/*"},
      {"0svc:GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS:/",
       "0svc",
       {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
       "/"},
      // Only the first two ':' separate parts; the glob keeps its own.
      {"cal:GET:/v1/calendars/primary:watch", "cal", {"GET"}, "/v1/calendars/primary:watch"},
      {"cal:GET:/a:b:c", "cal", {"GET"}, "/a:b:c"},
      {"files:GET:/files/*.pdf", "files", {"GET"}, "/files/*.pdf"},
      {"files:GET:/%7Euser/**", "files", {"GET"}, "/%7Euser/**"},
  };
  for (const ValidRuleCase& c : cases) {
    SCOPED_TRACE(c.text);
    StatusOr<PolicyRule> rule = ParsePolicyRule(c.text);
    ASSERT_TRUE(rule.ok()) << rule.status().ToString();
    EXPECT_EQ(rule->connection, c.connection);
    EXPECT_EQ(rule->methods, c.methods);
    EXPECT_EQ(rule->path_glob, c.path_glob);
    EXPECT_EQ(rule->text, c.text);
  }
}

struct InvalidRuleCase {
  std::string text;
  std::string problem;  // a fragment of the sentence that names what is wrong
};

TEST(ParsePolicyRuleTest, RefusesInvalidRulesWithOneSentenceNamingRuleAndProblem) {
  const std::vector<InvalidRuleCase> cases = {
      {"", "it is empty"},
      {":GET", "connection name is empty"},
      {"Gmail", "connection 'Gmail' is not a slug"},
      {"-gmail", "connection '-gmail' is not a slug"},
      {"gm ail", "connection 'gm ail' is not a slug"},
      {"gm/ail:GET", "connection 'gm/ail' is not a slug"},
      {"**:GET", "connection '**' is not a slug"},
      {"gmail:", "method list is empty"},
      {"gmail::/x", "method list is empty"},
      {"gmail:FETCH", "unknown method 'FETCH' (allowed: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or *)"},
      {"gmail:GET,,POST", "empty item"},
      {"gmail:GET,", "empty item"},
      {"gmail:,GET", "empty item"},
      {"gmail:GET,get", "method 'GET' is listed twice"},
      {"gmail:GET,*", "'*' must stand alone"},
      {"gmail:GET :/x", "unknown method 'GET '"},
      {"gmail:GET:", "path glob is empty"},
      {"gmail:GET:x/y", "must start with '/'"},
      {"gmail:GET:*", "must start with '/'"},
      {"gmail:GET:/a/../b", "'..' segment"},
      {"gmail:GET:/..", "'..' segment"},
      {"gmail:GET:/a/b?c=d", "contains '?'"},
      {"gmail:GET:/a#frag", "contains '#'"},
      {"gmail:GET:/a b", "whitespace or a control character"},
      {"gmail:GET:/a\tb", "whitespace or a control character"},
      {"gmail:GET:/a\r\nX-Evil: 1", "whitespace or a control character"},
      {std::string("gmail:GET:/a\0b", 14), "whitespace or a control character"},
      {"gmail:GET:/files/**.pdf", "'**' must be a whole path segment"},
  };
  for (const InvalidRuleCase& c : cases) {
    SCOPED_TRACE(c.text);
    StatusOr<PolicyRule> rule = ParsePolicyRule(c.text);
    ASSERT_FALSE(rule.ok());
    EXPECT_EQ(rule.status().code(), StatusCode::kInvalidArgument);
    const std::string message = rule.status().message();
    EXPECT_THAT(message, HasSubstr(c.problem));
    // Names the rule; control characters are escaped rather than printed raw.
    if (c.text.find_first_of(std::string("\r\n\t\0", 4)) == std::string::npos) {
      EXPECT_THAT(message, HasSubstr("rule '" + c.text + "' is invalid: "));
    } else {
      EXPECT_THAT(message, HasSubstr("rule 'gmail:GET:/a\\x"));
      EXPECT_EQ(message.find_first_of(std::string("\r\n\t\0", 4)), std::string::npos);
    }
    EXPECT_EQ(message.find(". "), std::string::npos) << "one sentence only";
  }
}

TEST(ParsePolicyRuleTest, ExactMessageForUnknownMethod) {
  StatusOr<PolicyRule> rule = ParsePolicyRule("gmail:FETCH");
  ASSERT_FALSE(rule.ok());
  EXPECT_EQ(rule.status().message(),
            "rule 'gmail:FETCH' is invalid: unknown method 'FETCH' (allowed: GET, HEAD, POST, PUT, "
            "PATCH, DELETE, OPTIONS or *)");
}

struct GlobCase {
  std::string glob;
  std::string path;
  bool matches;
};

TEST(PathGlobMatchesTest, Table) {
  const std::vector<GlobCase> cases = {
      // Literal.
      {"/", "/", true},
      {"/", "/a", false},
      {"/a", "/a", true},
      {"/a", "/a/", false},
      {"/a", "/ab", false},
      {"/a/b", "/a/b", true},
      {"/a/b", "/A/b", false},
      // '*' within one segment.
      {"/a/*", "/a/b", true},
      {"/a/*", "/a/", true},
      {"/a/*", "/a", false},
      {"/a/*", "/a/b/c", false},
      {"/files/*.pdf", "/files/report.pdf", true},
      {"/files/*.pdf", "/files/.pdf", true},
      {"/files/*.pdf", "/files/dir/report.pdf", false},
      {"/files/*.pdf", "/files/report.pdf.exe", false},
      {"/v1/*/messages", "/v1/me/messages", true},
      {"/v1/*/messages", "/v1/me/you/messages", false},
      {"/a*b*c", "/aXXbYYc", true},
      {"/a*b*c", "/aXXbYY", false},
      {"/*", "/", true},
      // '**' as a whole segment: zero or more segments.
      {"/a/**", "/a", true},
      {"/a/**", "/a/", true},
      {"/a/**", "/a/b", true},
      {"/a/**", "/a/b/c", true},
      {"/a/**", "/ab", false},
      {"/a/**", "/b/a", false},
      {"/**", "/", true},
      {"/**", "/anything/at/all", true},
      {"/a/**/z", "/a/z", true},
      {"/a/**/z", "/a/b/c/z", true},
      {"/a/**/z", "/a/b/c/zz", false},
      {"/**/*.json", "/x/y/data.json", true},
      {"/**/*.json", "/data.json", true},
      {"/**/*.json", "/data.json/x", false},
      // Everything else is literal.
      {"/a.b", "/aXb", false},
      {"/a:b", "/a:b", true},
      {"/a+b", "/a+b", true},
      // Paths must be absolute.
      {"/**", "", false},
      {"/**", "relative", false},
  };
  for (const GlobCase& c : cases) {
    EXPECT_EQ(PathGlobMatches(c.glob, c.path), c.matches) << c.glob << " vs " << c.path;
  }
}

TEST(PathGlobMatchesTest, HostileGlobsStayPolynomial) {
  // A naive backtracking matcher takes exponential time on these; the segment-wise
  // dynamic programme is O(glob segments x path segments) by construction.
  std::string long_path;
  for (int i = 0; i < 2000; ++i) long_path += "/seg";
  EXPECT_FALSE(PathGlobMatches("/**/**/**/**/**/**/**/**/**/**/x", long_path));
  EXPECT_TRUE(PathGlobMatches("/**/**/**/**/**/**/**/**/**/**/seg", long_path));

  std::string long_segment = "/" + std::string(5000, 'a');
  EXPECT_FALSE(PathGlobMatches("/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", long_segment));
  EXPECT_TRUE(PathGlobMatches("/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*", long_segment));
}

Policy MustParse(const std::vector<std::string>& rules) {
  StatusOr<Policy> policy = Policy::Parse(rules);
  EXPECT_TRUE(policy.ok()) << policy.status().ToString();
  return policy.ok() ? *std::move(policy) : Policy();
}

TEST(PolicyTest, EmptyPolicyAllowsNothing) {
  Policy policy;
  EXPECT_FALSE(policy.Allows("gmail", "GET", "/"));
  EXPECT_FALSE(policy.MayUseConnection("gmail"));
}

TEST(PolicyTest, ParseReportsTheFirstInvalidRule) {
  StatusOr<Policy> policy = Policy::Parse({"gmail:GET", "crm:FETCH", "Bad"});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr("rule 'crm:FETCH'"));
}

TEST(PolicyTest, AllowsAcrossSeveralRules) {
  Policy policy = MustParse({
      "work-gmail:GET:/gmail/v1/users/me/messages/**",
      "work-gmail:POST:/gmail/v1/users/me/messages/send",
      "crm:GET,POST",
      "notes",
  });
  ASSERT_EQ(policy.rules().size(), 4u);

  EXPECT_TRUE(policy.Allows("work-gmail", "GET", "/gmail/v1/users/me/messages"));
  EXPECT_TRUE(policy.Allows("work-gmail", "GET", "/gmail/v1/users/me/messages/abc"));
  EXPECT_TRUE(policy.Allows("work-gmail", "POST", "/gmail/v1/users/me/messages/send"));
  EXPECT_FALSE(policy.Allows("work-gmail", "POST", "/gmail/v1/users/me/messages/abc"));
  EXPECT_FALSE(policy.Allows("work-gmail", "DELETE", "/gmail/v1/users/me/messages/abc"));
  EXPECT_FALSE(policy.Allows("work-gmail", "GET", "/gmail/v1/users/me/settings"));

  EXPECT_TRUE(policy.Allows("crm", "GET", "/contacts/1"));
  EXPECT_TRUE(policy.Allows("crm", "POST", "/contacts"));
  EXPECT_FALSE(policy.Allows("crm", "DELETE", "/contacts/1"));

  EXPECT_TRUE(policy.Allows("notes", "DELETE", "/notes/1"));
  EXPECT_TRUE(policy.Allows("notes", "OPTIONS", "/"));

  EXPECT_FALSE(policy.Allows("other", "GET", "/"));
  EXPECT_FALSE(policy.Allows("Crm", "GET", "/contacts/1"));
}

TEST(PolicyTest, StarConnectionMatchesEveryConnection) {
  Policy policy = MustParse({"*:GET:/status", "billing:*:/invoices/**"});
  EXPECT_TRUE(policy.Allows("anything", "GET", "/status"));
  EXPECT_TRUE(policy.Allows("billing", "GET", "/status"));
  EXPECT_FALSE(policy.Allows("anything", "POST", "/status"));
  EXPECT_FALSE(policy.Allows("anything", "GET", "/invoices/1"));
  EXPECT_TRUE(policy.Allows("billing", "PATCH", "/invoices/1"));
}

TEST(PolicyTest, MethodCase) {
  // Rules may be written in lower case; they are stored upper case.
  Policy policy = MustParse({"crm:get,delete"});
  EXPECT_EQ(policy.rules()[0].methods, (std::vector<std::string>{"GET", "DELETE"}));
  EXPECT_TRUE(policy.Allows("crm", "GET", "/x"));
  EXPECT_TRUE(policy.Allows("crm", "DELETE", "/x"));
  // On the wire methods are case-sensitive (RFC 9110): "get" is a different method.
  EXPECT_FALSE(policy.Allows("crm", "get", "/x"));
  EXPECT_FALSE(policy.Allows("crm", "POST", "/x"));
}

TEST(PolicyTest, NeverAllowsTraversalOrRelativePaths) {
  Policy policy = MustParse({"files"});
  EXPECT_TRUE(policy.Allows("files", "GET", "/a/b"));
  EXPECT_FALSE(policy.Allows("files", "GET", "/a/../b"));
  EXPECT_FALSE(policy.Allows("files", "GET", "/.."));
  EXPECT_FALSE(policy.Allows("files", "GET", "a/b"));
  EXPECT_FALSE(policy.Allows("files", "GET", ""));
}

TEST(PolicyTest, MayUseConnection) {
  Policy policy = MustParse({"work-gmail:GET:/gmail/**", "crm:POST"});
  EXPECT_TRUE(policy.MayUseConnection("work-gmail"));
  EXPECT_TRUE(policy.MayUseConnection("crm"));
  EXPECT_FALSE(policy.MayUseConnection("notes"));
  EXPECT_FALSE(policy.MayUseConnection("*"));

  Policy everything = MustParse({"*:GET"});
  EXPECT_TRUE(everything.MayUseConnection("notes"));
  EXPECT_TRUE(everything.MayUseConnection("crm"));
}

}  // namespace
}  // namespace latchkey::policy
