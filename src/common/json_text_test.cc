#include "common/json_text.h"

#include <gtest/gtest.h>

namespace latchkey {
namespace {

TEST(DumpJsonTest, TextThatIsNotUtf8IsReplacedNotThrown) {
  const nlohmann::json value = {{"host", "ev\xa8il"}, {"n", 1}};
  EXPECT_THROW((void)value.dump(), nlohmann::json::type_error) << "what DumpJson is for";
  EXPECT_EQ(DumpJson(value), "{\"host\":\"ev\xef\xbf\xbdil\",\"n\":1}");
}

}  // namespace
}  // namespace latchkey
