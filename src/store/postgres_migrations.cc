// The versioned PostgreSQL schema and Migrate() (see postgres_migrations.h).
#include "store/postgres_migrations.h"

#include <string>

#include "store/sql/migrate.h"

namespace latchkey::store::postgres {
namespace {

using sql::Migration;

// Append only: a released migration never changes. Same tables, columns and versions
// as sqlite_migrations.cc; times are BIGINT unix milliseconds, sealed secrets BYTEA,
// scopes and rules JSON arrays of strings in TEXT. Keys that lists are ordered by use
// COLLATE "C" so they sort bytewise, as SQLite does, whatever the database's locale.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE data_keys (
  id BIGINT PRIMARY KEY,
  created_at BIGINT NOT NULL
);
CREATE TABLE data_key_wrappers (
  data_key_id BIGINT NOT NULL REFERENCES data_keys(id) ON DELETE CASCADE,
  master_key_id TEXT COLLATE "C" NOT NULL,
  wrapped BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (data_key_id, master_key_id)
);
CREATE TABLE providers (
  name TEXT COLLATE "C" PRIMARY KEY,
  definition TEXT NOT NULL,
  client_secret BYTEA,
  data_key_id BIGINT REFERENCES data_keys(id),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CHECK (client_secret IS NULL OR data_key_id IS NOT NULL)
);
CREATE TABLE connections (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL,
  provider TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  account TEXT NOT NULL,
  scopes TEXT NOT NULL,
  api_base_url TEXT NOT NULL,
  token_type TEXT NOT NULL,
  expires_at BIGINT,
  access_token BYTEA,
  refresh_token BYTEA,
  api_key BYTEA,
  password BYTEA,
  username TEXT NOT NULL,
  data_key_id BIGINT REFERENCES data_keys(id),
  token_version BIGINT NOT NULL,
  last_refresh_at BIGINT,
  needs_reauth_since BIGINT,
  last_error TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CHECK (data_key_id IS NOT NULL OR (access_token IS NULL AND refresh_token IS NULL
                                     AND api_key IS NULL AND password IS NULL))
);
CREATE UNIQUE INDEX connections_live_name ON connections(name) WHERE status <> 'disconnected';
CREATE INDEX connections_name ON connections(name);
CREATE INDEX connections_data_key ON connections(data_key_id);
CREATE TABLE agents (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL UNIQUE,
  key_hash BYTEA NOT NULL,
  rules TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE TABLE audit (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  agent TEXT NOT NULL,
  connection TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  upstream_status INTEGER NOT NULL,
  code TEXT NOT NULL,
  latency_ms BIGINT NOT NULL,
  refreshed BOOLEAN NOT NULL
);
CREATE INDEX audit_agent ON audit(agent, id);
CREATE INDEX audit_connection ON audit(connection, id);
CREATE TABLE alert_outbox (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  connection TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT,
  delivered_at BIGINT,
  last_error TEXT NOT NULL
);
CREATE INDEX alert_outbox_due ON alert_outbox(delivered_at, next_attempt_at);
CREATE TABLE pending_authorizations (
  id TEXT COLLATE "C" PRIMARY KEY,
  connection_name TEXT NOT NULL,
  provider TEXT NOT NULL,
  scopes TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  nonce TEXT NOT NULL,
  pkce_verifier BYTEA NOT NULL,
  data_key_id BIGINT NOT NULL REFERENCES data_keys(id),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  consumed_at BIGINT
);
)sql"},
    // 2: refresh state for the OAuth engine (see sqlite_migrations.cc).
    {2, R"sql(
ALTER TABLE connections ADD COLUMN token_obtained_at BIGINT;
ALTER TABLE connections ADD COLUMN refresh_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN next_refresh_attempt_at BIGINT;
ALTER TABLE connections ADD COLUMN refresh_started_at BIGINT;
)sql"},
    // 3: admin tokens for the gateway's /v1 API, stored only as hashes.
    {3, R"sql(
CREATE TABLE admin_tokens (
  id TEXT COLLATE "C" PRIMARY KEY,
  key_hash BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
)sql"},
    // 4: nothing here; SQLite's audit table dropped AUTOINCREMENT (see sqlite_migrations.cc).
    // Kept so that both backends count the same versions.
    {4, "SELECT 1"},
    // 5: audit retention deletes by time.
    {5, "CREATE INDEX audit_at ON audit(at)"},
    // 6: dashboard sessions ended by signing out, so that every node refuses their cookie.
    {6, R"sql(
CREATE TABLE ended_sessions (
  id TEXT COLLATE "C" PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
)sql"},
    // 7: account identity and consent a human completes: the account a connection's grant
    // belongs to, and what binds a pending authorization to the browser (or CLI) that began it.
    {7, R"sql(
ALTER TABLE connections ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_authorizations ADD COLUMN binding_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_authorizations ADD COLUMN allow_account_switch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pending_authorizations ADD COLUMN asked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_authorizations ADD COLUMN endpoints_digest TEXT NOT NULL DEFAULT '';
)sql"},
    // 8: what a refresh token's end is forecast from (issue 22): when the grant began (a
    // connection made before this version counts from its creation), the token endpoint's
    // own figure, the operator's rules for the connection, and the forecast last alerted.
    {8, R"sql(
ALTER TABLE connections ADD COLUMN consented_at BIGINT;
UPDATE connections SET consented_at = created_at;
ALTER TABLE connections ADD COLUMN refresh_server_expires_at BIGINT;
ALTER TABLE connections ADD COLUMN refresh_lifetime_override BIGINT;
ALTER TABLE connections ADD COLUMN refresh_idle_lifetime_override BIGINT;
ALTER TABLE connections ADD COLUMN expiring_alerted_for BIGINT;
)sql"},
    // 9: latchkey's own OAuth authorization server for /mcp (issue 23): its clients, the
    // consents a human gave them (per client and agent), and its codes and tokens (hashed).
    {9, R"sql(
CREATE TABLE mcp_clients (
  client_id TEXT COLLATE "C" PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  logo_uri TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,
  token_endpoint_auth_method TEXT NOT NULL,
  client_secret_hash BYTEA,
  document_expires_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE mcp_consents (
  client_id TEXT COLLATE "C" NOT NULL,
  agent TEXT COLLATE "C" NOT NULL,
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  PRIMARY KEY (client_id, agent)
);
CREATE TABLE mcp_tokens (
  token_hash BYTEA PRIMARY KEY,
  kind TEXT NOT NULL,
  family_id TEXT NOT NULL,
  client_id TEXT COLLATE "C" NOT NULL,
  agent TEXT COLLATE "C" NOT NULL,
  resource TEXT NOT NULL,
  scopes TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX mcp_tokens_family ON mcp_tokens (family_id);
CREATE INDEX mcp_tokens_grantee ON mcp_tokens (client_id, agent);
)sql"},
    // 10: the MCP client a call came through (issue 23), its client_id; '' for agent keys
    // and for the rows written before. A constant default: no rewrite of the audit table.
    {10, "ALTER TABLE audit ADD COLUMN client TEXT NOT NULL DEFAULT ''"},
    // 11: the hand-over fence (issue 24): `latchkey backup --final` copied this store for
    // another, so it starts no refresh from then on. At most one row; never in a backup.
    {11, "CREATE TABLE handover (id INTEGER PRIMARY KEY CHECK (id = 1), handed_over_at BIGINT NOT NULL)"},
    // 12: retention finds old audit rows in write order (SqlStore::DeleteAuditBefore), so
    // no append pays for a fourth index entry any more.
    {12, "DROP INDEX audit_at"},
    // 13: audit rows stored a batch at a time, as in sqlite_migrations.cc; the rows
    // already stored are packed here, 4,096 ids to a batch. `audit` stays, as a view.
    {13, R"sql(
CREATE TABLE audit_batch (
  id BIGINT PRIMARY KEY,
  last_id BIGINT NOT NULL,
  newest_at BIGINT NOT NULL,
  row_count BIGINT NOT NULL,
  row_json TEXT NOT NULL
);
CREATE TABLE audit_batch_name (
  batch BIGINT NOT NULL REFERENCES audit_batch(id) ON DELETE CASCADE,
  kind TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (batch, kind, name)
);
CREATE INDEX audit_batch_name_lookup ON audit_batch_name(kind, name, batch);
INSERT INTO audit_batch (id, last_id, newest_at, row_count, row_json)
  SELECT MIN(id), MAX(id), MAX(at), COUNT(*),
         json_agg(json_build_array(id, at, agent, client, connection, method, path, upstream_status, code,
                                   latency_ms, refreshed) ORDER BY id)::text
  FROM audit GROUP BY id / 4096;
INSERT INTO audit_batch_name (batch, kind, name)
  SELECT b.id, 'agent', a.agent FROM audit_batch b JOIN audit a ON a.id BETWEEN b.id AND b.last_id
  UNION
  SELECT b.id, 'connection', a.connection FROM audit_batch b JOIN audit a ON a.id BETWEEN b.id AND b.last_id;
DROP TABLE audit;
CREATE VIEW audit AS
  SELECT (r.value->>0)::bigint AS id, (r.value->>1)::bigint AS at, r.value->>2 AS agent, r.value->>3 AS client,
         r.value->>4 AS connection, r.value->>5 AS method, r.value->>6 AS path,
         (r.value->>7)::integer AS upstream_status, r.value->>8 AS code, (r.value->>9)::bigint AS latency_ms,
         (r.value->>10)::boolean AS refreshed
  FROM audit_batch b, jsonb_array_elements(b.row_json::jsonb) AS r(value);
)sql"},
};

}  // namespace

std::span<const sql::Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return std::end(kMigrations)[-1].version; }

Status Migrate(PostgresPool& pool, const Clock& clock) {
  return pool.Run(TxnKind::kSchema, [&](PgTx& tx) -> Status {
    // Held until this transaction ends; a second process waits here, then sees the
    // tables the first one committed (READ COMMITTED reads afresh per statement).
    LATCHKEY_RETURN_IF_ERROR(
        tx.Exec("SELECT pg_advisory_xact_lock(?)", sql::Params().Add(AdvisoryLockKey("latchkey:schema"))));
    LATCHKEY_RETURN_IF_ERROR(
        tx.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"));
    return sql::ApplyMigrations(tx, kMigrations, clock,
                                [&tx](const char* script) { return tx.Exec(script).status(); });
  });
}

}  // namespace latchkey::store::postgres
