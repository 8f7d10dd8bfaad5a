// PostgresStore: the Store backed by a PostgreSQL database (internal to store/; callers use
// OpenPostgresStore). Its methods are spread over postgres_store_*.cc by subject. Any
// thread may call any method; every method is one transaction run by PostgresPool.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/postgres_pool.h"
#include "store/row_codec.h"
#include "store/store.h"

namespace latchkey::store::postgres {

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(std::shared_ptr<PostgresPool> pool) : pool_(std::move(pool)) {}

  // postgres_store_keys.cc
  StatusOr<std::vector<WrappedDataKey>> ListWrappedDataKeys() override;
  StatusOr<std::vector<WrappedDataKey>> InitializeDataKey(const WrappedDataKey& first) override;
  Status AddDataKeyWrappers(const std::vector<WrappedDataKey>& wrappers) override;
  Status DeleteDataKeyWrappersExcept(std::string_view master_key_id) override;
  Status RotateDataKey(const WrappedDataKey& new_key,
                       const std::function<StatusOr<Ciphertext>(const SecretCell&)>& reseal) override;
  StatusOr<std::vector<SecretCell>> ListSecretCells() override;

  // postgres_store_connections.cc
  Status UpsertProvider(const ProviderRecord& provider) override;
  StatusOr<ProviderRecord> GetProvider(std::string_view name) override;
  StatusOr<std::vector<ProviderRecord>> ListProviders() override;
  Status InsertConnection(const ConnectionRecord& connection) override;
  StatusOr<ConnectionRecord> GetConnection(std::string_view name) override;
  StatusOr<ConnectionRecord> GetConnectionById(std::string_view id) override;
  StatusOr<std::vector<ConnectionRecord>> ListConnections() override;
  StatusOr<std::vector<ConnectionRecord>> ListConnectionsForScheduling(
      std::optional<TimePoint> updated_since) override;
  Status UpdateConnection(const ConnectionRecord& connection, int64_t expected_token_version,
                          const std::optional<AlertEvent>& alert) override;

  // postgres_connection_lock.cc
  StatusOr<std::unique_ptr<ConnectionLock>> LockConnection(std::string_view connection_id,
                                                           std::chrono::milliseconds wait) override;

  // postgres_store_agents.cc
  Status InsertAgent(const AgentRecord& agent) override;
  StatusOr<AgentRecord> GetAgent(std::string_view name) override;
  StatusOr<AgentRecord> GetAgentById(std::string_view id) override;
  StatusOr<std::vector<AgentRecord>> ListAgents() override;
  Status InsertAdminToken(const AdminTokenRecord& token) override;
  StatusOr<AdminTokenRecord> GetAdminToken(std::string_view id) override;
  StatusOr<std::vector<AdminTokenRecord>> ListAdminTokens() override;
  Status RevokeAdminToken(std::string_view id, TimePoint at) override;
  Status RevokeAgent(std::string_view name, TimePoint at) override;
  Status InsertPendingAuthorization(const PendingAuthorization& pending) override;
  StatusOr<PendingAuthorization> ConsumePendingAuthorization(std::string_view id, TimePoint now) override;
  StatusOr<int64_t> DeleteExpiredPendingAuthorizations(TimePoint now) override;
  Status EndSession(std::string_view session_id, TimePoint expires_at) override;
  StatusOr<bool> IsSessionEnded(std::string_view session_id) override;
  StatusOr<int64_t> DeleteEndedSessionsBefore(TimePoint now) override;

  // postgres_store_events.cc
  using Store::AppendAudit;
  Status AppendAudit(const std::vector<AuditRecord>& records) override;
  StatusOr<std::vector<AuditRecord>> QueryAudit(const AuditFilter& filter) override;
  StatusOr<int64_t> DeleteAuditBefore(TimePoint before) override;
  Status EnqueueAlert(const AlertEvent& event) override;
  StatusOr<std::vector<AlertEvent>> DueAlerts(TimePoint now, int limit) override;
  StatusOr<std::vector<AlertEvent>> ClaimDueAlerts(TimePoint now, int limit, TimePoint lease_until) override;
  StatusOr<std::vector<AlertEvent>> ListAlerts(int limit) override;
  StatusOr<int64_t> CountUndeliveredAlerts() override;
  Status MarkAlertDelivered(std::string_view event_id, TimePoint at) override;
  Status MarkAlertFailed(std::string_view event_id, std::string_view error, TimePoint next_attempt) override;

  // postgres_store.cc
  Status Ping() override;

 private:
  Status Read(const std::function<Status(PgTx&)>& body) { return pool_->Run(TxnKind::kRead, body); }
  Status Write(const std::function<Status(PgTx&)>& body) { return pool_->Run(TxnKind::kWrite, body); }

  // Shared with the ConnectionLocks handed out, which return their connection to it.
  std::shared_ptr<PostgresPool> pool_;
};

// Inserts one outbox row inside the caller's write transaction (postgres_store_events.cc).
Status InsertAlert(PgTx& tx, const AlertEvent& event);

// Shared row helpers (EncodeStringList, DecodeStringList, NameRow, CheckLimit).
using store::CheckLimit;
using store::DecodeStringList;
using store::EncodeStringList;
using store::NameRow;

}  // namespace latchkey::store::postgres
