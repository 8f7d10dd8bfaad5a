#include "provider/endpoint_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "provider/provider.h"

namespace latchkey::provider {
namespace {

using internal::EndpointUrlProblem;
using ::testing::HasSubstr;

TEST(IsLoopbackHostTest, AcceptsLoopbackNames) {
  for (std::string_view host :
       {"127.0.0.1", "127.255.0.7", "::1", "[::1]", "localhost", "LocalHost", "0:0:0:0:0:0:0:1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
}

TEST(IsLoopbackHostTest, RefusesEverythingElse) {
  for (std::string_view host : {"", "128.0.0.1", "10.0.0.1", "::2", "[::2]", "localhost.evil.example",
                                "127.0.0.1.nip.io", "127.1", "0x7f.0.0.1", "example.com"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(EndpointUrlTest, AcceptsOrdinaryUrls) {
  for (std::string_view url :
       {"https://api.example.com", "https://api.example.com/v1/x?y=1", "HTTPS://Example.COM:8443/",
        "http://127.0.0.1:9000/token", "http://localhost", "http://[::1]:8080/x"}) {
    EXPECT_EQ(EndpointUrlProblem(url), "") << url;
  }
}

TEST(EndpointUrlTest, RefusesUnsafeOrMalformedUrls) {
  struct Case {
    std::string_view url;
    std::string_view problem;
  };
  for (const Case& c : {
           Case{"", "empty"},
           Case{"api.example.com", "absolute https://"},
           Case{"ftp://example.com", "absolute https://"},
           Case{"http://example.com/token", "loopback"},
           Case{"http://10.0.0.1/token", "loopback"},
           Case{"https://user:pw@example.com/", "user info"},
           Case{"https://example.com/x#frag", "fragment"},
           Case{"https://exa mple.com/", "character"},
           Case{"https:///path", "host"},
           Case{"https://example.com:0/", "port"},
           Case{"https://example.com:99999/", "port"},
           Case{"https://example.com:/", "port"},
           Case{"https://[::1/", "IPv6"},
           Case{"https://[zz::1]/", "IPv6"},
           Case{"https://exa%6dple.com/", "host"},
       }) {
    EXPECT_THAT(EndpointUrlProblem(c.url), HasSubstr(std::string(c.problem))) << c.url;
  }
}

TEST(EndpointUrlTest, QueryCanBeRefused) {
  EXPECT_EQ(EndpointUrlProblem("https://api.example.com/?a=1"), "");
  EXPECT_THAT(EndpointUrlProblem("https://api.example.com/?a=1", {.allow_query = false}), HasSubstr("query"));
}

}  // namespace
}  // namespace latchkey::provider
