#include "alerts/alert_dispatcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/hmac.h"
#include "oauth/fake_http_client.h"
#include "store/sqlite_store.h"
#include "support/temp_dir.h"

namespace latchkey::alerts {
namespace {

using ::testing::HasSubstr;
constexpr char kUrl[] = "http://127.0.0.1:9/hook";

class AlertDispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::OpenSqliteStore({.path = (dir_.path() / "latchkey.db").string()}, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = *opened;
  }

  AlertDispatcher Dispatcher() {
    WebhookOptions options;
    options.url = kUrl;
    options.secret = SecretString(std::string("whsec-test"));
    return AlertDispatcher(*store_, http_, clock_, SystemRandom::Instance(), std::move(options));
  }

  void Enqueue(const std::string& id) {
    store::AlertEvent event;
    event.event_id = id;
    event.type = "connection.needs_reauth";
    event.connection = "work";
    event.payload = R"({"reason":"invalid_grant"})";
    event.created_at = clock_.Now();
    ASSERT_TRUE(store_->EnqueueAlert(event).ok());
  }

  std::string Header(const oauth::HttpRequest& request, std::string_view name) {
    for (const auto& [key, value] : request.headers) {
      if (key == name) return value;
    }
    return "";
  }

  testing::ScopedTempDir dir_;
  SimulatedClock clock_{FromUnixMillis(1'800'000'000'000)};
  std::shared_ptr<store::Store> store_;
  oauth::FakeHttpClient http_;
};

TEST_F(AlertDispatcherTest, DeliversSignedJsonOnceAndMarksItDelivered) {
  Enqueue("evt-1");
  http_.Respond(kUrl, 204, "");
  AlertDispatcher dispatcher = Dispatcher();
  auto delivered = dispatcher.DeliverDue();
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(*delivered, 1);
  ASSERT_EQ(http_.request_count(), 1u);
  const oauth::HttpRequest sent = http_.last_request();
  auto body = nlohmann::json::parse(sent.body.reveal());
  EXPECT_EQ(body["id"], "evt-1");
  EXPECT_EQ(body["type"], "connection.needs_reauth");
  EXPECT_EQ(body["data"]["reason"], "invalid_grant");
  EXPECT_EQ(Header(sent, "Latchkey-Event-Id"), "evt-1");
  // The receiver's check: HMAC over "<t>.<body>" with the shared secret.
  const std::string t = std::to_string(ToUnixMillis(clock_.Now()) / 1000);
  EXPECT_EQ(Header(sent, "Latchkey-Signature"),
            "t=" + t + ",v1=" +
                crypto::HmacSha256Hex(SecretString(std::string("whsec-test")),
                                      t + "." + std::string(sent.body.reveal())));

  // Delivered events are not sent again.
  EXPECT_EQ(*dispatcher.DeliverDue(), 0);
  EXPECT_EQ(http_.request_count(), 1u);
}

TEST_F(AlertDispatcherTest, FailedDeliveryIsRetriedWithBackoffUntilItSucceeds) {
  Enqueue("evt-2");
  http_.Respond(kUrl, 500, "down");
  http_.Fail(kUrl, UnavailableError("could not reach 127.0.0.1"));
  http_.Respond(kUrl, 200, "ok");
  AlertDispatcher dispatcher = Dispatcher();
  EXPECT_EQ(*dispatcher.DeliverDue(), 0);
  EXPECT_EQ(*dispatcher.DeliverDue(), 0) << "not due again before its backoff";
  EXPECT_EQ(http_.request_count(), 1u);
  auto listed = store_->ListAlerts(10);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ((*listed)[0].attempts, 1);
  EXPECT_THAT((*listed)[0].last_error, HasSubstr("HTTP 500"));

  clock_.Advance(std::chrono::seconds(7));  // first backoff: 5 s + up to 25% jitter
  EXPECT_EQ(*dispatcher.DeliverDue(), 0);
  EXPECT_EQ(http_.request_count(), 2u);
  EXPECT_EQ(*dispatcher.DeliverDue(), 0) << "the second backoff is longer";
  clock_.Advance(std::chrono::seconds(13));
  EXPECT_EQ(*dispatcher.DeliverDue(), 1);
  EXPECT_EQ(http_.request_count(), 3u);
  EXPECT_TRUE((*store_->ListAlerts(10))[0].delivered_at.has_value());
}

}  // namespace
}  // namespace latchkey::alerts
