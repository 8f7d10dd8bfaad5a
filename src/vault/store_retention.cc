#include "vault/store_retention.h"

#include "common/log.h"
#include "common/thread_name.h"

namespace latchkey::vault {

StoreRetention::StoreRetention(store::Store& store, const Clock& clock, RetentionOptions options)
    : store_(store), clock_(clock), options_(options) {}

StoreRetention::~StoreRetention() { Stop(); }

void StoreRetention::Start() {
  thread_ = std::thread([this] {
    NameThisThread("lk-retention");
    Run();
  });
}

void StoreRetention::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

StatusOr<StoreRetention::Pass> StoreRetention::RunOnce() {
  Pass pass;
  const TimePoint now = clock_.Now();
  LATCHKEY_ASSIGN_OR_RETURN(pass.pending_deleted, store_.DeleteExpiredPendingAuthorizations(now));
  // With a margin: a node whose clock runs behind still refuses a signed-out cookie.
  LATCHKEY_RETURN_IF_ERROR(store_.DeleteEndedSessionsBefore(now - std::chrono::minutes(10)).status());
  LATCHKEY_ASSIGN_OR_RETURN(
      pass.mcp_deleted, store_.DeleteStaleMcpRows(now - kMcpExpiredTokensKept, now - kMcpUnusedClientsKept));
  if (options_.audit_retention.count() > 0) {
    LATCHKEY_ASSIGN_OR_RETURN(pass.audit_deleted,
                              store_.DeleteAuditBefore(now - options_.audit_retention, now));
  }
  return pass;
}

void StoreRetention::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    StatusOr<Pass> pass = RunOnce();
    if (!pass.ok()) {
      spdlog::warn("retention: cannot prune the store now ({}); trying again later", pass.status().message());
    } else if (pass->pending_deleted > 0 || pass->audit_deleted > 0 || pass->mcp_deleted.tokens > 0 ||
               pass->mcp_deleted.clients > 0) {
      spdlog::info(
          "retention: deleted {} expired pending authorization(s), {} audit row(s), {} expired MCP code(s) "
          "and token(s), {} unused MCP client(s)",
          pass->pending_deleted, pass->audit_deleted, pass->mcp_deleted.tokens, pass->mcp_deleted.clients);
    }
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

}  // namespace latchkey::vault
