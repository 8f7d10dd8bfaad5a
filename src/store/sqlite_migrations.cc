#include "store/sqlite_migrations.h"

#include <string>

#include "store/sql/migrate.h"

namespace latchkey::store::sqlite {
namespace {

using sql::Migration;

// Append only: a released migration never changes. SQL stays close to what
// PostgreSQL accepts (its backend keeps its own list with the same versions).
// Times are INTEGER unix milliseconds; scopes and rules are JSON arrays of strings.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE data_keys (
  id INTEGER PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE TABLE data_key_wrappers (
  data_key_id INTEGER NOT NULL REFERENCES data_keys(id) ON DELETE CASCADE,
  master_key_id TEXT NOT NULL,
  wrapped BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (data_key_id, master_key_id)
);
CREATE TABLE providers (
  name TEXT PRIMARY KEY,
  definition TEXT NOT NULL,
  client_secret BLOB,
  data_key_id INTEGER REFERENCES data_keys(id),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK (client_secret IS NULL OR data_key_id IS NOT NULL)
);
CREATE TABLE connections (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  provider TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  account TEXT NOT NULL,
  scopes TEXT NOT NULL,
  api_base_url TEXT NOT NULL,
  token_type TEXT NOT NULL,
  expires_at INTEGER,
  access_token BLOB,
  refresh_token BLOB,
  api_key BLOB,
  password BLOB,
  username TEXT NOT NULL,
  data_key_id INTEGER REFERENCES data_keys(id),
  token_version INTEGER NOT NULL,
  last_refresh_at INTEGER,
  needs_reauth_since INTEGER,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK (data_key_id IS NOT NULL OR (access_token IS NULL AND refresh_token IS NULL
                                     AND api_key IS NULL AND password IS NULL))
);
CREATE UNIQUE INDEX connections_live_name ON connections(name) WHERE status <> 'disconnected';
CREATE INDEX connections_name ON connections(name);
CREATE INDEX connections_data_key ON connections(data_key_id);
CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  key_hash BLOB NOT NULL,
  rules TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  agent TEXT NOT NULL,
  connection TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  upstream_status INTEGER NOT NULL,
  code TEXT NOT NULL,
  latency_ms INTEGER NOT NULL,
  refreshed INTEGER NOT NULL
);
CREATE INDEX audit_agent ON audit(agent, id);
CREATE INDEX audit_connection ON audit(connection, id);
CREATE TABLE alert_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  connection TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER,
  delivered_at INTEGER,
  last_error TEXT NOT NULL
);
CREATE INDEX alert_outbox_due ON alert_outbox(delivered_at, next_attempt_at);
CREATE TABLE pending_authorizations (
  id TEXT PRIMARY KEY,
  connection_name TEXT NOT NULL,
  provider TEXT NOT NULL,
  scopes TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  nonce TEXT NOT NULL,
  pkce_verifier BLOB NOT NULL,
  data_key_id INTEGER NOT NULL REFERENCES data_keys(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed_at INTEGER
);
)sql"},
    // Refresh state, for the OAuth engine: when the current token was obtained (proactive
    // refresh timing), consecutive transient failures and the next attempt (backoff,
    // shown as "degraded"), and the in-flight marker written durably before a refresh
    // request leaves, so a crash mid-refresh can be recognised afterwards.
    {2, R"sql(
ALTER TABLE connections ADD COLUMN token_obtained_at INTEGER;
ALTER TABLE connections ADD COLUMN refresh_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN next_refresh_attempt_at INTEGER;
ALTER TABLE connections ADD COLUMN refresh_started_at INTEGER;
)sql"},
    // 3: admin tokens for the gateway's /v1 API, stored only as hashes.
    {3, R"sql(
CREATE TABLE admin_tokens (
  id TEXT PRIMARY KEY,
  key_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
)sql"},
    // 4: audit ids without AUTOINCREMENT. Every audit row paid for a write to
    // sqlite_sequence (about 14 bytes more per row, and a sixth of the audit writer's
    // system time). Rows are never deleted, so the next id is still always above every
    // id handed out before (after_id cursors stay valid); a future retention that deletes
    // rows must keep the newest one. PostgreSQL's identity column never needed it.
    {4, R"sql(
CREATE TABLE audit_v4 (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  agent TEXT NOT NULL,
  connection TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  upstream_status INTEGER NOT NULL,
  code TEXT NOT NULL,
  latency_ms INTEGER NOT NULL,
  refreshed INTEGER NOT NULL
);
INSERT INTO audit_v4 (id, at, agent, connection, method, path, upstream_status, code, latency_ms, refreshed)
  SELECT id, at, agent, connection, method, path, upstream_status, code, latency_ms, refreshed FROM audit;
DROP TABLE audit;
ALTER TABLE audit_v4 RENAME TO audit;
CREATE INDEX audit_agent ON audit(agent, id);
CREATE INDEX audit_connection ON audit(connection, id);
)sql"},
    // 5: audit retention deletes by time.
    {5, "CREATE INDEX audit_at ON audit(at);"},
    // 6: dashboard sessions ended by signing out, so that every node refuses their cookie.
    {6, R"sql(
CREATE TABLE ended_sessions (
  id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
)sql"},
    // 7: account identity and consent a human completes: the account a connection's grant
    // belongs to, and what binds a pending authorization to the browser (or CLI) that began it.
    {7, R"sql(
ALTER TABLE connections ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_authorizations ADD COLUMN binding_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_authorizations ADD COLUMN allow_account_switch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pending_authorizations ADD COLUMN asked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_authorizations ADD COLUMN endpoints_digest TEXT NOT NULL DEFAULT '';
)sql"},
    // 8: what a refresh token's end is forecast from (issue 22): when the grant began (a
    // connection made before this version counts from its creation), the token endpoint's
    // own figure, the operator's rules for the connection, and the forecast last alerted.
    {8, R"sql(
ALTER TABLE connections ADD COLUMN consented_at INTEGER;
UPDATE connections SET consented_at = created_at;
ALTER TABLE connections ADD COLUMN refresh_server_expires_at INTEGER;
ALTER TABLE connections ADD COLUMN refresh_lifetime_override INTEGER;
ALTER TABLE connections ADD COLUMN refresh_idle_lifetime_override INTEGER;
ALTER TABLE connections ADD COLUMN expiring_alerted_for INTEGER;
)sql"},
    // 9: latchkey's own OAuth authorization server for /mcp (issue 23): its clients, the
    // consents a human gave them (per client and agent), and its codes and tokens (hashed).
    {9, R"sql(
CREATE TABLE mcp_clients (
  client_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  logo_uri TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,
  token_endpoint_auth_method TEXT NOT NULL,
  client_secret_hash BLOB,
  document_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE mcp_consents (
  client_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  PRIMARY KEY (client_id, agent)
);
CREATE TABLE mcp_tokens (
  token_hash BLOB PRIMARY KEY,
  kind TEXT NOT NULL,
  family_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  resource TEXT NOT NULL,
  scopes TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX mcp_tokens_family ON mcp_tokens (family_id);
CREATE INDEX mcp_tokens_grantee ON mcp_tokens (client_id, agent);
)sql"},
    // 10: the MCP client a call came through (issue 23), its client_id; '' for agent keys
    // and for the rows written before. Not indexed: audit appends stay one index lighter.
    {10, "ALTER TABLE audit ADD COLUMN client TEXT NOT NULL DEFAULT '';"},
    // 11: the hand-over fence (issue 24): `latchkey backup --final` copied this store for
    // another, so it starts no refresh from then on. At most one row; never in a backup.
    {11, "CREATE TABLE handover (id INTEGER PRIMARY KEY CHECK (id = 1), handed_over_at INTEGER NOT NULL);"},
    // 12: retention finds old audit rows in write order (SqlStore::DeleteAuditBefore), so
    // no append pays for a fourth B-tree insert any more (bench/gateway/RESULTS.md, stop 45).
    {12, "DROP INDEX audit_at;"},
    // 13: audit rows stored a batch at a time (row_codec.h: a JSON array a batch), with
    // which agents and connections each batch holds: a call's row cost a table row and two
    // index entries, most of the audit writer's work and the gap to nginx at 512
    // connections (bench/gateway/RESULTS.md, stop 46). The rows already stored are packed
    // here, 4,096 ids to a batch (json_group_array's order is SQLite's: DecodeAuditRows
    // puts a batch's rows in id order). `audit` stays, as a view, for SQL.
    {13, R"sql(
CREATE TABLE audit_batch (
  id INTEGER PRIMARY KEY,
  last_id INTEGER NOT NULL,
  newest_at INTEGER NOT NULL,
  row_count INTEGER NOT NULL,
  row_json TEXT NOT NULL
);
CREATE TABLE audit_batch_name (
  batch INTEGER NOT NULL REFERENCES audit_batch(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (batch, kind, name)
) WITHOUT ROWID;
CREATE INDEX audit_batch_name_lookup ON audit_batch_name(kind, name, batch);
INSERT INTO audit_batch (id, last_id, newest_at, row_count, row_json)
  SELECT MIN(id), MAX(id), MAX(at), COUNT(*),
         json_group_array(json_array(id, at, agent, client, connection, method, path, upstream_status, code,
                                     latency_ms, json(CASE WHEN refreshed THEN 'true' ELSE 'false' END)))
  FROM (SELECT * FROM audit ORDER BY id) GROUP BY id / 4096;
INSERT INTO audit_batch_name (batch, kind, name)
  SELECT b.id, 'agent', a.agent FROM audit_batch b JOIN audit a ON a.id BETWEEN b.id AND b.last_id
  UNION
  SELECT b.id, 'connection', a.connection FROM audit_batch b JOIN audit a ON a.id BETWEEN b.id AND b.last_id;
DROP TABLE audit;
CREATE VIEW audit AS
  SELECT json_extract(r.value, '$[0]') AS id, json_extract(r.value, '$[1]') AS at,
         json_extract(r.value, '$[2]') AS agent, json_extract(r.value, '$[3]') AS client,
         json_extract(r.value, '$[4]') AS connection, json_extract(r.value, '$[5]') AS method,
         json_extract(r.value, '$[6]') AS path, json_extract(r.value, '$[7]') AS upstream_status,
         json_extract(r.value, '$[8]') AS code, json_extract(r.value, '$[9]') AS latency_ms,
         json_extract(r.value, '$[10]') AS refreshed
  FROM audit_batch b, json_each(b.row_json) r;
)sql"},
};

}  // namespace

std::span<const sql::Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return std::end(kMigrations)[-1].version; }

Status Migrate(SqlitePool& pool, const Clock& clock) {
  return pool.Run(TxnKind::kExclusive, [&](SqliteDb& db) -> Status {
    LATCHKEY_RETURN_IF_ERROR(
        db.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"));
    SqliteTx tx(db);  // its statements are reset after each call: none is open while a migration runs
    return sql::ApplyMigrations(tx, kMigrations, clock,
                                [&db](const char* script) { return db.Exec(script); });
  });
}

}  // namespace latchkey::store::sqlite
