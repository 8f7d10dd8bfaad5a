#include "vault/mcp_client_documents.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "oauth/fake_http_client.h"
#include "store/sqlite_store.h"
#include "support/temp_dir.h"
#include "vault/mcp_client_metadata.h"

namespace latchkey::vault {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kUrl[] = "https://client.example/oauth/metadata.json";

std::string Document(const std::string& url = kUrl, const std::string& name = "Claude") {
  return R"({"client_id":")" + url + R"(","client_name":")" + name +
         R"(","redirect_uris":["https://client.example/cb"]})";
}

// What each request was sent with (FakeHttpClient keeps its HttpLimits to itself).
class LimitsRecorder final : public oauth::HttpClient {
 public:
  explicit LimitsRecorder(oauth::HttpClient& next) : next_(next) {}
  StatusOr<oauth::HttpResponse> Send(const oauth::HttpRequest& request,
                                     const oauth::HttpLimits& limits) override {
    {
      std::lock_guard lock(mu_);
      limits_.push_back(limits);
    }
    return next_.Send(request, limits);
  }
  std::vector<oauth::HttpLimits> limits() const {
    std::lock_guard lock(mu_);
    return limits_;
  }

 private:
  oauth::HttpClient& next_;
  mutable std::mutex mu_;
  std::vector<oauth::HttpLimits> limits_;
};

class ClientDocumentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::OpenSqliteStore({.path = (dir_.path() / "latchkey.db").string()}, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = *opened;
  }

  ClientDocuments Documents(ClientDocumentOptions options = {}) {
    return ClientDocuments(*store_, recorder_, clock_, std::move(options));
  }

  void RespondWithDocument(const std::string& cache_control, const std::string& url = kUrl,
                           const std::string& name = "Claude") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!cache_control.empty()) headers.emplace_back("cache-control", cache_control);
    http_.Respond(url, 200, Document(url, name), "application/json", headers);
  }

  testing::ScopedTempDir dir_;
  SimulatedClock clock_{FromUnixMillis(1'800'000'000'000)};
  std::shared_ptr<store::Store> store_;
  oauth::FakeHttpClient http_;
  LimitsRecorder recorder_{http_};
};

TEST(ClientDocumentUrlTest, OnlyPlainHttpsUrlsWithAPathName) {
  const std::string at_limit = "https://client.example/" + std::string(2000 - 23, 'a');
  ASSERT_EQ(at_limit.size(), 2000U);
  for (const std::string& good :
       {std::string(kUrl), std::string("https://client.example/a"), std::string("https://client.example/a/"),
        std::string("https://client.example:8443/m.json"), std::string("https://[2001:db8::1]/m.json"),
        std::string("https://client.example/.well-known/client"), std::string("https://client.example/a..b"),
        std::string("https://client.example/.../m"), std::string("https://client.example/a//b"), at_limit}) {
    EXPECT_TRUE(IsClientDocumentUrl(good)) << good;
  }
  for (const std::string& bad : {
           std::string(""),
           std::string("lkc_0123456789"),
           std::string("http://client.example/m.json"),
           std::string("HTTPS://client.example/m.json"),
           std::string("ftp://client.example/m.json"),
           std::string("https://client.example"),
           std::string("https://client.example/"),
           std::string("https:///m.json"),
           std::string("https://user@client.example/m.json"),
           std::string("https://user:pw@client.example/m.json"),
           std::string("https://client.example/m.json#x"),
           std::string("https://client.example/m.json#"),
           std::string("https://client.example/m.json?v=1"),
           std::string("https://client.example/m.json?"),
           std::string("https://client.example/./m.json"),
           std::string("https://client.example/a/../m.json"),
           std::string("https://client.example/a/."),
           std::string("https://client.example/a/.."),
           std::string("https://client.example/%2e%2e/m.json"),
           std::string("https://client.example/a/%2E"),
           std::string("https://client.example/.%2e/m.json"),
           std::string("https://client.example/a b"),
           std::string("https://client.example:0/m.json"),
           at_limit + "a",
       }) {
    EXPECT_FALSE(IsClientDocumentUrl(bad)) << bad;
  }
}

TEST_F(ClientDocumentsTest, FetchesTheDocumentAndStoresIt) {
  RespondWithDocument("max-age=600");
  auto client = Documents().Get(kUrl);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ(client->client_id, kUrl);
  EXPECT_TRUE(client->metadata_document);
  EXPECT_EQ(client->name, "Claude");
  EXPECT_EQ(client->redirect_uris, std::vector<std::string>{"https://client.example/cb"});
  EXPECT_EQ(client->token_endpoint_auth_method, "none");
  EXPECT_EQ(client->document_expires_at, clock_.Now() + seconds(600));
  EXPECT_EQ(client->created_at, clock_.Now());
  EXPECT_EQ(client->updated_at, clock_.Now());

  auto stored = store_->GetMcpClient(kUrl);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, *client);

  const oauth::HttpRequest request = http_.last_request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.url, kUrl);
  EXPECT_EQ(request.headers,
            (std::vector<std::pair<std::string, std::string>>{{"Accept", "application/json"}}));
  EXPECT_TRUE(request.authorization.empty());
}

TEST_F(ClientDocumentsTest, TheStoredDocumentServesUntilItExpiresThenIsFetchedAgain) {
  RespondWithDocument("max-age=600");
  RespondWithDocument("max-age=600", kUrl, "Claude Desktop");
  ClientDocuments documents = Documents();
  const TimePoint first = clock_.Now();
  ASSERT_TRUE(documents.Get(kUrl).ok());

  clock_.Advance(seconds(599));
  auto cached = documents.Get(kUrl);
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  EXPECT_EQ(cached->name, "Claude");
  EXPECT_EQ(http_.request_count(), 1U);

  clock_.Advance(seconds(1));
  auto refetched = documents.Get(kUrl);
  ASSERT_TRUE(refetched.ok()) << refetched.status().ToString();
  EXPECT_EQ(http_.request_count(), 2U);
  EXPECT_EQ(refetched->name, "Claude Desktop");
  EXPECT_EQ(refetched->created_at, first);
  EXPECT_EQ(refetched->updated_at, clock_.Now());
  EXPECT_EQ(refetched->document_expires_at, clock_.Now() + seconds(600));
  EXPECT_EQ(store_->GetMcpClient(kUrl)->name, "Claude Desktop");
}

TEST_F(ClientDocumentsTest, CacheControlSetsTheLifetimeWithinBounds) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> headers;
    seconds lifetime;
  };
  const Case cases[] = {
      {{}, seconds(300)},  // default_cache
      {{{"cache-control", "max-age=600"}}, seconds(600)},
      {{{"cache-control", "public, MAX-AGE=600"}}, seconds(600)},
      {{{"cache-control", R"(max-age="600")"}}, seconds(600)},
      {{{"cache-control", "private"}}, seconds(300)},
      {{{"cache-control", "max-age=600"}, {"age", "500"}}, seconds(100)},
      {{{"cache-control", "max-age=10"}}, seconds(60)},  // min_cache
      {{{"cache-control", "max-age=0"}}, seconds(60)},
      {{{"cache-control", "no-store"}}, seconds(60)},
      {{{"cache-control", "no-cache"}}, seconds(60)},
      {{{"cache-control", "max-age=600, no-store"}}, seconds(60)},
      {{{"cache-control", "max-age=600"}, {"cache-control", "max-age=120"}}, seconds(120)},
      {{{"cache-control", "max-age=ten"}}, seconds(60)},
      {{{"cache-control", "max-age=172800"}}, seconds(86400)},  // max_cache
      {{{"cache-control", "max-age=99999999999999999999999"}}, seconds(86400)},
  };
  ClientDocuments documents = Documents();
  int index = 0;
  for (const Case& c : cases) {
    const std::string url = std::string(kUrl) + "/" + std::to_string(index++);
    http_.Respond(url, 200, Document(url), "application/json", c.headers);
    auto client = documents.Get(url);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    EXPECT_EQ(client->document_expires_at, clock_.Now() + c.lifetime)
        << (c.headers.empty() ? "(none)" : c.headers.front().second);
  }
}

TEST_F(ClientDocumentsTest, TheBoundsAreOptions) {
  ClientDocumentOptions options;
  options.default_cache = seconds(30);
  options.min_cache = seconds(0);
  options.max_cache = seconds(90);
  ClientDocuments documents = Documents(options);
  RespondWithDocument("");
  EXPECT_EQ(documents.Get(kUrl)->document_expires_at, clock_.Now() + seconds(30));
  clock_.Advance(seconds(30));
  http_.Clear(kUrl);
  RespondWithDocument("max-age=600");
  EXPECT_EQ(documents.Get(kUrl)->document_expires_at, clock_.Now() + seconds(90));
  clock_.Advance(seconds(90));
  http_.Clear(kUrl);
  RespondWithDocument("no-store");
  EXPECT_EQ(documents.Get(kUrl)->document_expires_at, clock_.Now());
  ASSERT_TRUE(documents.Get(kUrl).ok());
  EXPECT_EQ(http_.request_count(), 4U) << "a lifetime of 0 is used once";
}

TEST_F(ClientDocumentsTest, WhatIsNotADocumentIsRefusedAndNothingIsStoredOrCached) {
  struct Case {
    const char* what;
    std::function<void()> script;
    StatusCode code;
    const char* says;
  };
  const std::string oversized = Document().insert(1, std::string(kMaxClientMetadataBytes, ' '));
  const Case cases[] = {
      {"302",
       [&] {
         http_.Respond(kUrl, 302, "", "", {{"location", "http://169.254.169.254/"}});
       },
       StatusCode::kInvalidArgument, "redirect"},
      {"301", [&] { http_.Respond(kUrl, 301, Document()); }, StatusCode::kInvalidArgument, "redirect"},
      {"404", [&] { http_.Respond(kUrl, 404, "not here"); }, StatusCode::kInvalidArgument, "HTTP 404"},
      {"204", [&] { http_.Respond(kUrl, 204, ""); }, StatusCode::kInvalidArgument, "HTTP 204"},
      {"503", [&] { http_.Respond(kUrl, 503, ""); }, StatusCode::kUnavailable, "HTTP 503"},
      {"429", [&] { http_.Respond(kUrl, 429, ""); }, StatusCode::kUnavailable, "HTTP 429"},
      {"oversized", [&] { http_.Respond(kUrl, 200, oversized); }, StatusCode::kInvalidArgument, "larger"},
      {"cut off by the client",
       [&] { http_.Fail(kUrl, ResourceExhaustedError("the response from client.example is larger")); },
       StatusCode::kInvalidArgument, "larger than 5120 bytes"},
      {"another client_id",
       [&] { http_.Respond(kUrl, 200, Document("https://client.example/oauth/other.json")); },
       StatusCode::kInvalidArgument, "must equal"},
      {"not JSON", [&] { http_.Respond(kUrl, 200, "<html>private page</html>", "text/html"); },
       StatusCode::kInvalidArgument, "JSON"},
      {"unreachable", [&] { http_.Fail(kUrl, UnavailableError("could not reach client.example: DNS")); },
       StatusCode::kUnavailable, "DNS"},
      {"slow", [&] { http_.Fail(kUrl, DeadlineExceededError("client.example did not answer")); },
       StatusCode::kUnavailable, "did not answer"},
      {"private address",
       [&] { http_.Fail(kUrl, PermissionDeniedError("refused to connect to client.example")); },
       StatusCode::kPermissionDenied, "no public address"},
  };
  ClientDocuments documents = Documents();
  for (const Case& c : cases) {
    http_.Clear(kUrl);
    c.script();
    const std::size_t sent = http_.request_count();
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto client = documents.Get(kUrl);
      EXPECT_EQ(client.status().code(), c.code) << c.what << ": " << client.status().ToString();
      EXPECT_THAT(client.status().message(), HasSubstr(c.says)) << c.what;
      EXPECT_THAT(client.status().message(), HasSubstr("client.example")) << c.what;
      EXPECT_THAT(client.status().message(), Not(HasSubstr("private page"))) << c.what;
    }
    EXPECT_EQ(http_.request_count(), sent + 2) << c.what << ": an error is not cached";
    EXPECT_EQ(store_->GetMcpClient(kUrl).status().code(), StatusCode::kNotFound) << c.what;
  }
}

TEST_F(ClientDocumentsTest, AnExpiredDocumentIsNotUsedWhenItCannotBeFetchedAgain) {
  RespondWithDocument("max-age=600");
  ClientDocuments documents = Documents();
  auto first = documents.Get(kUrl);
  ASSERT_TRUE(first.ok()) << first.status().ToString();

  clock_.Advance(seconds(600));
  http_.Clear(kUrl);
  http_.Fail(kUrl, UnavailableError("could not reach client.example: connection refused"));
  EXPECT_EQ(documents.Get(kUrl).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(*store_->GetMcpClient(kUrl), *first) << "the failure changes nothing stored";

  http_.Clear(kUrl);
  RespondWithDocument("max-age=600");
  EXPECT_TRUE(documents.Get(kUrl).ok());
}

TEST_F(ClientDocumentsTest, UrlsThatAreNotDocumentsAreRefusedWithoutARequest) {
  ClientDocuments documents = Documents();
  for (const char* id : {"lkc_0123456789", "http://client.example/m.json",
                         "https://client.example/m.json?v=1", "https://user:hunter2@client.example/m.json"}) {
    auto client = documents.Get(id);
    EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument) << id;
    EXPECT_THAT(client.status().message(), Not(HasSubstr("hunter2")));
  }
  EXPECT_THAT(documents.Get("https://client.example/").status().message(), HasSubstr("client.example"));
  EXPECT_EQ(http_.request_count(), 0U);
}

TEST_F(ClientDocumentsTest, TheFetchIsLimitedAsTheOptionsSay) {
  RespondWithDocument("max-age=600");
  ASSERT_TRUE(Documents().Get(kUrl).ok());
  const std::string other = "https://internal.example/m.json";
  http_.Respond(other, 200, Document(other), "application/json");
  ClientDocumentOptions options;
  options.allow_private_hosts = true;
  options.ca_file = "/etc/latchkey/client-ca.pem";
  options.timeout = std::chrono::milliseconds(2000);
  ASSERT_TRUE(Documents(options).Get(other).ok());

  const std::vector<oauth::HttpLimits> limits = recorder_.limits();
  ASSERT_EQ(limits.size(), 2U);
  EXPECT_TRUE(limits[0].public_addresses_only);
  EXPECT_EQ(limits[0].ca_file, "");
  EXPECT_EQ(limits[0].max_response_bytes, kMaxClientMetadataBytes);
  EXPECT_EQ(limits[0].connect_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(limits[0].total_timeout, std::chrono::milliseconds(5000));
  EXPECT_FALSE(limits[1].public_addresses_only);
  EXPECT_EQ(limits[1].ca_file, "/etc/latchkey/client-ca.pem");
  EXPECT_EQ(limits[1].total_timeout, std::chrono::milliseconds(2000));
}

}  // namespace
}  // namespace latchkey::vault
