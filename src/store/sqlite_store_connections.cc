// Providers and connections.
#include <optional>
#include <string>

#include "store/sqlite_store_impl.h"

namespace latchkey::store::sqlite {
namespace {

std::string ProviderName(std::string_view name) { return "provider '" + std::string(name) + "'"; }
std::string ConnectionName(std::string_view name) { return "connection '" + std::string(name) + "'"; }

constexpr const char* kProviderColumns =
    "name, definition, client_secret, data_key_id, created_at, updated_at";

ProviderRecord ReadProvider(const SqliteStatement& s) {
  return {s.Text(0), s.Text(1), s.OptBlob(2), s.OptInt(3), s.Time(4), s.Time(5)};
}

// Column order shared by SELECT, INSERT and ReadConnection.
constexpr const char* kConnectionColumns =
    "id, name, provider, kind, status, account, scopes, api_base_url, token_type, expires_at, "
    "access_token, refresh_token, api_key, password, username, data_key_id, token_version, "
    "last_refresh_at, needs_reauth_since, last_error, created_at, updated_at, "
    "token_obtained_at, refresh_failures, next_refresh_attempt_at, refresh_started_at, account_id";

// kConnectionColumns with the sealed columns read as NULL (ListConnectionsForScheduling).
constexpr const char* kSchedulingColumns =
    "id, name, provider, kind, status, account, scopes, api_base_url, token_type, expires_at, "
    "NULL, NULL, NULL, NULL, username, data_key_id, token_version, "
    "last_refresh_at, needs_reauth_since, last_error, created_at, updated_at, "
    "token_obtained_at, refresh_failures, next_refresh_attempt_at, refresh_started_at, account_id";

StatusOr<ConnectionRecord> ReadConnection(const SqliteStatement& s) {
  ConnectionRecord c;
  c.id = s.Text(0);
  c.name = s.Text(1);
  c.provider = s.Text(2);
  auto kind = ParseCredentialKind(s.Text(3));
  auto status = ParseConnectionStatus(s.Text(4));
  if (!kind || !status)
    return DataLossError(ConnectionName(c.name) + " has an unknown kind or status in the store");
  c.kind = *kind;
  c.status = *status;
  c.account = s.Text(5);
  LATCHKEY_ASSIGN_OR_RETURN(c.scopes, DecodeStringList(s.Text(6), ConnectionName(c.name)));
  c.api_base_url = s.Text(7);
  c.token_type = s.Text(8);
  c.expires_at = s.OptTime(9);
  c.access_token = s.OptBlob(10);
  c.refresh_token = s.OptBlob(11);
  c.api_key = s.OptBlob(12);
  c.password = s.OptBlob(13);
  c.username = s.Text(14);
  c.data_key_id = s.OptInt(15);
  c.token_version = s.Int(16);
  c.last_refresh_at = s.OptTime(17);
  c.needs_reauth_since = s.OptTime(18);
  c.last_error = s.Text(19);
  c.created_at = s.Time(20);
  c.updated_at = s.Time(21);
  c.token_obtained_at = s.OptTime(22);
  c.refresh_failures = static_cast<int>(s.Int(23));
  c.next_refresh_attempt_at = s.OptTime(24);
  c.refresh_started_at = s.OptTime(25);
  c.account_id = s.Text(26);
  return c;
}

// Binds every column after id in kConnectionColumns order except token_version,
// created_at and updated_at, which the callers bind themselves.
void BindMutable(SqliteStatement& s, const ConnectionRecord& c) {
  s.Add(c.name).Add(c.provider).Add(CredentialKindName(c.kind)).Add(ConnectionStatusName(c.status));
  s.Add(c.account).Add(EncodeStringList(c.scopes)).Add(c.api_base_url).Add(c.token_type).Add(c.expires_at);
  s.Add(c.access_token)
      .Add(c.refresh_token)
      .Add(c.api_key)
      .Add(c.password)
      .Add(c.username)
      .Add(c.data_key_id);
}

// Binds the columns after updated_at, in kConnectionColumns order.
void BindLaterColumns(SqliteStatement& s, const ConnectionRecord& c) {
  s.Add(c.token_obtained_at)
      .Add(int64_t{c.refresh_failures})
      .Add(c.next_refresh_attempt_at)
      .Add(c.refresh_started_at)
      .Add(c.account_id);
}

StatusOr<std::vector<ConnectionRecord>> SelectConnections(SqliteDb& db, const std::string& where,
                                                          std::optional<std::string_view> arg,
                                                          const char* columns = kConnectionColumns,
                                                          std::optional<TimePoint> time_arg = std::nullopt) {
  std::string sql = std::string("SELECT ") + columns + " FROM connections " + where;
  LATCHKEY_ASSIGN_OR_RETURN(auto stmt, SqliteStatement::Prepare(db, sql));
  if (arg) stmt.Add(*arg);
  if (time_arg) stmt.Add(time_arg);
  std::vector<ConnectionRecord> out;
  for (;;) {
    LATCHKEY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    LATCHKEY_ASSIGN_OR_RETURN(ConnectionRecord c, ReadConnection(stmt));
    out.push_back(std::move(c));
  }
}

}  // namespace

Status SqliteStore::UpsertProvider(const ProviderRecord& p) {
  return Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt, SqliteStatement::Prepare(db, std::string("INSERT INTO providers (") + kProviderColumns +
                                                    ") VALUES (?, ?, ?, ?, ?, ?) "
                                                    "ON CONFLICT (name) DO UPDATE SET "
                                                    "definition = excluded.definition, "
                                                    "client_secret = excluded.client_secret, "
                                                    "data_key_id = excluded.data_key_id, "
                                                    "updated_at = excluded.updated_at"));
    stmt.Add(p.name)
        .Add(p.definition)
        .Add(p.client_secret)
        .Add(p.data_key_id)
        .Add(p.created_at)
        .Add(p.updated_at);
    return NameRow(stmt.Run(), ProviderName(p.name));
  });
}

StatusOr<ProviderRecord> SqliteStore::GetProvider(std::string_view name) {
  std::optional<ProviderRecord> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt, SqliteStatement::Prepare(
                       db, std::string("SELECT ") + kProviderColumns + " FROM providers WHERE name = ?"));
    LATCHKEY_ASSIGN_OR_RETURN(bool row, stmt.Add(name).Step());
    if (row) out = ReadProvider(stmt);
    return Status::Ok();
  });
  if (!done.ok()) return done;
  if (!out) return NotFoundError(ProviderName(name) + " does not exist");
  return std::move(*out);
}

StatusOr<std::vector<ProviderRecord>> SqliteStore::ListProviders() {
  std::vector<ProviderRecord> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    out.clear();
    LATCHKEY_ASSIGN_OR_RETURN(
        auto stmt, SqliteStatement::Prepare(
                       db, std::string("SELECT ") + kProviderColumns + " FROM providers ORDER BY name"));
    for (;;) {
      LATCHKEY_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      out.push_back(ReadProvider(stmt));
    }
  });
  if (!done.ok()) return done;
  return out;
}

Status SqliteStore::InsertConnection(const ConnectionRecord& c) {
  return Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto live, SqliteStatement::Prepare(
                       db, "SELECT 1 FROM connections WHERE name = ? AND status <> 'disconnected'"));
    LATCHKEY_ASSIGN_OR_RETURN(bool taken, live.Add(c.name).Step());
    if (taken) return AlreadyExistsError(ConnectionName(c.name) + " already exists");
    LATCHKEY_ASSIGN_OR_RETURN(
        auto drop,
        SqliteStatement::Prepare(db, "DELETE FROM connections WHERE name = ? AND status = 'disconnected'"));
    LATCHKEY_RETURN_IF_ERROR(drop.Add(c.name).Run());
    LATCHKEY_ASSIGN_OR_RETURN(
        auto insert,
        SqliteStatement::Prepare(db, std::string("INSERT INTO connections (") + kConnectionColumns +
                                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                         "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.Add(c.id);
    BindMutable(insert, c);
    insert.Add(c.token_version).Add(c.last_refresh_at).Add(c.needs_reauth_since).Add(c.last_error);
    insert.Add(c.created_at).Add(c.updated_at);
    BindLaterColumns(insert, c);
    Status s = insert.Run();
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("a connection with id '" + c.id + "' already exists");
    }
    return NameRow(s, ConnectionName(c.name));
  });
}

StatusOr<ConnectionRecord> SqliteStore::GetConnection(std::string_view name) {
  std::vector<ConnectionRecord> found;
  Status done = Read([&](SqliteDb& db) -> Status {
    // The live row wins over a disconnected one of the same name.
    LATCHKEY_ASSIGN_OR_RETURN(found, SelectConnections(db,
                                                       "WHERE name = ? ORDER BY (status = 'disconnected'), "
                                                       "updated_at DESC LIMIT 1",
                                                       name));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  if (found.empty()) return NotFoundError(ConnectionName(name) + " does not exist");
  return std::move(found.front());
}

StatusOr<ConnectionRecord> SqliteStore::GetConnectionById(std::string_view id) {
  std::vector<ConnectionRecord> found;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(found, SelectConnections(db, "WHERE id = ?", id));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  if (found.empty()) return NotFoundError("no connection has id '" + std::string(id) + "'");
  return std::move(found.front());
}

StatusOr<std::vector<ConnectionRecord>> SqliteStore::ListConnectionsForScheduling(
    std::optional<TimePoint> updated_since) {
  std::vector<ConnectionRecord> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(out, SelectConnections(db, updated_since ? "WHERE updated_at >= ?" : "",
                                                     std::nullopt, kSchedulingColumns, updated_since));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

StatusOr<std::vector<ConnectionRecord>> SqliteStore::ListConnections() {
  std::vector<ConnectionRecord> out;
  Status done = Read([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        out, SelectConnections(db, "ORDER BY name, (status = 'disconnected'), id", std::nullopt));
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

Status SqliteStore::UpdateConnection(const ConnectionRecord& c, int64_t expected_token_version,
                                     const std::optional<AlertEvent>& alert) {
  return Write([&](SqliteDb& db) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto update,
        SqliteStatement::Prepare(db,
                                 "UPDATE connections SET name = ?, provider = ?, kind = ?, status = ?, "
                                 "account = ?, scopes = ?, api_base_url = ?, token_type = ?, "
                                 "expires_at = ?, access_token = ?, refresh_token = ?, api_key = ?, "
                                 "password = ?, username = ?, data_key_id = ?, token_version = ?, "
                                 "last_refresh_at = ?, needs_reauth_since = ?, last_error = ?, "
                                 "updated_at = ?, token_obtained_at = ?, refresh_failures = ?, "
                                 "next_refresh_attempt_at = ?, refresh_started_at = ?, account_id = ? "
                                 "WHERE id = ? AND token_version = ?"));
    BindMutable(update, c);
    update.Add(expected_token_version + 1).Add(c.last_refresh_at).Add(c.needs_reauth_since).Add(c.last_error);
    update.Add(c.updated_at);
    BindLaterColumns(update, c);
    update.Add(c.id).Add(expected_token_version);
    LATCHKEY_RETURN_IF_ERROR(NameRow(update.Run(), ConnectionName(c.name)));
    if (db.Changes() == 1) {
      // The alert commits with the state change that causes it, or not at all.
      return alert ? InsertAlert(db, *alert) : Status::Ok();
    }

    LATCHKEY_ASSIGN_OR_RETURN(
        auto current, SqliteStatement::Prepare(db, "SELECT token_version FROM connections WHERE id = ?"));
    LATCHKEY_ASSIGN_OR_RETURN(bool exists, current.Add(c.id).Step());
    if (!exists) return NotFoundError(ConnectionName(c.name) + " does not exist");
    return AbortedError(ConnectionName(c.name) + " was changed by another writer (token_version is " +
                        std::to_string(current.Int(0)) + ", expected " +
                        std::to_string(expected_token_version) + "); reload it and retry");
  });
}

}  // namespace latchkey::store::sqlite
