// latchkey's own OAuth authorization server for /mcp (issue 23): clients, consents, and
// codes and tokens by hash.
#include <string>

#include "store/sql/row_codec.h"
#include "store/sql/sql_store.h"

namespace latchkey::store::sql {
namespace {

std::string ClientName(std::string_view id) { return "MCP client '" + std::string(id) + "'"; }

constexpr const char* kClientColumns =
    "client_id, kind, name, logo_uri, redirect_uris, token_endpoint_auth_method, client_secret_hash, "
    "document_expires_at, created_at, updated_at";
constexpr std::string_view kMetadataDocument = "metadata_document";
constexpr std::string_view kRegistered = "registered";

StatusOr<McpClientRecord> ReadClient(const Row& r) {
  McpClientRecord c;
  c.client_id = r.Text(0);
  c.metadata_document = r.Text(1) == kMetadataDocument;
  c.name = r.Text(2);
  c.logo_uri = r.Text(3);
  LATCHKEY_ASSIGN_OR_RETURN(c.redirect_uris, DecodeStringList(r.Text(4), ClientName(c.client_id)));
  c.token_endpoint_auth_method = r.Text(5);
  c.client_secret_hash = r.OptBlob(6);
  c.document_expires_at = r.OptTime(7);
  c.created_at = r.Time(8);
  c.updated_at = r.Time(9);
  return c;
}

constexpr const char* kConsentColumns = "client_id, agent, scopes, created_at, revoked_at";

StatusOr<McpConsentRecord> ReadConsent(const Row& r) {
  McpConsentRecord c;
  c.client_id = r.Text(0);
  c.agent = r.Text(1);
  LATCHKEY_ASSIGN_OR_RETURN(c.scopes, DecodeStringList(r.Text(2), ClientName(c.client_id)));
  c.created_at = r.Time(3);
  c.revoked_at = r.OptTime(4);
  return c;
}

constexpr const char* kTokenColumns =
    "token_hash, kind, family_id, client_id, agent, resource, scopes, redirect_uri, code_challenge, "
    "created_at, "
    "expires_at, used_at, revoked_at";

StatusOr<McpTokenRecord> ReadToken(const Row& r) {
  McpTokenRecord t;
  t.token_hash = r.Blob(0);
  std::optional<McpTokenKind> kind = ParseMcpTokenKind(r.Text(1));
  if (!kind) return DataLossError("an MCP token row has the unknown kind '" + r.Text(1) + "'");
  t.kind = *kind;
  t.family_id = r.Text(2);
  t.client_id = r.Text(3);
  t.agent = r.Text(4);
  t.resource = r.Text(5);
  LATCHKEY_ASSIGN_OR_RETURN(t.scopes, DecodeStringList(r.Text(6), ClientName(t.client_id)));
  t.redirect_uri = r.Text(7);
  t.code_challenge = r.Text(8);
  t.created_at = r.Time(9);
  t.expires_at = r.Time(10);
  t.used_at = r.OptTime(11);
  t.revoked_at = r.OptTime(12);
  return t;
}

StatusOr<std::vector<McpTokenRecord>> SelectTokens(Tx& tx, const Bytes& hash) {
  return Select(tx, std::string("SELECT ") + kTokenColumns + " FROM mcp_tokens WHERE token_hash = ?",
                Params().Add(hash), ReadToken);
}

Status InsertToken(Tx& tx, const McpTokenRecord& t) {
  Params params;
  params.Add(t.token_hash)
      .Add(McpTokenKindName(t.kind))
      .Add(t.family_id)
      .Add(t.client_id)
      .Add(t.agent)
      .Add(t.resource)
      .Add(EncodeStringList(t.scopes))
      .Add(t.redirect_uri)
      .Add(t.code_challenge)
      .Add(t.created_at)
      .Add(t.expires_at)
      .Add(t.used_at)
      .Add(t.revoked_at);
  return NameRow(tx.Exec(std::string("INSERT INTO mcp_tokens (") + kTokenColumns +
                             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         params)
                     .status(),
                 "an MCP " + std::string(McpTokenKindName(t.kind)));
}

StatusOr<int64_t> RevokeFamily(Tx& tx, std::string_view family_id, TimePoint at) {
  return tx.Exec("UPDATE mcp_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
                 Params().Add(at).Add(family_id));
}

}  // namespace

Status SqlStore::UpsertMcpClient(const McpClientRecord& c) {
  return Write([&](Tx& tx) -> Status {
    Params params;
    params.Add(c.client_id)
        .Add(c.metadata_document ? kMetadataDocument : kRegistered)
        .Add(c.name)
        .Add(c.logo_uri)
        .Add(EncodeStringList(c.redirect_uris))
        .Add(c.token_endpoint_auth_method)
        .Add(c.client_secret_hash)
        .Add(c.document_expires_at)
        .Add(c.created_at)
        .Add(c.updated_at);
    return tx
        .Exec(std::string("INSERT INTO mcp_clients (") + kClientColumns +
                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET "
                  "kind = excluded.kind, name = excluded.name, logo_uri = excluded.logo_uri, "
                  "redirect_uris = excluded.redirect_uris, "
                  "token_endpoint_auth_method = excluded.token_endpoint_auth_method, "
                  "client_secret_hash = excluded.client_secret_hash, "
                  "document_expires_at = excluded.document_expires_at, updated_at = excluded.updated_at",
              params)
        .status();
  });
}

StatusOr<McpClientRecord> SqlStore::GetMcpClient(std::string_view client_id) {
  LATCHKEY_ASSIGN_OR_RETURN(
      std::vector<McpClientRecord> found, Read<std::vector<McpClientRecord>>([&](Tx& tx) {
        return Select(tx, std::string("SELECT ") + kClientColumns + " FROM mcp_clients WHERE client_id = ?",
                      Params().Add(client_id), ReadClient);
      }));
  if (found.empty()) return NotFoundError(ClientName(client_id) + " is not known");
  return std::move(found.front());
}

Status SqlStore::UpsertMcpConsent(const McpConsentRecord& c) {
  return Write([&](Tx& tx) -> Status {
    Params params;
    params.Add(c.client_id).Add(c.agent).Add(EncodeStringList(c.scopes)).Add(c.created_at).Add(c.revoked_at);
    return tx
        .Exec(std::string("INSERT INTO mcp_consents (") + kConsentColumns +
                  ") VALUES (?, ?, ?, ?, ?) ON CONFLICT (client_id, agent) DO UPDATE SET "
                  "scopes = excluded.scopes, created_at = excluded.created_at, revoked_at = "
                  "excluded.revoked_at",
              params)
        .status();
  });
}

StatusOr<std::vector<McpConsentRecord>> SqlStore::ListMcpConsents() {
  return Read<std::vector<McpConsentRecord>>([&](Tx& tx) {
    return Select(tx,
                  std::string("SELECT ") + kConsentColumns + " FROM mcp_consents ORDER BY agent, client_id",
                  Params(), ReadConsent);
  });
}

Status SqlStore::RevokeMcpConsent(std::string_view client_id, std::string_view agent, TimePoint at) {
  return Write([&](Tx& tx) -> Status {
    LATCHKEY_ASSIGN_OR_RETURN(
        int64_t changed,
        tx.Exec(
            "UPDATE mcp_consents SET revoked_at = ? WHERE client_id = ? AND agent = ? AND revoked_at IS NULL",
            Params().Add(at).Add(client_id).Add(agent)));
    if (changed == 0) {
      return NotFoundError("no consent lets " + ClientName(client_id) + " act as agent '" +
                           std::string(agent) + "'");
    }
    return tx
        .Exec("UPDATE mcp_tokens SET revoked_at = ? WHERE client_id = ? AND agent = ? AND revoked_at IS NULL",
              Params().Add(at).Add(client_id).Add(agent))
        .status();
  });
}

Status SqlStore::InsertMcpToken(const McpTokenRecord& t) {
  return Write([&](Tx& tx) -> Status { return InsertToken(tx, t); });
}

StatusOr<McpTokenRecord> SqlStore::GetMcpToken(const Bytes& token_hash) {
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<McpTokenRecord> found, Read<std::vector<McpTokenRecord>>([&](Tx& tx) {
                              return SelectTokens(tx, token_hash);
                            }));
  if (found.empty()) return NotFoundError("no such MCP token");
  return std::move(found.front());
}

StatusOr<McpTokenRecord> SqlStore::SpendMcpToken(const Bytes& token_hash, TimePoint now,
                                                 const std::vector<McpTokenRecord>& issued,
                                                 Duration reuse_grace) {
  McpTokenRecord token;
  Status refused;  // decided in the transaction, which still commits (a replay's revocation)
  const Status done = Write([&](Tx& tx) -> Status {
    refused = RefuseIfHandedOver(tx, "issues MCP tokens");
    if (!refused.ok()) return Status::Ok();
    LATCHKEY_ASSIGN_OR_RETURN(std::vector<McpTokenRecord> found, SelectTokens(tx, token_hash));
    if (found.empty()) {
      refused = NotFoundError("no such MCP token");
      return Status::Ok();
    }
    token = std::move(found.front());
    const std::string what =
        "the " + std::string(token.kind == McpTokenKind::kCode ? "authorization code" : "refresh token");
    // A replay: the first use may have been a thief's, and the client cannot tell which
    // copy is its own, so everything issued from it ends.
    auto replayed = [&]() -> Status {
      LATCHKEY_RETURN_IF_ERROR(RevokeFamily(tx, token.family_id, now).status());
      refused = FailedPreconditionError(what + " was used already; every token issued from it is revoked");
      return Status::Ok();
    };
    const bool again_in_grace =
        token.used_at && token.kind == McpTokenKind::kRefresh && now - *token.used_at <= reuse_grace;
    if (token.used_at && !again_in_grace) return replayed();
    if (token.revoked_at) {
      refused = PermissionDeniedError(what + " was revoked");
      return Status::Ok();
    }
    if (token.expires_at <= now) {
      refused = PermissionDeniedError(what + " expired");
      return Status::Ok();
    }
    LATCHKEY_ASSIGN_OR_RETURN(
        std::vector<Row> standing,
        tx.Query("SELECT 1 FROM mcp_consents c JOIN agents a ON a.name = c.agent WHERE c.client_id = ? AND "
                 "c.agent = ? AND c.revoked_at IS NULL AND a.revoked_at IS NULL",
                 Params().Add(token.client_id).Add(token.agent)));
    if (standing.empty()) {
      refused = PermissionDeniedError("the consent " + what + " was issued under, or its agent, was revoked");
      return Status::Ok();
    }
    if (!again_in_grace) {
      LATCHKEY_ASSIGN_OR_RETURN(
          int64_t changed,
          tx.Exec("UPDATE mcp_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
                  Params().Add(now).Add(token_hash)));
      if (changed == 0) return replayed();  // (the transactions serialize; kept as the guard)
    }
    for (const McpTokenRecord& t : issued) LATCHKEY_RETURN_IF_ERROR(InsertToken(tx, t));
    return Status::Ok();
  });
  LATCHKEY_RETURN_IF_ERROR(done);
  LATCHKEY_RETURN_IF_ERROR(refused);
  return token;
}

StatusOr<int64_t> SqlStore::RevokeMcpFamily(std::string_view family_id, TimePoint at) {
  return Write<int64_t>([&](Tx& tx) { return RevokeFamily(tx, family_id, at); });
}

StatusOr<Store::McpRowsDeleted> SqlStore::DeleteStaleMcpRows(TimePoint expired_before,
                                                             TimePoint unused_since) {
  return Write<McpRowsDeleted>([&](Tx& tx) -> StatusOr<McpRowsDeleted> {
    McpRowsDeleted deleted;
    LATCHKEY_ASSIGN_OR_RETURN(
        deleted.tokens, tx.Exec("DELETE FROM mcp_tokens WHERE expires_at < ?", Params().Add(expired_before)));
    LATCHKEY_ASSIGN_OR_RETURN(
        deleted.clients,
        tx.Exec("DELETE FROM mcp_clients WHERE created_at < ? AND "
                "NOT EXISTS (SELECT 1 FROM mcp_consents c WHERE c.client_id = mcp_clients.client_id) AND "
                "NOT EXISTS (SELECT 1 FROM mcp_tokens t WHERE t.client_id = mcp_clients.client_id)",
                Params().Add(unused_since)));
    return deleted;
  });
}

}  // namespace latchkey::store::sql
