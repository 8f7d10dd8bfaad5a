#include "gateway/http/base_url.h"

#include <gtest/gtest.h>

#include "common/encoding.h"

namespace latchkey::gateway {
namespace {

TEST(BaseUrlTest, ParsesSchemeHostPortAndPath) {
  auto url = ParseBaseUrl("https://api.example.com/v2/");
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "api.example.com");
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->path, "/v2");
  EXPECT_EQ(url->host_header, "api.example.com");
  EXPECT_EQ(url->origin, "https://api.example.com:443");
  auto local = ParseBaseUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(local.ok());
  EXPECT_FALSE(local->tls);
  EXPECT_EQ(local->host_header, "127.0.0.1:8080");
  EXPECT_EQ(local->origin, "http://127.0.0.1:8080");
  auto v6 = ParseBaseUrl("http://[::1]:9000/api");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:9000");
  EXPECT_EQ(v6->origin, "http://[::1]:9000");
  EXPECT_FALSE(ParseBaseUrl("ftp://x").ok());
  EXPECT_FALSE(ParseBaseUrl("https://user@host/").ok());
  EXPECT_FALSE(ParseBaseUrl("https://host:port/").ok());
  EXPECT_FALSE(ParseBaseUrl("https://host/?q=1").ok());
}

TEST(BaseUrlTest, AHostWithABytePastTheHostCharactersIsRefused) {
  // Found by url_fuzz: NULs inside the host reached host_header.
  for (const std::string& url :
       {std::string("https://ACME.My.Sal") + std::string(2, '\0') + "esforce.com/x",
        std::string("https://a b.com"), std::string("https://a%2eb.com"), std::string("https://a\x7f.com"),
        std::string("https://[::1%eth0]:80"), std::string("https://[::g]/")}) {
    auto parsed = ParseBaseUrl(url);
    EXPECT_FALSE(parsed.ok()) << url;
    if (!parsed.ok()) {
      EXPECT_TRUE(IsValidUtf8(parsed.status().message()));
    }
  }
  EXPECT_TRUE(ParseBaseUrl("https://my-org_1.example.com").ok());
}

TEST(BaseUrlTest, TheSchemeIsTakenInAnyCaseAsTheUrlPatternsTakeIt) {
  // Found by url_fuzz: "httpS://api.example.com:8443/v2" matched the provider's pattern
  // but the proxy refused it.
  auto url = ParseBaseUrl("httpS://api.example.com:8443/v2/users");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->origin, "https://api.example.com:8443");
  auto plain = ParseBaseUrl("HTTP://127.0.0.1:8080");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls);
}

}  // namespace
}  // namespace latchkey::gateway
