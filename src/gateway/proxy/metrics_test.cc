#include "gateway/proxy/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace latchkey::gateway {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, RendersCallsLatencyRefreshesAndGauges) {
  Metrics metrics;
  metrics.RecordCall("work", "ok", 0.003);
  metrics.RecordCall("work", "ok", 0.2);
  metrics.RecordCall("work", "scope_insufficient", 0.004);
  metrics.RecordCall("-", "policy_denied", -1);
  metrics.CountRefresh("ok");
  metrics.CountAlertDelivery("failed");
  StoreGauges gauges;
  gauges.connections_by_status = {{"active", 2}, {"needs_reauth", 1}};
  gauges.outbox_depth = 4;
  gauges.refresh_expires = {{"work", {"provider_rule", 1815552000}}};
  const std::string text = metrics.Render(gauges);
  EXPECT_THAT(text, HasSubstr("latchkey_requests_total{connection=\"work\",code=\"ok\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("latchkey_requests_total{connection=\"work\",code=\"scope_insufficient\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("latchkey_requests_total{connection=\"-\",code=\"policy_denied\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("latchkey_upstream_latency_seconds_bucket{connection=\"work\",le=\"0.005\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("latchkey_upstream_latency_seconds_bucket{connection=\"work\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("latchkey_upstream_latency_seconds_count{connection=\"work\"} 3\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("latency_seconds_count{connection=\"-\"}")));
  EXPECT_THAT(text, HasSubstr("latchkey_refreshes_total{outcome=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("latchkey_alert_deliveries_total{outcome=\"failed\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("latchkey_connections{status=\"needs_reauth\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("latchkey_alert_outbox_depth 4\n"));
  EXPECT_THAT(text, HasSubstr("latchkey_connection_refresh_expires_timestamp_seconds{connection=\"work\","
                              "source=\"provider_rule\"} 1815552000\n"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Metrics metrics;
  metrics.RecordCall("a\"b\\c\nd", "ok", -1);
  EXPECT_THAT(metrics.Render({}), HasSubstr("connection=\"a\\\"b\\\\c\\nd\""));
}

}  // namespace
}  // namespace latchkey::gateway
