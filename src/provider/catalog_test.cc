#include "provider/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace latchkey::provider {
namespace {

ProviderDefinition Definition(std::string name, std::string source, std::string api_base_url) {
  ProviderDefinition d;
  d.name = std::move(name);
  d.display_name = d.name;
  d.auth = AuthKind::kBasic;
  d.api_base_url = std::move(api_base_url);
  d.source = std::move(source);
  return d;
}

TEST(CatalogTest, LaterEntryOverridesEarlierOfSameName) {
  Catalog catalog;
  catalog.Add(Definition("acme", "built-in", "https://old.example"));
  catalog.Add(Definition("zeta", "built-in", "https://zeta.example"));
  catalog.Add(Definition("acme", "store", "https://new.example"));

  auto acme = catalog.Get("acme");
  ASSERT_TRUE(acme.ok()) << acme.status().ToString();
  EXPECT_EQ(acme->source, "store");
  EXPECT_EQ(acme->api_base_url, "https://new.example");
  EXPECT_EQ(catalog.List().size(), 2u);
}

TEST(CatalogTest, ListIsOrderedByName) {
  Catalog catalog;
  for (std::string name : {"zoom", "asana", "github"})
    catalog.Add(Definition(name, "built-in", "https://x.example"));
  std::vector<std::string> names;
  for (const ProviderDefinition& d : catalog.List()) names.push_back(d.name);
  EXPECT_EQ(names, (std::vector<std::string>{"asana", "github", "zoom"}));
}

TEST(CatalogTest, UnknownNameSaysHowToListKnownOnes) {
  Catalog catalog;
  catalog.Add(Definition("acme", "built-in", "https://x.example"));
  auto missing = catalog.Get("acne");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "unknown provider 'acne' (run `latchkey provider list` to see the known ones)");
}

TEST(CatalogTest, BuiltinsLoadIntoCatalog) {
  auto builtins = LoadBuiltinProviders();
  ASSERT_TRUE(builtins.ok()) << builtins.status().ToString();
  Catalog catalog;
  for (ProviderDefinition& d : *builtins) catalog.Add(std::move(d));
  auto google = catalog.Get("google");
  ASSERT_TRUE(google.ok());
  EXPECT_EQ(google->source, "built-in");
}

}  // namespace
}  // namespace latchkey::provider
