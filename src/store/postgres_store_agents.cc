// Agents, admin tokens and pending authorizations (the OAuth `state` rows).
#include <string>

#include "store/postgres_store_impl.h"

namespace latchkey::store::postgres {
namespace {

std::string AgentName(std::string_view name) { return "agent '" + std::string(name) + "'"; }

constexpr const char* kAgentColumns = "id, name, key_hash, rules, created_at, revoked_at";

StatusOr<AgentRecord> ReadAgent(const PgRow& r) {
  AgentRecord a;
  a.id = r.Text(0);
  a.name = r.Text(1);
  a.key_hash = r.Blob(2);
  LATCHKEY_ASSIGN_OR_RETURN(a.rules, DecodeStringList(r.Text(3), AgentName(a.name)));
  a.created_at = r.Time(4);
  a.revoked_at = r.OptTime(5);
  return a;
}

StatusOr<std::vector<AgentRecord>> SelectAgents(PgTx& tx, const std::string& where, const PgParams& params) {
  LATCHKEY_ASSIGN_OR_RETURN(
      auto rows, tx.Query(std::string("SELECT ") + kAgentColumns + " FROM agents " + where, params));
  std::vector<AgentRecord> out;
  for (const PgRow& row : rows) {
    LATCHKEY_ASSIGN_OR_RETURN(AgentRecord a, ReadAgent(row));
    out.push_back(std::move(a));
  }
  return out;
}

AdminTokenRecord ReadAdminToken(const PgRow& r) {
  return {.id = r.Text(0), .key_hash = r.Blob(1), .created_at = r.Time(2), .revoked_at = r.OptTime(3)};
}

constexpr const char* kPendingColumns =
    "id, connection_name, provider, scopes, redirect_uri, nonce, pkce_verifier, data_key_id, created_at, "
    "expires_at, consumed_at, binding_hash, allow_account_switch, asked_by, endpoints_digest";

// The id is a hash of `state`; messages still leave it out and name the connection.
std::string PendingName(std::string_view connection) {
  return "the authorization request for connection '" + std::string(connection) + "'";
}

}  // namespace

Status PostgresStore::InsertAgent(const AgentRecord& a) {
  return Write([&](PgTx& tx) -> Status {
    PgParams params;
    params.Add(a.id)
        .Add(a.name)
        .Add(a.key_hash)
        .Add(EncodeStringList(a.rules))
        .Add(a.created_at)
        .Add(a.revoked_at);
    return NameRow(
        tx.Exec(std::string("INSERT INTO agents (") + kAgentColumns + ") VALUES ($1, $2, $3, $4, $5, $6)",
                params)
            .status(),
        AgentName(a.name));
  });
}

StatusOr<AgentRecord> PostgresStore::GetAgent(std::string_view name) {
  std::vector<AgentRecord> found;
  Status done = Read([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(found, SelectAgents(tx, "WHERE name = $1", PgParams().Add(name)));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  if (found.empty()) return NotFoundError(AgentName(name) + " does not exist");
  return std::move(found.front());
}

StatusOr<AgentRecord> PostgresStore::GetAgentById(std::string_view id) {
  std::vector<AgentRecord> found;
  Status done = Read([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(found, SelectAgents(tx, "WHERE id = $1", PgParams().Add(id)));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  if (found.empty()) return NotFoundError("no agent has id '" + std::string(id) + "'");
  return std::move(found.front());
}

StatusOr<std::vector<AgentRecord>> PostgresStore::ListAgents() {
  std::vector<AgentRecord> out;
  Status done = Read([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectAgents(tx, "ORDER BY name", PgParams()));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

Status PostgresStore::RevokeAgent(std::string_view name, TimePoint at) {
  return Write([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        int64_t changed, tx.Exec("UPDATE agents SET revoked_at = COALESCE(revoked_at, $1) WHERE name = $2",
                                 PgParams().Add(at).Add(name)));
    if (changed == 0) return NotFoundError(AgentName(name) + " does not exist");
    return Status::Ok();
  });
}

Status PostgresStore::InsertAdminToken(const AdminTokenRecord& t) {
  return Write([&](PgTx& tx) -> Status {
    return NameRow(
        tx.Exec("INSERT INTO admin_tokens (id, key_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4)",
                PgParams().Add(t.id).Add(t.key_hash).Add(t.created_at).Add(t.revoked_at))
            .status(),
        "admin token " + t.id);
  });
}

StatusOr<std::vector<AdminTokenRecord>> PostgresStore::ListAdminTokens() {
  std::vector<AdminTokenRecord> out;
  Status done = Read([&](PgTx& tx) -> Status {
    out.clear();
    LATCHKEY_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("SELECT id, key_hash, created_at, revoked_at FROM admin_tokens ORDER BY created_at"));
    for (const PgRow& row : rows) out.push_back(ReadAdminToken(row));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<AdminTokenRecord> PostgresStore::GetAdminToken(std::string_view id) {
  std::optional<AdminTokenRecord> found;
  Status done = Read([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT id, key_hash, created_at, revoked_at FROM admin_tokens WHERE id = $1",
                            PgParams().Add(id)));
    if (!rows.empty()) found = ReadAdminToken(rows.front());
    return Status::Ok();
  });
  if (!done.ok()) return done;
  if (!found) return NotFoundError("admin token " + std::string(id) + " does not exist");
  return std::move(*found);
}

Status PostgresStore::RevokeAdminToken(std::string_view id, TimePoint at) {
  return Write([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        int64_t changed,
        tx.Exec("UPDATE admin_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
                PgParams().Add(at).Add(id)));
    if (changed == 0) return NotFoundError("admin token " + std::string(id) + " does not exist");
    return Status::Ok();
  });
}

Status PostgresStore::InsertPendingAuthorization(const PendingAuthorization& p) {
  return Write([&](PgTx& tx) -> Status {
    PgParams params;
    params.Add(p.id)
        .Add(p.connection_name)
        .Add(p.provider)
        .Add(EncodeStringList(p.scopes))
        .Add(p.redirect_uri);
    params.Add(p.nonce)
        .Add(p.pkce_verifier)
        .Add(p.data_key_id)
        .Add(p.created_at)
        .Add(p.expires_at)
        .Add(p.consumed_at)
        .Add(p.binding_hash)
        .Add(int64_t{p.allow_account_switch ? 1 : 0})
        .Add(p.asked_by)
        .Add(p.endpoints_digest);
    return NameRow(tx.Exec(std::string("INSERT INTO pending_authorizations (") + kPendingColumns +
                               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                           params)
                       .status(),
                   PendingName(p.connection_name));
  });
}

StatusOr<PendingAuthorization> PostgresStore::ConsumePendingAuthorization(std::string_view id,
                                                                          TimePoint now) {
  PendingAuthorization p;
  Status done = Write([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(auto rows, tx.Query(std::string("SELECT ") + kPendingColumns +
                                                      " FROM pending_authorizations WHERE id = $1",
                                                  PgParams().Add(id)));
    if (rows.empty())
      return NotFoundError("no authorization request matches this state (unknown, forged or already purged)");
    const PgRow& r = rows.front();
    p.id = r.Text(0);
    p.connection_name = r.Text(1);
    p.provider = r.Text(2);
    LATCHKEY_ASSIGN_OR_RETURN(p.scopes, DecodeStringList(r.Text(3), PendingName(p.connection_name)));
    p.redirect_uri = r.Text(4);
    p.nonce = r.Text(5);
    p.pkce_verifier = r.Blob(6);
    p.data_key_id = r.Int(7);
    p.created_at = r.Time(8);
    p.expires_at = r.Time(9);
    p.consumed_at = r.OptTime(10);
    p.binding_hash = r.Text(11);
    p.allow_account_switch = r.Int(12) != 0;
    p.asked_by = r.Text(13);
    p.endpoints_digest = r.Text(14);
    if (p.consumed_at) return FailedPreconditionError(PendingName(p.connection_name) + " was already used");
    if (p.expires_at <= now) {
      return FailedPreconditionError(PendingName(p.connection_name) + " expired at " +
                                     FormatRfc3339(p.expires_at) + "; start the authorization again");
    }
    LATCHKEY_RETURN_IF_ERROR(tx.Exec("UPDATE pending_authorizations SET consumed_at = $1 WHERE id = $2",
                                     PgParams().Add(now).Add(id)));
    p.consumed_at = now;
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return p;
}

StatusOr<int64_t> PostgresStore::DeleteExpiredPendingAuthorizations(TimePoint now) {
  int64_t deleted = 0;
  Status done = Write([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        deleted, tx.Exec("DELETE FROM pending_authorizations WHERE expires_at < $1", PgParams().Add(now)));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return deleted;
}

Status PostgresStore::EndSession(std::string_view session_id, TimePoint expires_at) {
  return Write([&](PgTx& tx) -> Status {
    return tx
        .Exec("INSERT INTO ended_sessions (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
              PgParams().Add(session_id).Add(expires_at))
        .status();
  });
}

StatusOr<bool> PostgresStore::IsSessionEnded(std::string_view session_id) {
  bool ended = false;
  Status done = Read([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT 1 FROM ended_sessions WHERE id = $1", PgParams().Add(session_id)));
    ended = !rows.empty();
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return ended;
}

StatusOr<int64_t> PostgresStore::DeleteEndedSessionsBefore(TimePoint now) {
  int64_t deleted = 0;
  Status done = Write([&](PgTx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        deleted, tx.Exec("DELETE FROM ended_sessions WHERE expires_at < $1", PgParams().Add(now)));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return deleted;
}

}  // namespace latchkey::store::postgres
