#include "gateway/proxy/proxy_target.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/encoding.h"

namespace latchkey::gateway {
namespace {

using ::testing::HasSubstr;

TEST(ProxyTargetTest, SplitsConnectionPathAndQuery) {
  auto target = ParseProxyTarget("/proxy/work-gmail/gmail/v1/users/me/messages?q=from%3Abob&maxResults=5");
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  EXPECT_EQ(target->connection, "work-gmail");
  EXPECT_EQ(target->raw_path, "/gmail/v1/users/me/messages");
  EXPECT_EQ(target->decoded_path, "/gmail/v1/users/me/messages");
  EXPECT_EQ(target->raw_query, "q=from%3Abob&maxResults=5");
  EXPECT_EQ(target->redacted, "/gmail/v1/users/me/messages?q=***&maxResults=***");
}

TEST(ProxyTargetTest, KeepsEncodingForwardedAndDecodesForPolicy) {
  auto target = ParseProxyTarget("/proxy/notes/pages/My%20Page/%40me");
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  EXPECT_EQ(target->raw_path, "/pages/My%20Page/%40me");
  EXPECT_EQ(target->decoded_path, "/pages/My Page/@me");
}

// The audit's path is what arrived, so a path decoding to bytes that are not UTF-8 (here
// 0xFF) is still text a store takes; before, PostgreSQL refused the whole audit batch.
TEST(ProxyTargetTest, TheRedactedFormIsThePathAsReceivedInPrintableAscii) {
  auto target = ParseProxyTarget("/proxy/x/%ff/caf%C3%A9?name=%FF&k");
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  EXPECT_EQ(target->decoded_path, "/\xff/caf\xC3\xA9");
  EXPECT_EQ(target->redacted, "/%ff/caf%C3%A9?name=***&k");
  for (char c : target->redacted) EXPECT_TRUE(c > 0x20 && c < 0x7f) << static_cast<int>(c);
}

TEST(ProxyTargetTest, ConnectionAloneMeansTheBaseUrl) {
  auto target = ParseProxyTarget("/proxy/work");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->raw_path, "/");
  auto trailing = ParseProxyTarget("/proxy/work/a/");
  ASSERT_TRUE(trailing.ok());
  EXPECT_EQ(trailing->raw_path, "/a/");
}

class UnsafeTargetTest : public ::testing::TestWithParam<const char*> {};

TEST_P(UnsafeTargetTest, IsRefused) {
  auto target = ParseProxyTarget(GetParam());
  ASSERT_FALSE(target.ok()) << GetParam();
  EXPECT_EQ(target.status().code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(All, UnsafeTargetTest,
                         ::testing::Values("/proxy/work/../x", "/proxy/work/./x", "/proxy/work/x/..",
                                           "/proxy/work/%2e%2e/x", "/proxy/work/%2E./x",
                                           "/proxy/work/%252e%252e/x", "/proxy/work/%252F",
                                           "/proxy/work/a%2fb", "/proxy/work/a%5Cb", "/proxy/work/a\\b",
                                           "/proxy/work/..;jsessionid=1/x", "/proxy/work//x",
                                           "/proxy/work/%00", "/proxy/work/%0d%0a", "/proxy/work/x?a=%0d%0a",
                                           "/proxy/work/x%zz", "/proxy/work/x%4", "/proxy/work/x#f",
                                           "/proxy/work/x y", "/proxy/", "/proxy/Work/x", "/proxy/w@evil/x",
                                           "/proxy/%2e%2e/x", "http://evil/proxy/work/x", "/other/work/x"));

TEST(ProxyTargetTest, RefusalSaysWhy) {
  auto target = ParseProxyTarget("/proxy/work/%2e%2e/admin");
  ASSERT_FALSE(target.ok());
  EXPECT_THAT(target.status().message(), HasSubstr("'..'"));
}

TEST(ProxyTargetTest, RedactsEveryQueryValue) {
  EXPECT_EQ(RedactQuery("a=1&token=secret&flag&b="), "a=***&token=***&flag&b=***");
  EXPECT_EQ(RedactQuery(""), "");
}

}  // namespace
}  // namespace latchkey::gateway
