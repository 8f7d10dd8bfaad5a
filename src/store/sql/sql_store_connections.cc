// Providers and connections.
#include <chrono>
#include <optional>
#include <string>

#include "store/sql/row_codec.h"
#include "store/sql/sql_store.h"

namespace latchkey::store::sql {
namespace {

std::string ProviderName(std::string_view name) { return "provider '" + std::string(name) + "'"; }
std::string ConnectionName(std::string_view name) { return "connection '" + std::string(name) + "'"; }

constexpr const char* kProviderColumns =
    "name, definition, client_secret, data_key_id, created_at, updated_at";

ProviderRecord ReadProvider(const Row& r) {
  return {r.Text(0), r.Text(1), r.OptBlob(2), r.OptInt(3), r.Time(4), r.Time(5)};
}

// Column order shared by SELECT, INSERT and ReadConnection.
constexpr const char* kConnectionColumns =
    "id, name, provider, kind, status, account, scopes, api_base_url, token_type, expires_at, "
    "access_token, refresh_token, api_key, password, username, data_key_id, token_version, "
    "last_refresh_at, needs_reauth_since, last_error, created_at, updated_at, "
    "token_obtained_at, refresh_failures, next_refresh_attempt_at, refresh_started_at, account_id, "
    "consented_at, refresh_server_expires_at, refresh_lifetime_override, refresh_idle_lifetime_override, "
    "expiring_alerted_for";

// kConnectionColumns with the sealed columns read as NULL (ListConnectionsForScheduling),
// but for the refresh token: no bytes when there is one (whether there is one decides
// its forecast), NULL when not.
constexpr const char* kSchedulingColumns =
    "id, name, provider, kind, status, account, scopes, api_base_url, token_type, expires_at, "
    "NULL, substr(refresh_token, 1, 0), NULL, NULL, username, data_key_id, token_version, "
    "last_refresh_at, needs_reauth_since, last_error, created_at, updated_at, "
    "token_obtained_at, refresh_failures, next_refresh_attempt_at, refresh_started_at, account_id, "
    "consented_at, refresh_server_expires_at, refresh_lifetime_override, refresh_idle_lifetime_override, "
    "expiring_alerted_for";

// Durations are whole seconds in the store.
std::optional<std::chrono::seconds> OptSeconds(std::optional<int64_t> seconds) {
  if (!seconds) return std::nullopt;
  return std::chrono::seconds(*seconds);
}
std::optional<int64_t> SecondsOrNull(std::optional<std::chrono::seconds> duration) {
  if (!duration) return std::nullopt;
  return duration->count();
}

StatusOr<ConnectionRecord> ReadConnection(const Row& r) {
  ConnectionRecord c;
  c.id = r.Text(0);
  c.name = r.Text(1);
  c.provider = r.Text(2);
  auto kind = ParseCredentialKind(r.Text(3));
  auto status = ParseConnectionStatus(r.Text(4));
  if (!kind || !status)
    return DataLossError(ConnectionName(c.name) + " has an unknown kind or status in the store");
  c.kind = *kind;
  c.status = *status;
  c.account = r.Text(5);
  LATCHKEY_ASSIGN_OR_RETURN(c.scopes, DecodeStringList(r.Text(6), ConnectionName(c.name)));
  c.api_base_url = r.Text(7);
  c.token_type = r.Text(8);
  c.expires_at = r.OptTime(9);
  c.access_token = r.OptBlob(10);
  c.refresh_token = r.OptBlob(11);
  c.api_key = r.OptBlob(12);
  c.password = r.OptBlob(13);
  c.username = r.Text(14);
  c.data_key_id = r.OptInt(15);
  c.token_version = r.Int(16);
  c.last_refresh_at = r.OptTime(17);
  c.needs_reauth_since = r.OptTime(18);
  c.last_error = r.Text(19);
  c.created_at = r.Time(20);
  c.updated_at = r.Time(21);
  c.token_obtained_at = r.OptTime(22);
  c.refresh_failures = static_cast<int>(r.Int(23));
  c.next_refresh_attempt_at = r.OptTime(24);
  c.refresh_started_at = r.OptTime(25);
  c.account_id = r.Text(26);
  c.consented_at = r.OptTime(27);
  c.refresh_server_expires_at = r.OptTime(28);
  c.refresh_lifetime_override = OptSeconds(r.OptInt(29));
  c.refresh_idle_lifetime_override = OptSeconds(r.OptInt(30));
  c.expiring_alerted_for = r.OptTime(31);
  return c;
}

// Adds every column after id in kConnectionColumns order except token_version,
// created_at and updated_at, which the callers add themselves.
void AddMutable(Params& p, const ConnectionRecord& c) {
  p.Add(c.name).Add(c.provider).Add(CredentialKindName(c.kind)).Add(ConnectionStatusName(c.status));
  p.Add(c.account).Add(EncodeStringList(c.scopes)).Add(c.api_base_url).Add(c.token_type).Add(c.expires_at);
  p.Add(c.access_token)
      .Add(c.refresh_token)
      .Add(c.api_key)
      .Add(c.password)
      .Add(c.username)
      .Add(c.data_key_id);
}

// Binds the columns after updated_at, in kConnectionColumns order.
void AddLaterColumns(Params& p, const ConnectionRecord& c) {
  p.Add(c.token_obtained_at)
      .Add(int64_t{c.refresh_failures})
      .Add(c.next_refresh_attempt_at)
      .Add(c.refresh_started_at)
      .Add(c.account_id)
      .Add(c.consented_at)
      .Add(c.refresh_server_expires_at)
      .Add(SecondsOrNull(c.refresh_lifetime_override))
      .Add(SecondsOrNull(c.refresh_idle_lifetime_override))
      .Add(c.expiring_alerted_for);
}

StatusOr<std::vector<ConnectionRecord>> SelectConnections(Tx& tx, const std::string& where,
                                                          const Params& params,
                                                          const char* columns = kConnectionColumns) {
  return Select(tx, std::string("SELECT ") + columns + " FROM connections " + where, params, ReadConnection);
}

}  // namespace

Status SqlStore::UpsertProvider(const ProviderRecord& p) {
  return Write([&](Tx& tx) -> Status {
    Params params;
    params.Add(p.name)
        .Add(p.definition)
        .Add(p.client_secret)
        .Add(p.data_key_id)
        .Add(p.created_at)
        .Add(p.updated_at);
    return NameRow(tx.Exec(std::string("INSERT INTO providers (") + kProviderColumns +
                               ") VALUES (?, ?, ?, ?, ?, ?) "
                               "ON CONFLICT (name) DO UPDATE SET "
                               "definition = excluded.definition, "
                               "client_secret = excluded.client_secret, "
                               "data_key_id = excluded.data_key_id, "
                               "updated_at = excluded.updated_at",
                           params)
                       .status(),
                   ProviderName(p.name));
  });
}

StatusOr<ProviderRecord> SqlStore::GetProvider(std::string_view name) {
  LATCHKEY_ASSIGN_OR_RETURN(
      std::vector<ProviderRecord> found, Read<std::vector<ProviderRecord>>([&](Tx& tx) {
        return Select(tx, std::string("SELECT ") + kProviderColumns + " FROM providers WHERE name = ?",
                      Params().Add(name), ReadProvider);
      }));
  if (found.empty()) return NotFoundError(ProviderName(name) + " does not exist");
  return std::move(found.front());
}

StatusOr<std::vector<ProviderRecord>> SqlStore::ListProviders() {
  return Read<std::vector<ProviderRecord>>([](Tx& tx) {
    return Select(tx, std::string("SELECT ") + kProviderColumns + " FROM providers ORDER BY name", {},
                  ReadProvider);
  });
}

Status SqlStore::InsertConnection(const ConnectionRecord& c) {
  return Write([&](Tx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        auto live, tx.Query("SELECT 1 FROM connections WHERE name = ? AND status <> 'disconnected'",
                            Params().Add(c.name)));
    if (!live.empty()) return AlreadyExistsError(ConnectionName(c.name) + " already exists");
    LATCHKEY_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM connections WHERE name = ? AND status = 'disconnected'", Params().Add(c.name)));
    Params params;
    params.Add(c.id);
    AddMutable(params, c);
    params.Add(c.token_version).Add(c.last_refresh_at).Add(c.needs_reauth_since).Add(c.last_error);
    params.Add(c.created_at).Add(c.updated_at);
    AddLaterColumns(params, c);
    Status s = tx.Exec(std::string("INSERT INTO connections (") + kConnectionColumns +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                           "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       params)
                   .status();
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("a connection with id '" + c.id + "' already exists");
    }
    return NameRow(s, ConnectionName(c.name));
  });
}

StatusOr<ConnectionRecord> SqlStore::GetConnection(std::string_view name) {
  // The live row wins over a disconnected one of the same name.
  LATCHKEY_ASSIGN_OR_RETURN(
      std::vector<ConnectionRecord> found, Read<std::vector<ConnectionRecord>>([&](Tx& tx) {
        return SelectConnections(tx,
                                 "WHERE name = ? ORDER BY (status = 'disconnected'), updated_at DESC LIMIT 1",
                                 Params().Add(name));
      }));
  if (found.empty()) return NotFoundError(ConnectionName(name) + " does not exist");
  return std::move(found.front());
}

StatusOr<ConnectionRecord> SqlStore::GetConnectionById(std::string_view id) {
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<ConnectionRecord> found,
                            Read<std::vector<ConnectionRecord>>([&](Tx& tx) {
                              return SelectConnections(tx, "WHERE id = ?", Params().Add(id));
                            }));
  if (found.empty()) return NotFoundError("no connection has id '" + std::string(id) + "'");
  return std::move(found.front());
}

StatusOr<std::vector<ConnectionRecord>> SqlStore::ListConnectionsForScheduling(
    std::optional<TimePoint> updated_since) {
  Params params;
  if (updated_since) params.Add(updated_since);
  return Read<std::vector<ConnectionRecord>>([&](Tx& tx) {
    return SelectConnections(tx, updated_since ? "WHERE updated_at >= ?" : "", params, kSchedulingColumns);
  });
}

StatusOr<std::vector<ConnectionRecord>> SqlStore::ListConnections() {
  return Read<std::vector<ConnectionRecord>>([&](Tx& tx) {
    return SelectConnections(tx, "ORDER BY name, (status = 'disconnected'), id", Params());
  });
}

Status SqlStore::UpdateConnection(const ConnectionRecord& c, int64_t expected_token_version,
                                  const std::optional<AlertEvent>& alert) {
  return Write([&](Tx& tx) -> Status {
    if (c.refresh_started_at) {
      // A refresh is starting (a new marker): not at a store that was handed over.
      LATCHKEY_ASSIGN_OR_RETURN(
          std::vector<Row> marked,
          tx.Query("SELECT refresh_started_at FROM connections WHERE id = ?", Params().Add(c.id)));
      if (!marked.empty() && marked.front().OptTime(0) != c.refresh_started_at) {
        LATCHKEY_RETURN_IF_ERROR(
            RefuseIfHandedOver(tx, "starts refreshes").WithContext(ConnectionName(c.name)));
      }
    }
    Params params;
    AddMutable(params, c);
    params.Add(expected_token_version + 1).Add(c.last_refresh_at).Add(c.needs_reauth_since).Add(c.last_error);
    params.Add(c.updated_at);
    AddLaterColumns(params, c);
    params.Add(c.id).Add(expected_token_version);
    StatusOr<int64_t> changed = tx.Exec(
        "UPDATE connections SET name = ?, provider = ?, kind = ?, status = ?, "
        "account = ?, scopes = ?, api_base_url = ?, token_type = ?, "
        "expires_at = ?, access_token = ?, refresh_token = ?, api_key = ?, "
        "password = ?, username = ?, data_key_id = ?, token_version = ?, "
        "last_refresh_at = ?, needs_reauth_since = ?, last_error = ?, "
        "updated_at = ?, token_obtained_at = ?, refresh_failures = ?, "
        "next_refresh_attempt_at = ?, refresh_started_at = ?, account_id = ?, "
        "consented_at = ?, refresh_server_expires_at = ?, refresh_lifetime_override = ?, "
        "refresh_idle_lifetime_override = ?, expiring_alerted_for = ? "
        "WHERE id = ? AND token_version = ?",
        params);
    LATCHKEY_RETURN_IF_ERROR(NameRow(changed.status(), ConnectionName(c.name)));
    if (*changed == 1) {
      // The alert commits with the state change that causes it, or not at all.
      return alert ? InsertAlert(tx, *alert) : Status::Ok();
    }

    LATCHKEY_ASSIGN_OR_RETURN(
        auto current, tx.Query("SELECT token_version FROM connections WHERE id = ?", Params().Add(c.id)));
    if (current.empty()) return NotFoundError(ConnectionName(c.name) + " does not exist");
    return AbortedError(ConnectionName(c.name) + " was changed by another writer (token_version is " +
                        std::to_string(current.front().Int(0)) + ", expected " +
                        std::to_string(expected_token_version) + "); reload it and retry");
  });
}

}  // namespace latchkey::store::sql
