// StoreRetention: what the daemon deletes so that the store does not grow without bound,
// whatever agents do: pending authorizations once expired (an agent can ask for one per
// scope set, each with a sealed PKCE verifier), ended dashboard sessions once their
// cookies have expired, audit rows older than the retention period, and the MCP
// authorization server's codes and tokens a day after they expired and the clients no
// human allowed within a week (an MCP client may register 20 times a minute). One
// background thread makes a pass at Start() and every `interval`; several nodes may each
// run one (the deletes are idempotent). Start/Stop from one thread.
//
//   StoreRetention retention(store, SystemClock::Instance(), {.audit_retention = days(90)});
//   retention.Start();
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace latchkey::vault {

// How long an MCP code or token is kept after it expired: a replay of a spent one within
// this still ends its family (McpAuthorization), later it is only unknown.
inline constexpr std::chrono::hours kMcpExpiredTokensKept{24};
// How long an MCP client no consent or token names is kept: long enough for a human to
// come back to a consent page (the client keeps its client_id), short enough that a
// client registering at the limit leaves a bounded table.
inline constexpr std::chrono::hours kMcpUnusedClientsKept{24 * 7};

struct RetentionOptions {
  // Audit rows older than this are deleted ([audit] retention_days); zero keeps them all.
  std::chrono::hours audit_retention{24 * 90};
  std::chrono::milliseconds interval{std::chrono::hours(1)};
};

class StoreRetention {
 public:
  StoreRetention(store::Store& store, const Clock& clock, RetentionOptions options);
  ~StoreRetention();  // Stop()
  StoreRetention(const StoreRetention&) = delete;
  StoreRetention& operator=(const StoreRetention&) = delete;

  void Start();
  void Stop();

  // One pass now: what Start's thread does each interval (logged, and returned for tests).
  struct Pass {
    int64_t pending_deleted = 0;
    int64_t audit_deleted = 0;
    store::Store::McpRowsDeleted mcp_deleted;
  };
  StatusOr<Pass> RunOnce();

 private:
  void Run();

  store::Store& store_;
  const Clock& clock_;
  const RetentionOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace latchkey::vault
