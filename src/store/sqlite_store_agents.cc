// Agents and pending authorizations (the OAuth `state` rows).
#include <string>

#include "store/sqlite_store_impl.h"

namespace latchkey::store::sqlite {
namespace {

std::string AgentName(std::string_view name) { return "agent '" + std::string(name) + "'"; }

constexpr const char* kAgentColumns = "id, name, key_hash, rules, created_at, revoked_at";

StatusOr<AgentRecord> ReadAgent(const SqliteStatement& s) {
  AgentRecord a;
  a.id = s.Text(0);
  a.name = s.Text(1);
  a.key_hash = s.Blob(2);
  LATCHKEY_ASSIGN_OR_RETURN(a.rules, DecodeStringList(s.Text(3), AgentName(a.name)));
  a.created_at = s.Time(4);
  a.revoked_at = s.OptTime(5);
  return a;
}

StatusOr<std::vector<AgentRecord>> SelectAgents(SqliteDb& db, const std::string& where,
                                                std::optional<std::string_view> arg) {
  LATCHKEY_ASSIGN_OR_RETURN(auto stmt, SqliteStatement::Prepare(db, std::string("SELECT ") + kAgentColumns +
                                                                        " FROM agents " + where));
  if (arg) stmt.Add(*arg);
  std::vector<AgentRecord> out;
  for (;;) {
    LATCHKEY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    LATCHKEY_ASSIGN_OR_RETURN(AgentRecord a, ReadAgent(stmt));
    out.push_back(std::move(a));
  }
}

constexpr const char* kPendingColumns =
    "id, connection_name, provider, scopes, redirect_uri, nonce, pkce_verifier, data_key_id, created_at, "
    "expires_at, consumed_at, binding_hash, allow_account_switch, asked_by, endpoints_digest";

// The id is a hash of `state`; messages still leave it out and name the connection.
std::string PendingName(std::string_view connection) {
  return "the authorization request for connection '" + std::string(connection) + "'";
}

}  // namespace

Status SqliteStore::InsertAgent(const AgentRecord& a) {
  return Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt, SqliteStatement::Prepare(db, std::string("INSERT INTO agents (") + kAgentColumns +
                                                    ") VALUES (?, ?, ?, ?, ?, ?)"));
    stmt.Add(a.id)
        .Add(a.name)
        .Add(a.key_hash)
        .Add(EncodeStringList(a.rules))
        .Add(a.created_at)
        .Add(a.revoked_at);
    return NameRow(stmt.Run(), AgentName(a.name));
  });
}

StatusOr<AgentRecord> SqliteStore::GetAgent(std::string_view name) {
  std::vector<AgentRecord> found;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(found, SelectAgents(db, "WHERE name = ?", name));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  if (found.empty()) return NotFoundError(AgentName(name) + " does not exist");
  return std::move(found.front());
}

StatusOr<AgentRecord> SqliteStore::GetAgentById(std::string_view id) {
  std::vector<AgentRecord> found;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(found, SelectAgents(db, "WHERE id = ?", id));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  if (found.empty()) return NotFoundError("no agent has id '" + std::string(id) + "'");
  return std::move(found.front());
}

StatusOr<std::vector<AgentRecord>> SqliteStore::ListAgents() {
  std::vector<AgentRecord> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectAgents(db, "ORDER BY name", std::nullopt));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

Status SqliteStore::RevokeAgent(std::string_view name, TimePoint at) {
  return Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt, SqliteStatement::Prepare(
                       db, "UPDATE agents SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?"));
    LATCHKEY_RETURN_IF_ERROR(stmt.Add(at).Add(name).Run());
    if (db.Changes() == 0) return NotFoundError(AgentName(name) + " does not exist");
    return Status::Ok();
  });
}

Status SqliteStore::InsertAdminToken(const AdminTokenRecord& t) {
  return Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt,
        SqliteStatement::Prepare(
            db, "INSERT INTO admin_tokens (id, key_hash, created_at, revoked_at) VALUES (?, ?, ?, ?)"));
    stmt.Add(t.id).Add(t.key_hash).Add(t.created_at).Add(t.revoked_at);
    return NameRow(stmt.Run(), "admin token " + t.id);
  });
}

StatusOr<std::vector<AdminTokenRecord>> SqliteStore::ListAdminTokens() {
  std::vector<AdminTokenRecord> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    out.clear();
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt,
        SqliteStatement::Prepare(
            db, "SELECT id, key_hash, created_at, revoked_at FROM admin_tokens ORDER BY created_at"));
    for (;;) {
      LATCHKEY_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      out.push_back({.id = stmt.Text(0),
                     .key_hash = stmt.Blob(1),
                     .created_at = stmt.Time(2),
                     .revoked_at = stmt.OptTime(3)});
    }
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<AdminTokenRecord> SqliteStore::GetAdminToken(std::string_view id) {
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<AdminTokenRecord> all, ListAdminTokens());
  for (auto& token : all) {
    if (token.id == id) return std::move(token);
  }
  return NotFoundError("admin token " + std::string(id) + " does not exist");
}

Status SqliteStore::RevokeAdminToken(std::string_view id, TimePoint at) {
  return Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt, SqliteStatement::Prepare(
                       db, "UPDATE admin_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?"));
    LATCHKEY_RETURN_IF_ERROR(stmt.Add(at).Add(id).Run());
    if (db.Changes() == 0) return NotFoundError("admin token " + std::string(id) + " does not exist");
    return Status::Ok();
  });
}

Status SqliteStore::InsertPendingAuthorization(const PendingAuthorization& p) {
  return Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt,
        SqliteStatement::Prepare(db, std::string("INSERT INTO pending_authorizations (") + kPendingColumns +
                                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    stmt.Add(p.id).Add(p.connection_name).Add(p.provider).Add(EncodeStringList(p.scopes)).Add(p.redirect_uri);
    stmt.Add(p.nonce)
        .Add(p.pkce_verifier)
        .Add(p.data_key_id)
        .Add(p.created_at)
        .Add(p.expires_at)
        .Add(p.consumed_at)
        .Add(p.binding_hash)
        .Add(int64_t{p.allow_account_switch ? 1 : 0})
        .Add(p.asked_by)
        .Add(p.endpoints_digest);
    return NameRow(stmt.Run(), PendingName(p.connection_name));
  });
}

StatusOr<PendingAuthorization> SqliteStore::ConsumePendingAuthorization(std::string_view id, TimePoint now) {
  PendingAuthorization p;
  Status done = Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(auto select,
                              SqliteStatement::Prepare(db, std::string("SELECT ") + kPendingColumns +
                                                               " FROM pending_authorizations WHERE id = ?"));
    LATCHKEY_ASSIGN_OR_RETURN(bool row, select.Add(id).Step());
    if (!row)
      return NotFoundError("no authorization request matches this state (unknown, forged or already purged)");
    p.id = select.Text(0);
    p.connection_name = select.Text(1);
    p.provider = select.Text(2);
    LATCHKEY_ASSIGN_OR_RETURN(p.scopes, DecodeStringList(select.Text(3), PendingName(p.connection_name)));
    p.redirect_uri = select.Text(4);
    p.nonce = select.Text(5);
    p.pkce_verifier = select.Blob(6);
    p.data_key_id = select.Int(7);
    p.created_at = select.Time(8);
    p.expires_at = select.Time(9);
    p.consumed_at = select.OptTime(10);
    p.binding_hash = select.Text(11);
    p.allow_account_switch = select.Int(12) != 0;
    p.asked_by = select.Text(13);
    p.endpoints_digest = select.Text(14);
    if (p.consumed_at) return FailedPreconditionError(PendingName(p.connection_name) + " was already used");
    if (p.expires_at <= now) {
      return FailedPreconditionError(PendingName(p.connection_name) + " expired at " +
                                     FormatRfc3339(p.expires_at) + "; start the authorization again");
    }
    LATCHKEY_ASSIGN_OR_RETURN(
        auto consume,
        SqliteStatement::Prepare(db, "UPDATE pending_authorizations SET consumed_at = ? WHERE id = ?"));
    LATCHKEY_RETURN_IF_ERROR(consume.Add(now).Add(id).Run());
    p.consumed_at = now;
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return p;
}

StatusOr<int64_t> SqliteStore::DeleteExpiredPendingAuthorizations(TimePoint now) {
  int64_t deleted = 0;
  Status done = Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt, SqliteStatement::Prepare(db, "DELETE FROM pending_authorizations WHERE expires_at < ?"));
    LATCHKEY_RETURN_IF_ERROR(stmt.Add(now).Run());
    deleted = db.Changes();
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return deleted;
}

Status SqliteStore::EndSession(std::string_view session_id, TimePoint expires_at) {
  return Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt,
        SqliteStatement::Prepare(db, "INSERT OR IGNORE INTO ended_sessions (id, expires_at) VALUES (?, ?)"));
    return stmt.Add(session_id).Add(expires_at).Run();
  });
}

StatusOr<bool> SqliteStore::IsSessionEnded(std::string_view session_id) {
  bool ended = false;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(auto stmt,
                              SqliteStatement::Prepare(db, "SELECT 1 FROM ended_sessions WHERE id = ?"));
    stmt.Add(session_id);
    LATCHKEY_ASSIGN_OR_RETURN(ended, stmt.Step());
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return ended;
}

StatusOr<int64_t> SqliteStore::DeleteEndedSessionsBefore(TimePoint now) {
  int64_t deleted = 0;
  Status done = Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt, SqliteStatement::Prepare(db, "DELETE FROM ended_sessions WHERE expires_at < ?"));
    LATCHKEY_RETURN_IF_ERROR(stmt.Add(now).Run());
    deleted = db.Changes();
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return deleted;
}

}  // namespace latchkey::store::sqlite
