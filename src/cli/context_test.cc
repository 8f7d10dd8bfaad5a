// latchkey.toml as cli::ParseConfig reads it.
#include "cli/context.h"

#include <gtest/gtest.h>

#include <string>

namespace latchkey::cli {
namespace {

// A [gateway] setting takes a positive integer. A float there is refused as such; reading
// 8.9e96 through toml++'s integer conversion was undefined behaviour (found by config_fuzz).
TEST(ConfigTest, AGatewaySettingThatIsAFloatIsRefusedWithoutConvertingIt) {
  for (const std::string value : {"8.9e96", "2.5", "-1.0e300", "nan", "inf"}) {
    SCOPED_TRACE(value);
    StatusOr<Config> config = ParseConfig("[gateway]\nmax_connections = " + value + "\n", "latchkey.toml");
    ASSERT_FALSE(config.ok());
    EXPECT_NE(config.status().message().find("takes a positive integer"), std::string::npos)
        << config.status().ToString();
  }
  StatusOr<Config> config = ParseConfig("[gateway]\nmax_connections = 64\n", "latchkey.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
}

}  // namespace
}  // namespace latchkey::cli
