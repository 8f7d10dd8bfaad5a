#include "common/url.h"

#include <gtest/gtest.h>

namespace latchkey {
namespace {

TEST(UrlTest, PartsAreNormalizedOnce) {
  struct Case {
    std::string_view text;
    std::string_view scheme, host;
    uint16_t port;
    std::string_view origin, authority, path;
  };
  const Case cases[] = {
      {"https://Api.Example.COM", "https", "api.example.com", 443, "https://api.example.com",
       "api.example.com", ""},
      {"HTTPS://api.example.com:443/v1/", "https", "api.example.com", 443, "https://api.example.com",
       "api.example.com", "/v1/"},
      {"http://127.0.0.1:8787/x?y=1", "http", "127.0.0.1", 8787, "http://127.0.0.1:8787", "127.0.0.1:8787",
       "/x"},
      {"http://[::1]:8787", "http", "::1", 8787, "http://[::1]:8787", "[::1]:8787", ""},
      {"https://[0:0:0:0:0:0:0:1]/", "https", "::1", 443, "https://[::1]", "[::1]",
       "/"},  // one IPv6 spelling
      {"http://h:80", "http", "h", 80, "http://h", "h", ""},
      {"https://h:80", "https", "h", 80, "https://h:80", "h:80", ""},
      {"https://h/a%2Fb", "https", "h", 443, "https://h", "h", "/a%2Fb"},  // percent-encoding kept
      {"https://My-Org_1.example~x", "https", "my-org_1.example~x", 443, "https://my-org_1.example~x",
       "my-org_1.example~x", ""},  // every unreserved character a host may hold
  };
  for (const Case& c : cases) {
    StatusOr<Url> url = ParseHttpUrl(c.text);
    ASSERT_TRUE(url.ok()) << c.text << ": " << url.status().ToString();
    EXPECT_EQ(url->scheme, c.scheme) << c.text;
    EXPECT_EQ(url->host, c.host) << c.text;
    EXPECT_EQ(url->port, c.port) << c.text;
    EXPECT_EQ(url->Origin(), c.origin) << c.text;
    EXPECT_EQ(url->Authority(), c.authority) << c.text;
    EXPECT_EQ(url->path, c.path) << c.text;
  }
  StatusOr<Url> with_query = ParseHttpUrl("http://h/x?a=1&b");
  ASSERT_TRUE(with_query.ok());
  EXPECT_TRUE(with_query->has_query);
  EXPECT_EQ(with_query->query, "a=1&b");
}

TEST(UrlTest, HostileFormsAreRefusedWithTheUrlQuoted) {
  for (std::string_view text : {
           "",                             // nothing
           "api.example.com",              // no scheme
           "/relative/path",               // relative
           "ftp://h/",                     // another scheme
           "javascript:alert(1)",          // no authority
           "https://user:pw@h/",           // user info: which host is meant?
           "https://h@evil.example/",      // ... the same trick without a password
           "https://h/#frag",              // fragment
           "https:///path",                // empty host
           "https://h:0/",                 // port 0
           "https://h:99999/",             // port out of range
           "https://h:-1/",                // not a port
           "https://ex%61mple.com/",       // percent-encoded host
           "https://[::1/",                // unclosed bracket
           "https://[v1.x]/",              // IPvFuture
           "https://h/\r\nX-Injected: 1",  // a line break
           "https://h /",                  // a space
           "http://\xC3\xA9xample.com/",   // non-ASCII host
           "i:}",
           "http:{",
           "i:<",
           "i:^",
           "i:|",
           "i:\"",
           "i:`",  // Boost.URL 1.81 asserted on these
           "https://h/a}b",
           "https://h/?q=<x>",
           "hhttttps:[",  // Boost.URL 1.81 asserted on this too (url_fuzz)
           "https:/h",
           "https://h/\\",
           "https://a,b.example/",    // a sub-delimiter in the host
           "https://*.example.com/",  // a wildcard is a pattern, not a host
           "https://a;b/",
           "https://h:443x/",  // Boost.URL 1.81 reads port 443 and path "x/"
       }) {
    StatusOr<Url> url = ParseHttpUrl(text);
    EXPECT_FALSE(url.ok()) << "'" << text << "' parsed";
    if (!url.ok()) {
      EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(url.status().message().find('\n'), std::string::npos) << url.status().message();
    }
  }
}

TEST(UrlTest, OriginsHaveNoPathAndCompareNormalized) {
  StatusOr<Url> origin = ParseOrigin("HTTPS://GW.example:443");
  ASSERT_TRUE(origin.ok());
  StatusOr<Url> configured = ParseHttpUrl("https://gw.example/");
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ(origin->Origin(), configured->Origin());
  EXPECT_FALSE(ParseOrigin("null").ok());
  EXPECT_FALSE(ParseOrigin("https://gw.example/path").ok());
  EXPECT_NE(ParseOrigin("http://gw.example")->Origin(), configured->Origin());        // the scheme counts
  EXPECT_NE(ParseOrigin("https://gw.example:8443")->Origin(), configured->Origin());  // so does the port
}

TEST(UrlTest, HostForUrlBracketsIpv6Only) {
  EXPECT_EQ(HostForUrl("::1"), "[::1]");
  EXPECT_EQ(HostForUrl("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(HostForUrl("localhost"), "localhost");
}

TEST(UrlTest, ListenAddressesAreHostAndPortOnly) {
  struct Case {
    std::string_view text, host;
    uint16_t port;
    std::string_view url;
  };
  for (const Case& c : {Case{"127.0.0.1:8787", "127.0.0.1", 8787, "http://127.0.0.1:8787"},
                        Case{"[::1]:0", "::1", 0, "http://[::1]:0"},
                        Case{"LocalHost:80", "localhost", 80, "http://localhost:80"},
                        Case{"[0:0::1]:9", "::1", 9, "http://[::1]:9"}}) {
    StatusOr<ListenAddress> address = ParseListenAddress(c.text);
    ASSERT_TRUE(address.ok()) << c.text << ": " << address.status().ToString();
    EXPECT_EQ(address->host, c.host) << c.text;
    EXPECT_EQ(address->port, c.port) << c.text;
    EXPECT_EQ(address->HttpUrl(), c.url) << c.text;
  }
  for (std::string_view text : {"", "nowhere", "::1:8787", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                                "u@127.0.0.1:80", "127.0.0.1:80/x", "[::1]", "a,b:80", "127.0.0.1:8o"}) {
    StatusOr<ListenAddress> address = ParseListenAddress(text);
    EXPECT_FALSE(address.ok()) << "'" << text << "' parsed";
    if (!address.ok()) {
      EXPECT_NE(address.status().message().find("listening address"), std::string::npos)
          << address.status().message();
    }
  }
  // Port 0 (any free port) is a listening address's to take, and its refusals say so.
  for (std::string_view text : {"127.0.0.1:65536", "127.0.0.1:8o"}) {
    EXPECT_NE(ParseListenAddress(text).status().message().find("the port is not 0 to 65535"),
              std::string::npos)
        << text << ": " << ParseListenAddress(text).status().message();
  }
}

}  // namespace
}  // namespace latchkey
