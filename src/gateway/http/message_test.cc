#include "gateway/http/message.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey::gateway {
namespace {

TEST(BearerCredentialTest, TheSchemeInAnyCaseThenSpacesThenTheToken) {
  struct Case {
    std::string_view authorization;
    std::optional<std::string_view> credential;
  };
  const Case cases[] = {
      {"Bearer lk_abc_def", "lk_abc_def"},
      {"bearer lk_abc_def", "lk_abc_def"},  // RFC 9110 §11.1: the scheme is case-insensitive
      {"BEARER lk_abc_def", "lk_abc_def"},
      {"Bearer   lk_abc_def", "lk_abc_def"},  // 1*SP
      {"Bearer ", ""},                        // the scheme without a token: an empty one
      {"Bearer", ""},
      {"", std::nullopt},
      {"Basic dXNlcjpwYXNz", std::nullopt},
      {"Bearerlk_abc_def", std::nullopt},  // another scheme, not Bearer
      {"Bearer\tlk_abc_def", std::nullopt},
      {" Bearer lk_abc_def", std::nullopt},
      {"Bear lk_abc_def", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(BearerCredential(c.authorization), c.credential) << "'" << c.authorization << "'";
  }
}

TEST(FieldLinesTest, FieldsComeBackInOrderAndAreFoundByAnyCase) {
  FieldLines lines;
  lines.Append("Content-Type", "text/plain");
  lines.Append("X-Trace", "a: b");  // ": " inside a value is the value's
  lines.Append("x-trace", "second");
  lines.Append("X-Empty", "");
  EXPECT_EQ(lines.text(), "Content-Type: text/plain\r\nX-Trace: a: b\r\nx-trace: second\r\nX-Empty: \r\n");
  std::vector<std::string> seen;
  lines.ForEach([&](std::string_view name, std::string_view value) {
    seen.push_back(std::string(name) + "=" + std::string(value));
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"Content-Type=text/plain", "X-Trace=a: b", "x-trace=second",
                                            "X-Empty="}));
  EXPECT_EQ(lines.Find("X-TRACE"), "a: b") << "the first of the name";
  EXPECT_EQ(lines.Find("content-type"), "text/plain");
  EXPECT_EQ(lines.Find("X-Missing"), "");
  EXPECT_EQ(lines.Find("Content"), "") << "a whole name, not a prefix";
}

TEST(ResponseMessageTest, FieldAndForEachFieldSeeBeastsFieldsThenTheLines) {
  ResponseMessage response(boost::beast::http::status::ok, 11);
  response.set(boost::beast::http::field::content_type, "application/json");
  response.lines.Append("Content-Type", "text/plain");
  response.lines.Append("Retry-After", "5");
  EXPECT_EQ(response.Field(boost::beast::http::field::content_type), "application/json");
  EXPECT_EQ(response.Field(boost::beast::http::field::retry_after), "5");
  EXPECT_EQ(response.Field("retry-after"), "5");
  EXPECT_EQ(response.Field(boost::beast::http::field::www_authenticate), "");
  std::vector<std::string> names;
  response.ForEachField([&](std::string_view name, std::string_view) { names.emplace_back(name); });
  EXPECT_EQ(names, (std::vector<std::string>{"Content-Type", "Content-Type", "Retry-After"}));
}

}  // namespace
}  // namespace latchkey::gateway
