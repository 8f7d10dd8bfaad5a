#include "gateway/http/message.h"

#include <gtest/gtest.h>

#include <optional>
#include <string_view>

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

}  // namespace
}  // namespace latchkey::gateway
