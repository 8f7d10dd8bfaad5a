// Agents, admin tokens and pending authorizations (the OAuth `state` rows).
#include <string>

#include "store/sql/row_codec.h"
#include "store/sql/sql_store.h"

namespace latchkey::store::sql {
namespace {

std::string AgentName(std::string_view name) { return "agent '" + std::string(name) + "'"; }

constexpr const char* kAgentColumns = "id, name, key_hash, rules, created_at, revoked_at";

StatusOr<AgentRecord> ReadAgent(const Row& r) {
  AgentRecord a;
  a.id = r.Text(0);
  a.name = r.Text(1);
  a.key_hash = r.Blob(2);
  LATCHKEY_ASSIGN_OR_RETURN(a.rules, DecodeStringList(r.Text(3), AgentName(a.name)));
  a.created_at = r.Time(4);
  a.revoked_at = r.OptTime(5);
  return a;
}

StatusOr<std::vector<AgentRecord>> SelectAgents(Tx& tx, const std::string& where, const Params& params) {
  return Select(tx, std::string("SELECT ") + kAgentColumns + " FROM agents " + where, params, ReadAgent);
}

constexpr const char* kAdminTokenColumns = "id, key_hash, created_at, revoked_at";

AdminTokenRecord ReadAdminToken(const Row& r) {
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

Status SqlStore::InsertAgent(const AgentRecord& a) {
  return Write([&](Tx& tx) -> Status {
    Params params;
    params.Add(a.id)
        .Add(a.name)
        .Add(a.key_hash)
        .Add(EncodeStringList(a.rules))
        .Add(a.created_at)
        .Add(a.revoked_at);
    return NameRow(
        tx.Exec(std::string("INSERT INTO agents (") + kAgentColumns + ") VALUES (?, ?, ?, ?, ?, ?)", params)
            .status(),
        AgentName(a.name));
  });
}

StatusOr<AgentRecord> SqlStore::GetAgent(std::string_view name) {
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<AgentRecord> found, Read<std::vector<AgentRecord>>([&](Tx& tx) {
                              return SelectAgents(tx, "WHERE name = ?", Params().Add(name));
                            }));
  if (found.empty()) return NotFoundError(AgentName(name) + " does not exist");
  return std::move(found.front());
}

StatusOr<AgentRecord> SqlStore::GetAgentById(std::string_view id) {
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<AgentRecord> found, Read<std::vector<AgentRecord>>([&](Tx& tx) {
                              return SelectAgents(tx, "WHERE id = ?", Params().Add(id));
                            }));
  if (found.empty()) return NotFoundError("no agent has id '" + std::string(id) + "'");
  return std::move(found.front());
}

StatusOr<std::vector<AgentRecord>> SqlStore::ListAgents() {
  return Read<std::vector<AgentRecord>>([&](Tx& tx) { return SelectAgents(tx, "ORDER BY name", Params()); });
}

Status SqlStore::RevokeAgent(std::string_view name, TimePoint at) {
  return Write([&](Tx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(int64_t changed,
                              tx.Exec("UPDATE agents SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?",
                                      Params().Add(at).Add(name)));
    if (changed == 0) return NotFoundError(AgentName(name) + " does not exist");
    // What MCP clients were allowed to do as this agent ends with it, in the same
    // transaction as the spend of a code or refresh token (SpendMcpToken), so no new token
    // can be issued for it after this.
    for (const char* statement :
         {"UPDATE mcp_consents SET revoked_at = ? WHERE agent = ? AND revoked_at IS NULL",
          "UPDATE mcp_tokens SET revoked_at = ? WHERE agent = ? AND revoked_at IS NULL"}) {
      LATCHKEY_RETURN_IF_ERROR(tx.Exec(statement, Params().Add(at).Add(name)).status());
    }
    return Status::Ok();
  });
}

Status SqlStore::InsertAdminToken(const AdminTokenRecord& t) {
  return Write([&](Tx& tx) -> Status {
    return NameRow(
        tx.Exec("INSERT INTO admin_tokens (id, key_hash, created_at, revoked_at) VALUES (?, ?, ?, ?)",
                Params().Add(t.id).Add(t.key_hash).Add(t.created_at).Add(t.revoked_at))
            .status(),
        "admin token " + t.id);
  });
}

StatusOr<std::vector<AdminTokenRecord>> SqlStore::ListAdminTokens() {
  return Read<std::vector<AdminTokenRecord>>([](Tx& tx) {
    return Select(tx, std::string("SELECT ") + kAdminTokenColumns + " FROM admin_tokens ORDER BY created_at",
                  {}, ReadAdminToken);
  });
}

StatusOr<AdminTokenRecord> SqlStore::GetAdminToken(std::string_view id) {
  LATCHKEY_ASSIGN_OR_RETURN(
      std::vector<AdminTokenRecord> found, Read<std::vector<AdminTokenRecord>>([&](Tx& tx) {
        return Select(tx, std::string("SELECT ") + kAdminTokenColumns + " FROM admin_tokens WHERE id = ?",
                      Params().Add(id), ReadAdminToken);
      }));
  if (found.empty()) return NotFoundError("admin token " + std::string(id) + " does not exist");
  return std::move(found.front());
}

Status SqlStore::RevokeAdminToken(std::string_view id, TimePoint at) {
  return Write([&](Tx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        int64_t changed, tx.Exec("UPDATE admin_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                                 Params().Add(at).Add(id)));
    if (changed == 0) return NotFoundError("admin token " + std::string(id) + " does not exist");
    return Status::Ok();
  });
}

Status SqlStore::InsertPendingAuthorization(const PendingAuthorization& p) {
  return Write([&](Tx& tx) -> Status {
    Params params;
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
                               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           params)
                       .status(),
                   PendingName(p.connection_name));
  });
}

StatusOr<PendingAuthorization> SqlStore::ConsumePendingAuthorization(std::string_view id, TimePoint now) {
  PendingAuthorization p;
  Status done = Write([&](Tx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(auto rows, tx.Query(std::string("SELECT ") + kPendingColumns +
                                                      " FROM pending_authorizations WHERE id = ?",
                                                  Params().Add(id)));
    if (rows.empty())
      return NotFoundError("no authorization request matches this state (unknown, forged or already purged)");
    const Row& r = rows.front();
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
    LATCHKEY_RETURN_IF_ERROR(
        tx.Exec("UPDATE pending_authorizations SET consumed_at = ? WHERE id = ?", Params().Add(now).Add(id)));
    p.consumed_at = now;
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return p;
}

StatusOr<int64_t> SqlStore::DeleteExpiredPendingAuthorizations(TimePoint now) {
  return Write<int64_t>([&](Tx& tx) {
    return tx.Exec("DELETE FROM pending_authorizations WHERE expires_at < ?", Params().Add(now));
  });
}

Status SqlStore::EndSession(std::string_view session_id, TimePoint expires_at) {
  return Write([&](Tx& tx) -> Status {
    return tx
        .Exec("INSERT INTO ended_sessions (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
              Params().Add(session_id).Add(expires_at))
        .status();
  });
}

StatusOr<bool> SqlStore::IsSessionEnded(std::string_view session_id) {
  return Read<bool>([&](Tx& tx) -> StatusOr<bool> {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT 1 FROM ended_sessions WHERE id = ?", Params().Add(session_id)));
    return !rows.empty();
  });
}

StatusOr<int64_t> SqlStore::DeleteEndedSessionsBefore(TimePoint now) {
  return Write<int64_t>(
      [&](Tx& tx) { return tx.Exec("DELETE FROM ended_sessions WHERE expires_at < ?", Params().Add(now)); });
}

}  // namespace latchkey::store::sql
