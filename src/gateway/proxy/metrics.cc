#include "gateway/proxy/metrics.h"

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

void Metrics::RecordCall(std::string_view connection, std::string_view code, double upstream_seconds) {
  std::lock_guard lock(mu_);
  auto it = connections_.find(connection);
  if (it == connections_.end()) it = connections_.emplace(std::string(connection), PerConnection{}).first;
  PerConnection& c = it->second;
  auto counter = c.by_code.find(code);
  if (counter == c.by_code.end()) counter = c.by_code.emplace(std::string(code), 0).first;
  ++counter->second;
  if (upstream_seconds < 0) return;
  Histogram& h = c.latency;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (upstream_seconds <= kBuckets[i]) ++h.counts[i];
  }
  ++h.count;
  h.sum += upstream_seconds;
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
  for (const auto& [connection, c] : connections_) {
    for (const auto& [code, n] : c.by_code) {
      out += fmt::format("latchkey_requests_total{{connection=\"{}\",code=\"{}\"}} {}\n", Label(connection),
                         Label(code), n);
    }
  }
  out += "# HELP latchkey_upstream_latency_seconds Time from sending a request upstream to its answer.\n";
  out += "# TYPE latchkey_upstream_latency_seconds histogram\n";
  for (const auto& [connection, per] : connections_) {
    const Histogram& h = per.latency;
    if (h.count == 0) continue;
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
  out +=
      "# HELP latchkey_connection_refresh_expires_timestamp_seconds When the connection's refresh token is "
      "forecast to stop working (Unix time), and which rule says so; absent when unknown.\n";
  out += "# TYPE latchkey_connection_refresh_expires_timestamp_seconds gauge\n";
  for (const auto& [connection, forecast] : gauges.refresh_expires) {
    out += fmt::format(
        "latchkey_connection_refresh_expires_timestamp_seconds{{connection=\"{}\",source=\"{}\"}} {}\n",
        Label(connection), Label(forecast.first), forecast.second);
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
