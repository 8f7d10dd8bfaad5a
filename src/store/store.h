// Store: everything latchkey persists, behind one interface with two backends, SQLite
// (sqlite_store.h) and PostgreSQL (postgres_store.h). Both run the one implementation in
// sql/sql_store.h and pass the one contract suite (store_contract_test.h). Callers hold a
// std::shared_ptr<Store> and never learn which backend they have.
//
// Contract shared by every backend:
//  - Each method is atomic (its own transaction) and durable when it returns OK.
//  - Many threads may call one Store at once; many processes may open one data dir at
//    once. Contention (SQLITE_BUSY, serialization failures) is retried inside the
//    store; it reaches the caller only as kUnavailable after a bounded wait.
//  - Secrets arrive sealed (records.h); a row naming a data key that no longer exists
//    is refused with kFailedPrecondition, so nothing is ever sealed under a retired key.
//  - Missing rows give kNotFound, name clashes kAlreadyExists, lost compare-and-swap
//    races kAborted. Messages name the row (connection 'x'), never a secret.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/records.h"
#include "store/snapshot.h"

namespace latchkey::store {

class ConnectionLock {
 public:
  virtual ~ConnectionLock() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- keys (see vault/key_manager.h for the rotation protocol) ---
  virtual StatusOr<std::vector<WrappedDataKey>> ListWrappedDataKeys() = 0;
  // First run: inserts `first` only if the store has no data key yet, in one
  // transaction. Returns the wrappers that are there afterwards (the caller's, or
  // another process's that won the race).
  virtual StatusOr<std::vector<WrappedDataKey>> InitializeDataKey(const WrappedDataKey& first) = 0;
  // Adds wrappers of existing data keys (master-key rotation, step 1).
  virtual Status AddDataKeyWrappers(const std::vector<WrappedDataKey>& wrappers) = 0;
  // Deletes every wrapper not made by `master_key_id` (master-key rotation, last step).
  virtual Status DeleteDataKeyWrappersExcept(std::string_view master_key_id) = 0;
  // Data-key rotation, in one transaction: inserts `new_key`, replaces every SecretCell
  // with reseal(cell) (which seals under the new key), points every secret-bearing row
  // at the new key, then deletes all other data keys and their wrappers. If reseal
  // fails for any cell, nothing changes and its error is returned.
  virtual Status RotateDataKey(const WrappedDataKey& new_key,
                               const std::function<StatusOr<Ciphertext>(const SecretCell&)>& reseal) = 0;
  // Every sealed secret in the store (tests, diagnostics).
  virtual StatusOr<std::vector<SecretCell>> ListSecretCells() = 0;

  // --- providers (user-defined; built-ins live in the binary) ---
  virtual Status UpsertProvider(const ProviderRecord& provider) = 0;
  virtual StatusOr<ProviderRecord> GetProvider(std::string_view name) = 0;
  virtual StatusOr<std::vector<ProviderRecord>> ListProviders() = 0;

  // --- connections ---
  // kAlreadyExists if a connection that is not disconnected has this name. A
  // disconnected one with the same name is deleted first, in the same transaction.
  virtual Status InsertConnection(const ConnectionRecord& connection) = 0;
  virtual StatusOr<ConnectionRecord> GetConnection(std::string_view name) = 0;
  virtual StatusOr<ConnectionRecord> GetConnectionById(std::string_view id) = 0;
  // All connections, disconnected ones included, ordered by name.
  virtual StatusOr<std::vector<ConnectionRecord>> ListConnections() = 0;
  // For schedulers scanning a large store: the connections whose updated_at is at or
  // after `updated_since` (all of them when nullopt), in no particular order, with the
  // sealed columns (access_token, api_key, password) left empty and refresh_token holding
  // no bytes when there is one: the scan holds no secret and a fraction of the memory.
  virtual StatusOr<std::vector<ConnectionRecord>> ListConnectionsForScheduling(
      std::optional<TimePoint> updated_since) = 0;
  // Replaces every mutable column of the row with id `connection.id`, if and only if
  // its stored token_version equals `expected_token_version`; stores
  // token_version = expected + 1. kAborted when the version moved (another writer won).
  // `alert`, when given, is enqueued in the same transaction: a state change and the
  // alert it causes commit together or not at all.
  virtual Status UpdateConnection(const ConnectionRecord& connection, int64_t expected_token_version,
                                  const std::optional<AlertEvent>& alert) = 0;
  Status UpdateConnection(const ConnectionRecord& connection, int64_t expected_token_version) {
    return UpdateConnection(connection, expected_token_version, std::nullopt);
  }

  // Exclusive per-connection lock across threads and processes (and, for the PostgreSQL
  // backend, across nodes), held while one refresh runs. Released when the returned
  // object is destroyed, and by the system when its holder dies. kDeadlineExceeded
  // when `wait` passes first.
  virtual StatusOr<std::unique_ptr<ConnectionLock>> LockConnection(std::string_view connection_id,
                                                                   std::chrono::milliseconds wait) = 0;

  // --- agents ---
  virtual Status InsertAgent(const AgentRecord& agent) = 0;  // kAlreadyExists on a taken name
  virtual StatusOr<AgentRecord> GetAgent(std::string_view name) = 0;
  virtual StatusOr<AgentRecord> GetAgentById(std::string_view id) = 0;
  virtual StatusOr<std::vector<AgentRecord>> ListAgents() = 0;
  // Sets revoked_at; kNotFound for an unknown name; revoking twice keeps the first time.
  // Also revokes the agent's MCP consents and tokens (issue 23), in the same transaction.
  virtual Status RevokeAgent(std::string_view name, TimePoint at) = 0;

  // --- admin tokens ---
  virtual Status InsertAdminToken(const AdminTokenRecord& token) = 0;
  virtual StatusOr<AdminTokenRecord> GetAdminToken(std::string_view id) = 0;  // kNotFound
  virtual StatusOr<std::vector<AdminTokenRecord>> ListAdminTokens() = 0;
  virtual Status RevokeAdminToken(std::string_view id, TimePoint at) = 0;  // kNotFound

  // --- dashboard sessions ended by signing out (the session itself is a signed cookie) ---
  // Idempotent. `expires_at` is when the cookie would have expired anyway.
  virtual Status EndSession(std::string_view session_id, TimePoint expires_at) = 0;
  virtual StatusOr<bool> IsSessionEnded(std::string_view session_id) = 0;
  // Retention: forgets the sessions whose cookies have expired by `now`. Returns how many.
  virtual StatusOr<int64_t> DeleteEndedSessionsBefore(TimePoint now) = 0;

  // --- audit ---
  // Appends the rows in one transaction (the gateway batches them).
  virtual Status AppendAudit(const std::vector<AuditRecord>& records) = 0;
  Status AppendAudit(const AuditRecord& record) { return AppendAudit(std::vector<AuditRecord>{record}); }
  virtual StatusOr<std::vector<AuditRecord>> QueryAudit(const AuditFilter& filter) = 0;  // newest first
  // Retention: deletes the rows dated before `before`, in the order they were written, up
  // to the first row dated from `before` to `now` (a row dated after `now`, from a clock
  // that ran ahead, holds back nothing). A row that is old but was written after that one
  // (a long call's, dated when it began; or the clock went back) waits for a later pass.
  // Never deleted: a row dated from `before` on, and the newest row of all (the next id
  // must stay above every id handed out, for after_id cursors). Returns how many.
  virtual StatusOr<int64_t> DeleteAuditBefore(TimePoint before, TimePoint now) = 0;

  // --- alert outbox ---
  // kAlreadyExists (and no change) when event_id is already queued: enqueueing is idempotent.
  virtual Status EnqueueAlert(const AlertEvent& event) = 0;
  // Undelivered events whose next_attempt_at is unset or <= now, oldest first.
  virtual StatusOr<std::vector<AlertEvent>> DueAlerts(TimePoint now, int limit) = 0;
  // The same events, claimed for the caller in the same transaction: their next_attempt_at
  // becomes `lease_until` (as returned), so no other caller (thread, process, node) claims
  // them before then. The claimant marks each delivered or failed; if it dies, the events
  // are due again at lease_until. Normally once, at least once.
  virtual StatusOr<std::vector<AlertEvent>> ClaimDueAlerts(TimePoint now, int limit,
                                                           TimePoint lease_until) = 0;
  virtual StatusOr<std::vector<AlertEvent>> ListAlerts(int limit) = 0;  // newest first
  // How many events are not delivered yet (due now or later): the outbox depth.
  virtual StatusOr<int64_t> CountUndeliveredAlerts() = 0;
  virtual Status MarkAlertDelivered(std::string_view event_id, TimePoint at) = 0;
  virtual Status MarkAlertFailed(std::string_view event_id, std::string_view error,
                                 TimePoint next_attempt) = 0;

  // --- pending authorizations (OAuth `state`) ---
  virtual Status InsertPendingAuthorization(const PendingAuthorization& pending) = 0;
  // Single use: returns the row and marks it consumed, atomically. kNotFound for an
  // unknown id, kFailedPrecondition when already consumed or expired at `now`.
  virtual StatusOr<PendingAuthorization> ConsumePendingAuthorization(std::string_view id, TimePoint now) = 0;
  // Deletes the rows that expired before `now`, used or not (each holds a sealed PKCE
  // verifier, and an agent can ask for one per scope set). Returns how many.
  virtual StatusOr<int64_t> DeleteExpiredPendingAuthorizations(TimePoint now) = 0;

  // --- latchkey's own OAuth authorization server for /mcp (issue 23) ---
  virtual Status UpsertMcpClient(const McpClientRecord& client) = 0;
  virtual StatusOr<McpClientRecord> GetMcpClient(std::string_view client_id) = 0;  // kNotFound
  // Records (or renews, clearing a revocation) what a human allowed a client.
  virtual Status UpsertMcpConsent(const McpConsentRecord& consent) = 0;
  virtual StatusOr<std::vector<McpConsentRecord>> ListMcpConsents() = 0;  // by agent, then client
  // Revokes the consent and, in the same transaction, every code and token issued under it.
  virtual Status RevokeMcpConsent(std::string_view client_id, std::string_view agent, TimePoint at) = 0;
  virtual Status InsertMcpToken(const McpTokenRecord& token) = 0;  // kAlreadyExists on a taken hash
  virtual StatusOr<McpTokenRecord> GetMcpToken(const Bytes& token_hash) = 0;  // kNotFound
  // Spends a code or refresh token (single use) and stores `issued`, the tokens it buys,
  // in one transaction, so no revocation can fall between the spend and the issue. It
  // spends only when the token is neither revoked nor expired at `now`, and the consent
  // (client, agent) it was issued under and its agent still stand. Returns the token as it
  // was. kNotFound for an unknown hash; kFailedPrecondition ("used already") for a replay,
  // whose family is revoked in the same transaction; kPermissionDenied for the rest. A
  // refresh token presented again within `reuse_grace` of its first use is no replay: two
  // refreshes at once, or a retry after a lost answer, each get their tokens.
  virtual StatusOr<McpTokenRecord> SpendMcpToken(const Bytes& token_hash, TimePoint now,
                                                 const std::vector<McpTokenRecord>& issued,
                                                 Duration reuse_grace = {}) = 0;
  // Revokes every code and token of the family not revoked yet; returns how many.
  virtual StatusOr<int64_t> RevokeMcpFamily(std::string_view family_id, TimePoint at) = 0;
  // Retention, in one transaction: deletes the codes and tokens that expired before
  // `expired_before` (spent, revoked or not), then the clients stored before `unused_since`
  // that no consent and no code or token names (a registration no human ever allowed, a
  // metadata document never used). What hourly rotation and a client registering again
  // and again would otherwise pile up. Returns how many of each.
  struct McpRowsDeleted {
    int64_t tokens = 0;
    int64_t clients = 0;
  };
  virtual StatusOr<McpRowsDeleted> DeleteStaleMcpRows(TimePoint expired_before, TimePoint unused_since) = 0;

  // --- backup and restore (what a backup carries: snapshot.h; the file: vault/backup.h) ---
  // The schema version the store's tables have; a store this binary opened has the newest
  // version the binary knows.
  virtual StatusOr<int> SchemaVersion() = 0;
  // Reads every row of SnapshotTables() from one consistent snapshot (one read
  // transaction, which writers do not wait for): sink.begin once, then sink.row for each
  // row, table by table in that order, each table's rows by its primary key. Rows are
  // handed over one at a time, never all held at once. kAborted when the transaction
  // had to start again after rows went out (the sink holds a partial copy: run it again).
  virtual Status ExportSnapshot(const SnapshotSink& sink) = 0;
  // Inserts every row of `snapshot` as given (ids included: sealed cells are bound to
  // them), in one transaction, into a store whose SnapshotTables() are all empty (as after
  // migration: no migration inserts rows). Nothing changes when it fails:
  // kFailedPrecondition naming the first table that has rows, or when the schema versions
  // differ; kInvalidArgument naming the table and column of a row CheckSnapshotRow refuses.
  virtual Status ImportSnapshot(const Snapshot& snapshot) = 0;
  // The hand-over fence (`latchkey backup --final`): once set, this store starts no
  // refresh (UpdateConnection refuses to set a connection's refresh_started_at) and spends
  // no MCP code or refresh token, so the copy made for another store stays current. `at`
  // nullopt lifts it. A backup never carries it.
  virtual Status SetHandedOver(std::optional<TimePoint> at) = 0;
  // (Also /readyz's question: whether the store answers, and whether it was handed over.)
  virtual StatusOr<std::optional<TimePoint>> HandedOverAt() = 0;
};

}  // namespace latchkey::store
