#include "gateway/proxy/route_cache.h"

#include <gtest/gtest.h>

#include <thread>

namespace latchkey::gateway {
namespace {

std::shared_ptr<const RouteEntry> Route(const std::string& name) {
  auto entry = std::make_shared<RouteEntry>();
  entry->connection.name = name;
  entry->credential.value = SecretString(std::string("Bearer t-") + name);
  return entry;
}

TEST(RouteCacheTest, EntriesLiveForTheTtlAndCanBeForgotten) {
  RouteCache cache(std::chrono::milliseconds(200));
  cache.PutRoute(Route("work"), std::nullopt);
  ASSERT_NE(cache.FindRoute("work"), nullptr);
  EXPECT_EQ(cache.FindRoute("work")->credential.value.reveal(), "Bearer t-work");
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
  EXPECT_EQ(digest.size(), 32u);  // raw BLAKE2b-256 bytes
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

// Past its TTL an entry is served for one more TTL, and only the first caller to see it
// stale is asked to refresh it; a Put makes it fresh again, a Forget drops it.
TEST(RouteCacheTest, AStaleEntryIsServedWhileOneCallerRefreshesIt) {
  constexpr auto kTtl = std::chrono::milliseconds(300);
  RouteCache cache(kTtl);
  const std::string digest = RouteCache::KeyDigest("lk_0123_secret");
  vault::AuthenticatedAgent agent;
  agent.record.name = "bot";
  const auto put_at = std::chrono::steady_clock::now();
  cache.PutRoute(Route("work"), std::nullopt);
  cache.PutAgent(digest, agent);
  auto fresh = cache.LookupRoute("work");
  ASSERT_NE(fresh.value, nullptr);
  EXPECT_FALSE(fresh.refresh);
  EXPECT_EQ(cache.LookupRoute("other").value, nullptr);

  std::this_thread::sleep_for(kTtl + std::chrono::milliseconds(100));
  if (std::chrono::steady_clock::now() - put_at >= 2 * kTtl) GTEST_SKIP() << "the machine slept too long";
  auto stale = cache.LookupRoute("work");
  ASSERT_NE(stale.value, nullptr);
  EXPECT_TRUE(stale.refresh) << "the first caller to see it stale refreshes it";
  auto again = cache.LookupRoute("work");
  ASSERT_NE(again.value, nullptr);
  EXPECT_FALSE(again.refresh) << "one refresh at a time";
  EXPECT_EQ(cache.FindRoute("work"), nullptr) << "FindRoute hands out fresh entries only";
  auto stale_agent = cache.LookupAgent(digest);
  ASSERT_NE(stale_agent.value, nullptr);
  EXPECT_TRUE(stale_agent.refresh);
  cache.ForgetAgent(digest);
  EXPECT_EQ(cache.LookupAgent(digest).value, nullptr);

  cache.PutRoute(Route("work"), std::nullopt);  // the refresh lands
  auto renewed = cache.LookupRoute("work");
  ASSERT_NE(renewed.value, nullptr);
  EXPECT_FALSE(renewed.refresh);

  std::this_thread::sleep_for(2 * kTtl + std::chrono::milliseconds(50));
  EXPECT_EQ(cache.LookupRoute("work").value, nullptr) << "never older than two TTLs";
}

TEST(RouteCacheTest, AZeroTtlDisablesCaching) {
  RouteCache cache(std::chrono::milliseconds(0));
  cache.PutRoute(Route("work"), std::nullopt);
  EXPECT_EQ(cache.FindRoute("work"), nullptr);
}

}  // namespace
}  // namespace latchkey::gateway
