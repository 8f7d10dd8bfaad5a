#include "oauth/url_policy.h"

#include <gtest/gtest.h>

namespace latchkey::oauth {
namespace {

TEST(UrlPolicyTest, HttpsAnywhereOrPlainHttpToLoopbackOnly) {
  EXPECT_TRUE(IsAllowedEndpointUrl("https://id.example.com/token"));
  EXPECT_TRUE(IsAllowedEndpointUrl("http://127.0.0.1:9000/token"));
  EXPECT_TRUE(IsAllowedEndpointUrl("http://[::1]:9000/token"));
  EXPECT_FALSE(IsAllowedEndpointUrl("http://id.example.com/token"));
  EXPECT_FALSE(IsAllowedEndpointUrl("ftp://id.example.com/token"));
  EXPECT_FALSE(IsAllowedEndpointUrl("https://"));
  EXPECT_FALSE(IsAllowedEndpointUrl("https://id.example.com/a b"));
}

TEST(UrlPolicyTest, TheSchemeIsTakenInAnyCaseAsTheProviderChecksTakeIt) {
  // Found by url_fuzz: the provider entry's check took "httpS://" and this one refused it.
  EXPECT_TRUE(IsAllowedEndpointUrl("HTTPS://id.example.com/token"));
  EXPECT_TRUE(IsAllowedEndpointUrl("Http://localhost:9000/token"));
  EXPECT_FALSE(IsAllowedEndpointUrl("HTTP://id.example.com/token"));
}

TEST(UrlPolicyTest, UserInfoIsRefusedAsLibcurlWouldSendItAsCredentials) {
  // A discovery document or token response naming "https://u:p@as.example/token" passed
  // (the host check dropped the user info) and libcurl then sent u:p as Basic credentials.
  EXPECT_FALSE(IsAllowedEndpointUrl("https://u:p@id.example.com/token"));
  EXPECT_FALSE(IsAllowedEndpointUrl("https://id.example.com@evil.example/token"));
  EXPECT_FALSE(IsAllowedEndpointUrl("http://evil.example@127.0.0.1/token"));
  EXPECT_FALSE(IsAllowedEndpointUrl("https://id.example.com/token#x"));
}

}  // namespace
}  // namespace latchkey::oauth
