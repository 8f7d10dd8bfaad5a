#include "provider/api_base_urls.h"

#include <gtest/gtest.h>

namespace latchkey::provider {
namespace {

TEST(ApiBaseUrlsTest, PatternsMatchTheirHostsAndPathsOnly) {
  struct Case {
    const char* pattern;
    const char* url;
    bool matches;
  };
  for (const Case& c : std::vector<Case>{
           {"https://*.my.salesforce.com", "https://acme.my.salesforce.com", true},
           {"https://*.my.salesforce.com", "https://a.b.my.salesforce.com", true},
           {"https://*.my.salesforce.com", "https://ACME.My.Salesforce.com", true},
           {"https://*.my.salesforce.com", "https://acme.my.salesforce.com/services", true},
           {"https://*.my.salesforce.com", "https://my.salesforce.com", false},
           {"https://*.my.salesforce.com", "https://evilmy.salesforce.com", false},
           {"https://*.my.salesforce.com", "https://acme.my.salesforce.com.evil.example", false},
           {"https://*.my.salesforce.com", "http://acme.my.salesforce.com", false},
           {"https://*.my.salesforce.com", "https://acme.my.salesforce.com:8443", false},
           {"https://*.my.salesforce.com", "https://user@acme.my.salesforce.com", false},
           {"https://*.my.salesforce.com", "https://acme.my.salesforce.com?x=1", false},
           {"https://*.my.salesforce.com", "https://..my.salesforce.com", false},
           {"https://api.example.com/v2", "https://api.example.com/v2", true},
           {"https://api.example.com/v2", "https://api.example.com/v2/", true},
           {"https://api.example.com/v2", "https://api.example.com/v2/users", true},
           {"https://api.example.com/v2", "https://api.example.com/v20", false},
           {"https://api.example.com/v2", "https://api.example.com", false},
           {"https://api.example.com", "https://API.example.com", true},
           {"https://api.example.com", "https://api.example.com.evil", false},
           {"https://api.example.com/v2", "https://api.example.com/v2/../admin", false},
           {"https://api.example.com/v2", "https://api.example.com/v2/%2e%2e/admin", false},
           {"https://api.example.com/v2", "https://api.example.com/v2/./x", false},
           {"https://api.example.com/v2", "https://api.example.com/v2//x", false},
           {"https://*.example.com", "https://a.example.com/..", false},
           // Both sides parse into one form (common/url): the default port written out or
           // not, the scheme and host in any case, one IPv6 spelling.
           {"https://api.example.com/v2", "https://api.example.com:443/v2/x", true},
           {"https://api.example.com:443", "https://api.example.com", true},
           {"HTTPS://Api.Example.com", "https://api.example.com/x", true},
           {"https://*.My.Salesforce.com", "https://acme.my.salesforce.com", true},
           {"https://[::1]:8443", "https://[0:0::1]:8443/x", true},
           {"https://[::1]:8443", "https://[::1]/x", false},
       }) {
    EXPECT_EQ(MatchesApiBaseUrlPattern(c.pattern, c.url), c.matches) << c.pattern << " vs " << c.url;
  }
}

TEST(ApiBaseUrlsTest, TheDefaultAndTheExtraPatternsAreAllowed) {
  ProviderDefinition salesforce;
  salesforce.api_base_url = "https://login.salesforce.com";
  salesforce.extra_api_base_urls = {"https://*.salesforce.com"};
  EXPECT_TRUE(IsAllowedApiBaseUrl(salesforce, "https://login.salesforce.com"));
  EXPECT_TRUE(IsAllowedApiBaseUrl(salesforce, "https://acme.my.salesforce.com"));
  EXPECT_FALSE(IsAllowedApiBaseUrl(salesforce, "https://evil.example"));
  salesforce.extra_api_base_urls.clear();
  EXPECT_FALSE(IsAllowedApiBaseUrl(salesforce, "https://acme.my.salesforce.com"));
}

TEST(ApiBaseUrlsTest, APatternMayHaveItsWildcardOnlyAtTheFrontOfTheHost) {
  EXPECT_EQ(internal::ApiBaseUrlPatternProblem("https://*.example.com"), "");
  EXPECT_EQ(internal::ApiBaseUrlPatternProblem("https://api.example.com/v1"), "");
  EXPECT_NE(internal::ApiBaseUrlPatternProblem("https://*"), "");
  EXPECT_NE(internal::ApiBaseUrlPatternProblem("https://api.*.example.com"), "");
  EXPECT_NE(internal::ApiBaseUrlPatternProblem("https://*example.com"), "");
  EXPECT_NE(internal::ApiBaseUrlPatternProblem("http://*.example.com"), "");  // http only on loopback
  EXPECT_NE(internal::ApiBaseUrlPatternProblem("https://*.example.com/?q=1"), "");
}

}  // namespace
}  // namespace latchkey::provider
