#include "gateway/proxy/forwarding_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "common/ascii.h"

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
  EXPECT_TRUE(IsStrippedRequestHeader("Proxy-Anything-New", {}));
}

// The proxy decides on the field code a parsed message carries for each field (the name
// only matters for names Beast does not know, Proxy-* ones and those listed in Connection).
TEST(ForwardingRulesTest, TheFieldCodeDecidesAsTheNameWould) {
  namespace http = boost::beast::http;
  const std::vector<std::string> listed = {"x-drop-me", "date"};
  const std::vector<std::string> request_stripped = {"Authorization",
                                                     "COOKIE",
                                                     "Proxy-Authorization",
                                                     "proxy-connection",
                                                     "Proxy-Authenticate",
                                                     "Proxy-New-One",
                                                     "Connection",
                                                     "Keep-Alive",
                                                     "TE",
                                                     "Trailer",
                                                     "Upgrade",
                                                     "Host",
                                                     "Content-Length",
                                                     "Transfer-Encoding",
                                                     "Expect",
                                                     "x-drop-me",
                                                     "Date"};
  const std::vector<std::string> response_stripped = {
      "Connection",       "Keep-Alive",       "TE",
      "Trailer",          "Upgrade",          "Content-Length",
      "Set-Cookie",       "Set-COOKIE",       "Proxy-Authenticate",
      "Proxy-Connection", "Transfer-Encoding"};
  const std::vector<std::string> kept_both_ways = {"Accept",      "Content-Type",     "X-Custom",
                                                   "Retry-After", "WWW-Authenticate", "ETag"};
  for (const std::string& name : request_stripped) {
    EXPECT_TRUE(IsStrippedRequestHeader(http::string_to_field(name), name, listed)) << name;
  }
  for (const std::string& name : response_stripped) {
    EXPECT_TRUE(IsStrippedResponseHeader(http::string_to_field(name), name)) << name;
  }
  for (const std::string& name : kept_both_ways) {
    EXPECT_FALSE(IsStrippedRequestHeader(http::string_to_field(name), name, listed)) << name;
    EXPECT_FALSE(IsStrippedResponseHeader(http::string_to_field(name), name)) << name;
  }
  EXPECT_FALSE(IsStrippedResponseHeader(http::field::unknown, "X-Custom"));
  EXPECT_FALSE(IsStrippedResponseHeader(http::field::date, "Date"));
}

// Many APIs (Google's among them) take X-HTTP-Method-Override: POST with it set to DELETE
// deletes. Forwarded, it would let a rule allowing GET,POST send any method.
TEST(ForwardingRulesTest, MethodOverrideHeadersStayBehind) {
  namespace http = boost::beast::http;
  for (std::string_view name :
       {"X-HTTP-Method-Override", "x-http-method-override", "X-HTTP-Method", "X-Method-Override"}) {
    EXPECT_TRUE(IsMethodOverrideHeader(name)) << name;
    EXPECT_TRUE(IsStrippedRequestHeader(http::string_to_field(name), name, {})) << name;
  }
  for (std::string_view name : {"X-HTTP-Method-Overrides", "X-Method", "X-HTTP"}) {
    EXPECT_FALSE(IsMethodOverrideHeader(name)) << name;
  }
}

// An upstream's own Latchkey-Error would pass for latchkey's problem (and its
// reconsent_url for latchkey's link): the prefix is latchkey's alone.
TEST(ForwardingRulesTest, TheUpstreamsLatchkeyHeadersNeverComeBack) {
  for (std::string_view name : {"Latchkey-Error", "latchkey-refreshed", "LATCHKEY-ANYTHING"}) {
    EXPECT_TRUE(IsStrippedResponseHeader(name)) << name;
  }
  EXPECT_FALSE(IsStrippedResponseHeader("X-Latchkey-Error"));
  EXPECT_FALSE(IsStrippedResponseHeader("Latchkey"));
}

TEST(ForwardingRulesTest, ConnectionHeaderNamesAreCollected) {
  Request request;
  request.insert(boost::beast::http::field::connection, "keep-alive, X-Drop-Me ,X-Other");
  EXPECT_EQ(ConnectionListed(request), (std::vector<std::string>{"keep-alive", "x-drop-me", "x-other"}));
}

// The overload by name alone (the hot path's, for a plain answer's field lines) gives the
// verdict of the one by Beast's field code, for every name Beast knows, in any case.
TEST(ForwardingRulesTest, TheResponseRuleByNameAgreesWithTheRuleByFieldCode) {
  namespace http = boost::beast::http;
  for (int code = 1; code <= static_cast<int>(http::field::xref); ++code) {
    const auto field = static_cast<http::field>(code);
    const std::string name(http::to_string(field));
    const bool stripped = IsStrippedResponseHeader(field, name);
    EXPECT_EQ(IsStrippedResponseHeader(name), stripped) << name;
    EXPECT_EQ(IsStrippedResponseHeader(AsciiUpper(name)), stripped) << name;
    EXPECT_EQ(IsStrippedResponseHeader(AsciiLower(name)), stripped) << name;
  }
  for (std::string_view name : {"latchkey-", "Latchkey-x", "X-Unknown", "", "t", "connectionx"}) {
    EXPECT_EQ(IsStrippedResponseHeader(name), IsStrippedResponseHeader(http::field::unknown, name)) << name;
  }
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
