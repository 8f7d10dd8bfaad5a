#include "gateway/proxy/route_cache.h"

#include <gtest/gtest.h>

namespace latchkey::gateway {
namespace {

// Time for the cache, moved by the tests.
class RouteCacheTest : public ::testing::Test {
 protected:
  SimulatedClock clock_{FromUnixMillis(1800000000000)};
  SimulatedSteadyClock steady_;
};

std::shared_ptr<const RouteEntry> Route(const std::string& name) {
  auto entry = std::make_shared<RouteEntry>();
  entry->connection.name = name;
  entry->credential.value = SecretString(std::string("Bearer t-") + name);
  return entry;
}

TEST_F(RouteCacheTest, EntriesLiveForTheTtlAndCanBeForgotten) {
  RouteCache cache(clock_, steady_, std::chrono::milliseconds(200));
  cache.PutRoute(Route("work"), std::nullopt);
  ASSERT_NE(cache.FindRoute("work"), nullptr);
  EXPECT_EQ(cache.FindRoute("work")->credential.value.reveal(), "Bearer t-work");
  EXPECT_EQ(cache.FindRoute("other"), nullptr);
  cache.ForgetRoute("work");
  EXPECT_EQ(cache.FindRoute("work"), nullptr);
  cache.PutRoute(Route("work"), std::nullopt);
  steady_.Advance(std::chrono::milliseconds(199));
  EXPECT_NE(cache.FindRoute("work"), nullptr) << "fresh until its TTL";
  steady_.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(cache.FindRoute("work"), nullptr) << "expired";
}

TEST_F(RouteCacheTest, TokensNearTheirExpiryAreNotCached) {
  RouteCache cache(clock_, steady_, std::chrono::milliseconds(1000));
  cache.PutRoute(Route("short"), clock_.Now() + std::chrono::seconds(30));
  EXPECT_EQ(cache.FindRoute("short"), nullptr);
  cache.PutRoute(Route("long"), clock_.Now() + std::chrono::hours(1));
  EXPECT_NE(cache.FindRoute("long"), nullptr);
}

TEST_F(RouteCacheTest, AgentsAreKeyedByADigestAndClearedAtOnce) {
  RouteCache cache(clock_, steady_);
  const std::string digest = RouteCache::KeyDigest("lk_0123_secret");
  EXPECT_EQ(digest.size(), RouteCache::kKeyDigestBytes);  // raw keyed SipHash bytes
  EXPECT_EQ(digest, RouteCache::KeyDigest("lk_0123_secret"));
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
// stale is asked to refresh it; a Put makes it fresh again, a Forget drops it. The route
// is looked up with the agent, and only when the agent is cached.
TEST_F(RouteCacheTest, AStaleEntryIsServedWhileOneCallerRefreshesIt) {
  constexpr auto kTtl = std::chrono::milliseconds(300);
  RouteCache cache(clock_, steady_, kTtl);
  const std::string digest = RouteCache::KeyDigest("lk_0123_secret");
  vault::AuthenticatedAgent agent;
  agent.record.name = "bot";
  cache.PutRoute(Route("work"), std::nullopt);
  EXPECT_EQ(cache.LookupAgentAndRoute(digest, "work").route.value, nullptr) << "no agent, no route";
  cache.PutAgent(digest, agent);
  auto fresh = cache.LookupAgentAndRoute(digest, "work");
  ASSERT_NE(fresh.agent.value, nullptr);
  ASSERT_NE(fresh.route.value, nullptr);
  EXPECT_FALSE(fresh.agent.refresh);
  EXPECT_FALSE(fresh.route.refresh);
  EXPECT_EQ(cache.LookupAgentAndRoute(digest, "other").route.value, nullptr);

  steady_.Advance(kTtl + std::chrono::milliseconds(100));
  auto stale = cache.LookupAgentAndRoute(digest, "work");
  ASSERT_NE(stale.agent.value, nullptr);
  ASSERT_NE(stale.route.value, nullptr);
  EXPECT_TRUE(stale.agent.refresh) << "the first caller to see it stale refreshes it";
  EXPECT_TRUE(stale.route.refresh);
  auto again = cache.LookupAgentAndRoute(digest, "work");
  ASSERT_NE(again.route.value, nullptr);
  EXPECT_FALSE(again.agent.refresh) << "one refresh at a time";
  EXPECT_FALSE(again.route.refresh);
  EXPECT_EQ(cache.FindRoute("work"), nullptr) << "FindRoute hands out fresh entries only";
  cache.ForgetAgent(digest);
  EXPECT_EQ(cache.LookupAgentAndRoute(digest, "work").agent.value, nullptr);

  cache.PutAgent(digest, agent);  // the refreshes land
  cache.PutRoute(Route("work"), std::nullopt);
  auto renewed = cache.LookupAgentAndRoute(digest, "work");
  ASSERT_NE(renewed.route.value, nullptr);
  EXPECT_FALSE(renewed.route.refresh);

  steady_.Advance(2 * kTtl - std::chrono::milliseconds(1));
  EXPECT_NE(cache.LookupAgentAndRoute(digest, "work").route.value, nullptr) << "stale, still served";
  steady_.Advance(std::chrono::milliseconds(1));
  auto gone = cache.LookupAgentAndRoute(digest, "work");
  EXPECT_EQ(gone.agent.value, nullptr) << "never older than two TTLs";
  EXPECT_EQ(gone.route.value, nullptr);
}

TEST_F(RouteCacheTest, AZeroTtlDisablesCaching) {
  RouteCache cache(clock_, steady_, std::chrono::milliseconds(0));
  cache.PutRoute(Route("work"), std::nullopt);
  EXPECT_EQ(cache.FindRoute("work"), nullptr);
}

}  // namespace
}  // namespace latchkey::gateway
