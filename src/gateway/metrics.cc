#include "gateway/metrics.h"

#include <fmt/format.h>

namespace latchkey::gateway {
namespace {

std::string Label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Metrics::CountRequest(std::string_view connection, std::string_view code) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(connection), std::string(code)}];
}

void Metrics::ObserveUpstreamLatency(std::string_view connection, double seconds) {
  std::lock_guard lock(mu_);
  Histogram& h = latency_[std::string(connection)];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.counts[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::CountRefresh(std::string_view outcome) {
  std::lock_guard lock(mu_);
  ++refreshes_[std::string(outcome)];
}

void Metrics::CountAlertDelivery(std::string_view outcome) {
  std::lock_guard lock(mu_);
  ++alert_deliveries_[std::string(outcome)];
}

std::string Metrics::Render(const StoreGauges& gauges) const {
  std::lock_guard lock(mu_);
  std::string out;
  out +=
      "# HELP latchkey_requests_total Proxied calls by connection and latchkey code (\"ok\": the upstream "
      "answered).\n";
  out += "# TYPE latchkey_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += fmt::format("latchkey_requests_total{{connection=\"{}\",code=\"{}\"}} {}\n", Label(key.first),
                       Label(key.second), n);
  }
  out += "# HELP latchkey_upstream_latency_seconds Time from sending a request upstream to its answer.\n";
  out += "# TYPE latchkey_upstream_latency_seconds histogram\n";
  for (const auto& [connection, h] : latency_) {
    std::string c = Label(connection);
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out += fmt::format("latchkey_upstream_latency_seconds_bucket{{connection=\"{}\",le=\"{}\"}} {}\n", c,
                         kBuckets[i], h.counts[i]);
    }
    out += fmt::format("latchkey_upstream_latency_seconds_bucket{{connection=\"{}\",le=\"+Inf\"}} {}\n", c,
                       h.count);
    out += fmt::format("latchkey_upstream_latency_seconds_sum{{connection=\"{}\"}} {}\n", c, h.sum);
    out += fmt::format("latchkey_upstream_latency_seconds_count{{connection=\"{}\"}} {}\n", c, h.count);
  }
  out +=
      "# HELP latchkey_refreshes_total Token refreshes the gateway asked for after an upstream 401, by "
      "outcome.\n";
  out += "# TYPE latchkey_refreshes_total counter\n";
  for (const auto& [outcome, n] : refreshes_) {
    out += fmt::format("latchkey_refreshes_total{{outcome=\"{}\"}} {}\n", Label(outcome), n);
  }
  out += "# HELP latchkey_alert_deliveries_total Webhook delivery attempts by outcome.\n";
  out += "# TYPE latchkey_alert_deliveries_total counter\n";
  for (const auto& [outcome, n] : alert_deliveries_) {
    out += fmt::format("latchkey_alert_deliveries_total{{outcome=\"{}\"}} {}\n", Label(outcome), n);
  }
  out += "# HELP latchkey_connections Connections by status.\n";
  out += "# TYPE latchkey_connections gauge\n";
  for (const auto& [status, n] : gauges.connections_by_status) {
    out += fmt::format("latchkey_connections{{status=\"{}\"}} {}\n", Label(status), n);
  }
  out += "# HELP latchkey_alert_outbox_depth Alerts waiting for delivery.\n";
  out += "# TYPE latchkey_alert_outbox_depth gauge\n";
  out += fmt::format("latchkey_alert_outbox_depth {}\n", gauges.outbox_depth);
  out += "# HELP latchkey_store_up Whether the store answered the last scrape.\n";
  out += "# TYPE latchkey_store_up gauge\n";
  out += fmt::format("latchkey_store_up {}\n", gauges.ok ? 1 : 0);
  return out;
}

}  // namespace latchkey::gateway
