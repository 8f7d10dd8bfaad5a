#include "gateway/forwarding_rules.h"

#include <gtest/gtest.h>

namespace latchkey::gateway {
namespace {

TEST(ForwardingRulesTest, CredentialsCookiesProxyAndHopByHopHeadersStayBehind) {
  for (const char* name :
       {"Authorization", "COOKIE", "Proxy-Authorization", "proxy-connection", "Connection", "Keep-Alive",
        "TE", "Trailer", "Upgrade", "Host", "Content-Length", "Transfer-Encoding", "Expect"}) {
    EXPECT_TRUE(IsStrippedRequestHeader(name, {})) << name;
  }
  for (const char* name : {"Accept", "Content-Type", "X-Custom", "User-Agent", "If-None-Match"}) {
    EXPECT_FALSE(IsStrippedRequestHeader(name, {})) << name;
  }
  EXPECT_TRUE(IsStrippedRequestHeader("X-Drop-Me", {"x-drop-me"}));
}

TEST(ForwardingRulesTest, ConnectionHeaderNamesAreCollected) {
  Request request;
  request.insert(boost::beast::http::field::connection, "keep-alive, X-Drop-Me ,X-Other");
  EXPECT_EQ(ConnectionListed(request), (std::vector<std::string>{"keep-alive", "x-drop-me", "x-other"}));
}

TEST(ForwardingRulesTest, ResponseLosesHopByHopHeadersAndCookies) {
  EXPECT_TRUE(IsStrippedResponseHeader("Set-Cookie"));
  EXPECT_TRUE(IsStrippedResponseHeader("transfer-encoding"));
  EXPECT_FALSE(IsStrippedResponseHeader("Content-Type"));
  EXPECT_FALSE(IsStrippedResponseHeader("Retry-After"));
}

TEST(ForwardingRulesTest, InjectedQueryParameterCannotBeSuppliedByTheAgent) {
  EXPECT_EQ(WithoutQueryParam("a=1&api_key=mine&b=2", "api_key"), "a=1&b=2");
  EXPECT_EQ(WithoutQueryParam("api_key", "api_key"), "");
  EXPECT_EQ(WithoutQueryParam("api_keys=1", "api_key"), "api_keys=1");
  EXPECT_EQ(WithoutQueryParam("", "api_key"), "");
}

}  // namespace
}  // namespace latchkey::gateway
