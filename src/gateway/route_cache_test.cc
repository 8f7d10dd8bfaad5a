#include "gateway/route_cache.h"

#include <gtest/gtest.h>

#include <thread>

namespace latchkey::gateway {
namespace {

std::shared_ptr<const RouteEntry> Route(const std::string& name) {
  auto entry = std::make_shared<RouteEntry>();
  entry->connection.name = name;
  entry->credential = SecretString(std::string("Bearer t-") + name);
  return entry;
}

TEST(RouteCacheTest, EntriesLiveForTheTtlAndCanBeForgotten) {
  RouteCache cache(std::chrono::milliseconds(200));
  cache.PutRoute(Route("work"), std::nullopt);
  ASSERT_NE(cache.FindRoute("work"), nullptr);
  EXPECT_EQ(cache.FindRoute("work")->credential.reveal(), "Bearer t-work");
  EXPECT_EQ(cache.FindRoute("other"), nullptr);
  cache.ForgetRoute("work");
  EXPECT_EQ(cache.FindRoute("work"), nullptr);
  cache.PutRoute(Route("work"), std::nullopt);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(cache.FindRoute("work"), nullptr) << "expired";
}

TEST(RouteCacheTest, TokensNearTheirExpiryAreNotCached) {
  RouteCache cache(std::chrono::milliseconds(1000));
  cache.PutRoute(Route("short"), std::chrono::system_clock::now() + std::chrono::seconds(30));
  EXPECT_EQ(cache.FindRoute("short"), nullptr);
  cache.PutRoute(Route("long"), std::chrono::system_clock::now() + std::chrono::hours(1));
  EXPECT_NE(cache.FindRoute("long"), nullptr);
}

TEST(RouteCacheTest, AgentsAreKeyedByADigestAndClearedAtOnce) {
  RouteCache cache;
  const std::string digest = RouteCache::KeyDigest("lk_0123_secret");
  EXPECT_EQ(digest.find("secret"), std::string::npos);
  EXPECT_NE(digest, RouteCache::KeyDigest("lk_0123_secreT"));
  vault::AuthenticatedAgent agent;
  agent.record.name = "bot";
  cache.PutAgent(digest, agent);
  ASSERT_NE(cache.FindAgent(digest), nullptr);
  EXPECT_EQ(cache.FindAgent(digest)->record.name, "bot");
  cache.Clear();
  EXPECT_EQ(cache.FindAgent(digest), nullptr);
}

TEST(RouteCacheTest, AZeroTtlDisablesCaching) {
  RouteCache cache(std::chrono::milliseconds(0));
  cache.PutRoute(Route("work"), std::nullopt);
  EXPECT_EQ(cache.FindRoute("work"), nullptr);
}

}  // namespace
}  // namespace latchkey::gateway
