// Metrics: the gateway's counters and histograms (SPEC §6), rendered in the Prometheus
// text format for GET /metrics. Labels are connection names that passed the agent's
// policy (others are counted under "-", so probing cannot grow the label set) and fixed
// codes; never a secret. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace latchkey::gateway {

// Figures read from the store at scrape time.
struct StoreGauges {
  std::map<std::string, int64_t> connections_by_status;  // "active" -> 3, ...
  int64_t outbox_depth = 0;                              // alerts not yet delivered
  // Connection → (forecast source, Unix seconds when its refresh token is forecast to
  // stop working), for the connections whose end is known.
  std::map<std::string, std::pair<std::string, int64_t>> refresh_expires;
  bool ok = true;
};

class Metrics {
 public:
  // One proxied call: `code` is the latchkey problem code, or "ok" when the upstream's
  // answer was passed on; `upstream_seconds` (< 0: the upstream was not called).
  void RecordCall(std::string_view connection, std::string_view code, double upstream_seconds);
  // outcome: "ok", "reauth_required", "failed".
  void CountRefresh(std::string_view outcome);
  void CountAlertDelivery(std::string_view outcome);  // "delivered", "failed"

  std::string Render(const StoreGauges& gauges) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
  };

  struct PerConnection {
    std::map<std::string, uint64_t, std::less<>> by_code;
    Histogram latency;
  };

  mutable std::mutex mu_;
  std::map<std::string, PerConnection, std::less<>> connections_;  // guarded by mu_
  std::map<std::string, uint64_t> refreshes_;                      // by outcome
  std::map<std::string, uint64_t> alert_deliveries_;               // by outcome
};

}  // namespace latchkey::gateway
