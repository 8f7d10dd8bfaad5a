// SqlStore: every Store method, written once over sql::Tx (sql_store_*.cc by subject).
// A backend (SqliteStore, PostgresStore) derives from it and supplies what differs: how a
// transaction is opened, committed and retried (Run), how a connection is locked across
// processes (TryLockConnection), and the Dialect below. Any thread may call any method;
// every method is one transaction.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql/tx.h"
#include "store/store.h"

namespace latchkey::store::sql {

// The few statements whose best form differs between the databases.
struct Dialect {
  std::string_view backend;  // "sqlite" | "postgres", as snapshots name their source
  // Run before appending an audit batch in the same transaction, or empty.
  std::string_view before_audit_append;
  // Put between an INSERT's column list and VALUES so a column the database numbers itself
  // takes the value given (ImportSnapshot keeps every id), or empty.
  std::string_view insert_given_identity;
  // Run after such inserts, so the numbering goes on past the largest value; `{table}` and
  // `{column}` stand for the table and its identity column. Empty when the database does
  // that by itself (SQLite's AUTOINCREMENT follows the largest rowid inserted).
  std::string_view advance_identity;
};

class SqlStore : public Store {
 public:
  explicit SqlStore(Dialect dialect) : dialect_(dialect) {}

  // sql_store_keys.cc
  StatusOr<std::vector<WrappedDataKey>> ListWrappedDataKeys() override;
  StatusOr<std::vector<WrappedDataKey>> InitializeDataKey(const WrappedDataKey& first) override;
  Status AddDataKeyWrappers(const std::vector<WrappedDataKey>& wrappers) override;
  Status DeleteDataKeyWrappersExcept(std::string_view master_key_id) override;
  Status RotateDataKey(const WrappedDataKey& new_key,
                       const std::function<StatusOr<Ciphertext>(const SecretCell&)>& reseal) override;
  StatusOr<std::vector<SecretCell>> ListSecretCells() override;

  // sql_store_connections.cc
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
  StatusOr<std::unique_ptr<ConnectionLock>> LockConnection(std::string_view connection_id,
                                                           std::chrono::milliseconds wait) override;

  // sql_store_agents.cc
  Status InsertAgent(const AgentRecord& agent) override;
  StatusOr<AgentRecord> GetAgent(std::string_view name) override;
  StatusOr<AgentRecord> GetAgentById(std::string_view id) override;
  StatusOr<std::vector<AgentRecord>> ListAgents() override;
  Status InsertAdminToken(const AdminTokenRecord& token) override;
  StatusOr<AdminTokenRecord> GetAdminToken(std::string_view id) override;
  StatusOr<std::vector<AdminTokenRecord>> ListAdminTokens() override;
  Status RevokeAdminToken(std::string_view id, TimePoint at) override;
  Status RevokeAgent(std::string_view name, TimePoint at) override;
  Status UpsertMcpClient(const McpClientRecord& client) override;
  StatusOr<McpClientRecord> GetMcpClient(std::string_view client_id) override;
  Status UpsertMcpConsent(const McpConsentRecord& consent) override;
  StatusOr<std::vector<McpConsentRecord>> ListMcpConsents() override;
  Status RevokeMcpConsent(std::string_view client_id, std::string_view agent, TimePoint at) override;
  Status InsertMcpToken(const McpTokenRecord& token) override;
  StatusOr<McpTokenRecord> GetMcpToken(const Bytes& token_hash) override;
  StatusOr<McpTokenRecord> SpendMcpToken(const Bytes& token_hash, TimePoint now,
                                         const std::vector<McpTokenRecord>& issued,
                                         Duration reuse_grace) override;
  StatusOr<int64_t> RevokeMcpFamily(std::string_view family_id, TimePoint at) override;
  StatusOr<McpRowsDeleted> DeleteStaleMcpRows(TimePoint expired_before, TimePoint unused_since) override;
  Status InsertPendingAuthorization(const PendingAuthorization& pending) override;
  StatusOr<PendingAuthorization> ConsumePendingAuthorization(std::string_view id, TimePoint now) override;
  StatusOr<int64_t> DeleteExpiredPendingAuthorizations(TimePoint now) override;
  Status EndSession(std::string_view session_id, TimePoint expires_at) override;
  StatusOr<bool> IsSessionEnded(std::string_view session_id) override;
  StatusOr<int64_t> DeleteEndedSessionsBefore(TimePoint now) override;

  // sql_store_events.cc
  using Store::AppendAudit;
  Status AppendAudit(const std::vector<AuditRecord>& records) override;
  StatusOr<std::vector<AuditRecord>> QueryAudit(const AuditFilter& filter) override;
  StatusOr<int64_t> DeleteAuditBefore(TimePoint before, TimePoint now) override;
  Status EnqueueAlert(const AlertEvent& event) override;
  StatusOr<std::vector<AlertEvent>> DueAlerts(TimePoint now, int limit) override;
  StatusOr<std::vector<AlertEvent>> ClaimDueAlerts(TimePoint now, int limit, TimePoint lease_until) override;
  StatusOr<std::vector<AlertEvent>> ListAlerts(int limit) override;
  StatusOr<int64_t> CountUndeliveredAlerts() override;
  Status MarkAlertDelivered(std::string_view event_id, TimePoint at) override;
  Status MarkAlertFailed(std::string_view event_id, std::string_view error, TimePoint next_attempt) override;

  // sql_store_snapshot.cc
  StatusOr<int> SchemaVersion() override;
  Status ExportSnapshot(const SnapshotSink& sink) override;
  Status ImportSnapshot(const Snapshot& snapshot) override;
  Status SetHandedOver(std::optional<TimePoint> at) override;
  StatusOr<std::optional<TimePoint>> HandedOverAt() override;

 protected:
  // Runs body inside one transaction and commits it. Contention is retried inside (so
  // body may run more than once and must have no effect outside the transaction), and
  // reaches the caller as kUnavailable after the backend's busy_wait.
  virtual Status Run(Access access, const std::function<Status(Tx&)>& body) = 0;
  // Takes the exclusive lock of one connection (LockConnection has checked its id), or
  // gives nullptr when someone else held it for all of `wait`.
  virtual StatusOr<std::unique_ptr<ConnectionLock>> TryLockConnection(std::string_view connection_id,
                                                                      std::chrono::milliseconds wait) = 0;

 private:
  Status Read(const std::function<Status(Tx&)>& body) { return Run(Access::kRead, body); }
  Status Write(const std::function<Status(Tx&)>& body) { return Run(Access::kWrite, body); }
  // The same, for a body that produces a value: Read<std::vector<X>>([&](Tx& tx) {...}).
  template <typename T>
  StatusOr<T> Read(const std::function<StatusOr<T>(Tx&)>& body) {
    return Produce(Access::kRead, body);
  }
  template <typename T>
  StatusOr<T> Write(const std::function<StatusOr<T>(Tx&)>& body) {
    return Produce(Access::kWrite, body);
  }
  template <typename T>
  StatusOr<T> Produce(Access access, const std::function<StatusOr<T>(Tx&)>& body) {
    std::optional<T> out;
    Status done = Run(access, [&](Tx& tx) -> Status {
      StatusOr<T> value = body(tx);
      if (!value.ok()) return value.status();
      out = std::move(*value);
      return Status::Ok();
    });
    if (!done.ok()) return done;
    return std::move(*out);
  }

  // The hand-over fence inside a transaction (sql_store_snapshot.cc); the refusal says
  // the store `what` ("starts refreshes") no more.
  static StatusOr<std::optional<TimePoint>> HandedOverAt(Tx& tx);
  static Status RefuseIfHandedOver(Tx& tx, std::string_view what);

  const Dialect dialect_;
};

// Inserts one outbox row inside the caller's write transaction (sql_store_events.cc).
Status InsertAlert(Tx& tx, const AlertEvent& event);

}  // namespace latchkey::store::sql
