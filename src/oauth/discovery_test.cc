#include "oauth/discovery.h"

#include <gtest/gtest.h>

#include "oauth/fake_http_client.h"

namespace latchkey::oauth {
namespace {

std::string Metadata(const std::string& issuer, const std::string& extra = "") {
  return R"({"issuer":")" + issuer + R"(","authorization_endpoint":")" + issuer + R"(/authorize",
    "token_endpoint":")" +
         issuer + R"(/token","revocation_endpoint":")" + issuer + R"(/revoke",
    "device_authorization_endpoint":")" +
         issuer + R"(/device","userinfo_endpoint":")" + issuer +
         R"(/userinfo","code_challenge_methods_supported":["S256"])" + extra + "}";
}

TEST(DiscoveryUrlsTest, PathAwareForTenantIssuers) {
  auto urls = DiscoveryUrls("https://id.example.com/tenant1");
  ASSERT_TRUE(urls.ok());
  EXPECT_EQ(*urls, (std::vector<std::string>{
                       "https://id.example.com/.well-known/oauth-authorization-server/tenant1",
                       "https://id.example.com/.well-known/openid-configuration/tenant1",
                       "https://id.example.com/tenant1/.well-known/openid-configuration",
                   }));
}

TEST(DiscoveryUrlsTest, RootIssuer) {
  auto urls = DiscoveryUrls("https://id.example.com/");
  ASSERT_TRUE(urls.ok());
  EXPECT_EQ(*urls, (std::vector<std::string>{
                       "https://id.example.com/.well-known/oauth-authorization-server",
                       "https://id.example.com/.well-known/openid-configuration",
                   }));
}

TEST(DiscoveryUrlsTest, RefusesPlainHttpExceptLoopbackAndQueries) {
  EXPECT_EQ(DiscoveryUrls("http://id.example.com").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DiscoveryUrls("https://id.example.com?x=1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DiscoveryUrls("ftp://id.example.com").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(DiscoveryUrls("http://127.0.0.1:8080/realms/x").ok());
  EXPECT_TRUE(DiscoveryUrls("http://localhost:8080").ok());
  EXPECT_EQ(DiscoveryUrls("https://u:p@id.example.com").status().code(), StatusCode::kInvalidArgument);
}

TEST(DiscoveryUrlsTest, TheIssuersOriginIsNormalizedAndItsPathKept) {
  auto urls = DiscoveryUrls("HTTPS://ID.example.com:443/Tenant%201/");
  ASSERT_TRUE(urls.ok()) << urls.status().ToString();
  EXPECT_EQ(urls->front(), "https://id.example.com/.well-known/oauth-authorization-server/Tenant%201");
  auto local = DiscoveryUrls("http://[::1]:8080/realms/x");
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(local->front(), "http://[::1]:8080/.well-known/oauth-authorization-server/realms/x");
}

TEST(MetadataDiscoveryTest, FindsRfc8414DocumentFirst) {
  FakeHttpClient http;
  http.Respond("https://id.example.com/.well-known/oauth-authorization-server/t1", 200,
               Metadata("https://id.example.com/t1"));
  auto metadata = MetadataDiscovery(http).Discover("https://id.example.com/t1");
  ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
  EXPECT_EQ(metadata->token_endpoint, "https://id.example.com/t1/token");
  EXPECT_EQ(metadata->authorization_endpoint, "https://id.example.com/t1/authorize");
  EXPECT_EQ(metadata->revocation_endpoint, "https://id.example.com/t1/revoke");
  EXPECT_EQ(metadata->device_authorization_endpoint, "https://id.example.com/t1/device");
  EXPECT_EQ(metadata->userinfo_endpoint, "https://id.example.com/t1/userinfo");
  EXPECT_EQ(metadata->code_challenge_methods_supported, std::vector<std::string>{"S256"});
  EXPECT_EQ(http.request_count(), 1u);
  EXPECT_EQ(http.last_request().method, "GET");
}

TEST(MetadataDiscoveryTest, FallsBackToOidcAppendedPath) {
  FakeHttpClient http;
  http.Respond("https://id.example.com/.well-known/oauth-authorization-server/t1", 404, "not found",
               "text/plain");
  // Single-page apps answer 200 with HTML for any path: not metadata, keep looking.
  http.Respond("https://id.example.com/.well-known/openid-configuration/t1", 200, "<html></html>",
               "text/html");
  http.Respond("https://id.example.com/t1/.well-known/openid-configuration", 200,
               Metadata("https://id.example.com/t1"));
  auto metadata = MetadataDiscovery(http).Discover("https://id.example.com/t1");
  ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
  EXPECT_EQ(metadata->document_url, "https://id.example.com/t1/.well-known/openid-configuration");
  EXPECT_EQ(http.request_count(), 3u);
}

TEST(MetadataDiscoveryTest, IssuerMismatchIsRefused) {
  FakeHttpClient http;
  http.Respond("https://id.example.com/.well-known/oauth-authorization-server/t1", 200,
               Metadata("https://evil.example.com/t1"));
  auto metadata = MetadataDiscovery(http).Discover("https://id.example.com/t1");
  EXPECT_EQ(metadata.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(http.request_count(), 1u);  // a mismatch is not a reason to try elsewhere
}

TEST(MetadataDiscoveryTest, TrailingSlashOnIssuerIsTolerated) {
  FakeHttpClient http;
  http.Respond("https://id.example.com/.well-known/oauth-authorization-server", 200,
               Metadata("https://id.example.com"));
  EXPECT_TRUE(MetadataDiscovery(http).Discover("https://id.example.com/").ok());
}

TEST(MetadataDiscoveryTest, PlainHttpEndpointIsRefused) {
  FakeHttpClient http;
  http.Respond("https://id.example.com/.well-known/oauth-authorization-server", 200,
               R"({"issuer":"https://id.example.com","token_endpoint":"http://id.example.com/token"})");
  EXPECT_EQ(MetadataDiscovery(http).Discover("https://id.example.com").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(MetadataDiscoveryTest, AnEndpointWithUserInfoIsRefused) {
  FakeHttpClient http;
  http.Respond("https://id.example.com/.well-known/oauth-authorization-server", 200,
               R"({"issuer":"https://id.example.com","token_endpoint":"https://u:p@id.example.com/token"})");
  EXPECT_EQ(MetadataDiscovery(http).Discover("https://id.example.com").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(MetadataDiscoveryTest, ServerErrorsStopAndNothingFoundIsNotFound) {
  FakeHttpClient http;
  http.Respond("https://id.example.com/.well-known/oauth-authorization-server", 503, "", "");
  EXPECT_EQ(MetadataDiscovery(http).Discover("https://id.example.com").status().code(),
            StatusCode::kUnavailable);

  FakeHttpClient missing;
  missing.Respond("https://id.example.com/.well-known/oauth-authorization-server", 404, "", "");
  missing.Respond("https://id.example.com/.well-known/openid-configuration", 404, "", "");
  EXPECT_EQ(MetadataDiscovery(missing).Discover("https://id.example.com").status().code(),
            StatusCode::kNotFound);
}

TEST(MetadataDiscoveryTest, NetworkFailurePropagates) {
  FakeHttpClient http;
  http.Fail("https://id.example.com/.well-known/oauth-authorization-server",
            DeadlineExceededError("id.example.com did not answer within 30000 ms"));
  EXPECT_EQ(MetadataDiscovery(http).Discover("https://id.example.com").status().code(),
            StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace latchkey::oauth
