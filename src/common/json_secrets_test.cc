#include "common/json_secrets.h"

#include <gtest/gtest.h>

namespace latchkey {
namespace {

TEST(JsonSecretsTest, WipeJsonEmptiesEveryString) {
  auto doc = nlohmann::json::parse(R"({"a":"secret","b":{"c":["x","y"],"n":1}})");
  WipeJson(doc);
  EXPECT_EQ(doc["a"], "");
  EXPECT_EQ(doc["b"]["c"][0], "");
  EXPECT_EQ(doc["b"]["c"][1], "");
  EXPECT_EQ(doc["b"]["n"], 1);
}

TEST(JsonSecretsTest, FindJsonPathWalksObjectsOnly) {
  auto doc = nlohmann::json::parse(R"({"team":{"name":"Acme"},"list":[1]})");
  ASSERT_NE(FindJsonPath(doc, "team.name"), nullptr);
  EXPECT_EQ(*FindJsonPath(doc, "team.name"), "Acme");
  EXPECT_EQ(FindJsonPath(doc, "team.id"), nullptr);
  EXPECT_EQ(FindJsonPath(doc, "list.0"), nullptr);
  EXPECT_EQ(FindJsonPath(doc, ""), &doc);
}

}  // namespace
}  // namespace latchkey
