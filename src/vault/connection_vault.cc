#include "vault/connection_vault.h"

#include <algorithm>

#include "oauth/token_fields.h"
#include "vault/alert_events.h"

namespace latchkey::vault {
namespace {

constexpr std::string_view kTable = "connections";

store::CredentialKind KindOf(provider::AuthKind auth) {
  switch (auth) {
    case provider::AuthKind::kOAuth2: return store::CredentialKind::kOAuth2;
    case provider::AuthKind::kApiKey: return store::CredentialKind::kApiKey;
    case provider::AuthKind::kBasic: return store::CredentialKind::kBasic;
  }
  return store::CredentialKind::kOAuth2;
}

std::string Quoted(std::string_view name) { return "connection '" + std::string(name) + "'"; }

// Records who the grant belongs to; a label from the identity beats the token response's.
void SetOwner(store::ConnectionRecord& record, const GrantOwner& owner) {
  if (owner.account.id.empty()) {
    if (owner.allow_switch) record.account_id.clear();
    return;
  }
  record.account_id = owner.account.id;
  if (!owner.account.label.empty()) record.account = owner.account.label;
}

}  // namespace

bool IsValidSlug(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '-' || c == '_' || c == '.'; });
}

ConnectionVault::ConnectionVault(std::shared_ptr<store::Store> store, const KeyManager& keys,
                                 const ProviderRegistry& providers, const Clock& clock, Random& random)
    : store_(std::move(store)), keys_(keys), providers_(providers), clock_(clock), random_(random) {}

StatusOr<store::ConnectionRecord> ConnectionVault::Seal(store::ConnectionRecord record,
                                                        const ImportedCredentials& credentials) const {
  auto seal = [&](const SecretString& value,
                  std::string_view column) -> StatusOr<std::optional<store::Ciphertext>> {
    if (value.empty()) return std::optional<store::Ciphertext>();
    LATCHKEY_ASSIGN_OR_RETURN(store::Ciphertext sealed,
                              keys_.Seal(value.reveal(), {kTable, record.id, column}));
    return std::optional<store::Ciphertext>(std::move(sealed));
  };
  LATCHKEY_ASSIGN_OR_RETURN(record.access_token, seal(credentials.access_token, "access_token"));
  LATCHKEY_ASSIGN_OR_RETURN(record.refresh_token, seal(credentials.refresh_token, "refresh_token"));
  LATCHKEY_ASSIGN_OR_RETURN(record.api_key, seal(credentials.api_key, "api_key"));
  LATCHKEY_ASSIGN_OR_RETURN(record.password, seal(credentials.password, "password"));
  LATCHKEY_ASSIGN_OR_RETURN(record.data_key_id, keys_.ActiveDataKeyId());
  record.username = credentials.username;
  record.token_type = credentials.token_type;
  record.scopes = credentials.scopes;
  record.expires_at.reset();
  if (credentials.expires_in) record.expires_at = clock_.Now() + *credentials.expires_in;
  record.token_obtained_at.reset();
  if (!credentials.access_token.empty()) record.token_obtained_at = clock_.Now();
  if (!credentials.account.empty()) record.account = credentials.account;
  if (!credentials.api_base_url.empty()) record.api_base_url = credentials.api_base_url;
  return record;
}

Status ConnectionVault::SealAndWrite(
    const store::ConnectionRecord& record, const ImportedCredentials& credentials,
    const std::function<Status(const store::ConnectionRecord&)>& write) const {
  for (int attempt = 0;; ++attempt) {
    LATCHKEY_ASSIGN_OR_RETURN(store::ConnectionRecord sealed, Seal(record, credentials));
    Status written = write(sealed);
    if (written.code() != StatusCode::kFailedPrecondition || attempt > 0) return written;
    LATCHKEY_RETURN_IF_ERROR(keys_.Reload());
  }
}

StatusOr<store::ConnectionRecord> ConnectionVault::Import(ImportRequest request) {
  struct Wiper {
    std::string& s;
    ~Wiper() { WipeString(s); }
  } wiper{request.document};

  if (!IsValidSlug(request.name)) {
    return InvalidArgumentError("'" + request.name +
                                "' is not a valid connection name: use 1-64 lower-case letters, digits, '-', "
                                "'_' or '.', starting with a letter or digit");
  }
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition provider, providers_.Get(request.provider));
  LATCHKEY_RETURN_IF_ERROR(provider::RequireConcrete(provider));
  LATCHKEY_ASSIGN_OR_RETURN(ImportedCredentials credentials,
                            ParseImportDocument(request.document, request.source, provider));

  StatusOr<store::ConnectionRecord> existing = store_->GetConnection(request.name);
  const bool exists = existing.ok() && existing->status != store::ConnectionStatus::kDisconnected;
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return existing.status();

  if (exists) {
    if (!request.replace) {
      return AlreadyExistsError(Quoted(request.name) +
                                " exists already: pass --replace to overwrite its credentials, or choose "
                                "another name");
    }
    if (existing->provider != provider.name) {
      return InvalidArgumentError(Quoted(request.name) + " belongs to provider '" + existing->provider +
                                  "', not '" + provider.name + "'");
    }
    store::ConnectionRecord record = *existing;
    record.status = store::ConnectionStatus::kActive;
    record.needs_reauth_since.reset();
    record.last_error.clear();
    record.updated_at = clock_.Now();
    // Credentials from elsewhere: their grant counts from now, with no server figure.
    record.consented_at = record.updated_at;
    record.refresh_server_expires_at.reset();
    record.expiring_alerted_for.reset();
    const int64_t version = existing->token_version;
    LATCHKEY_RETURN_IF_ERROR(SealAndWrite(record, credentials, [&](const store::ConnectionRecord& sealed) {
      return store_->UpdateConnection(sealed, version);
    }));
    return Get(request.name);
  }

  store::ConnectionRecord record;
  record.id = random_.Hex(16);
  record.name = request.name;
  record.provider = provider.name;
  record.kind = KindOf(provider.auth);
  record.status = store::ConnectionStatus::kActive;
  record.created_at = record.updated_at = clock_.Now();
  record.consented_at = record.created_at;
  LATCHKEY_RETURN_IF_ERROR(SealAndWrite(record, credentials, [&](const store::ConnectionRecord& sealed) {
    return store_->InsertConnection(sealed);
  }));
  return Get(request.name);
}

StatusOr<store::ConnectionRecord> ConnectionVault::WithTokens(store::ConnectionRecord record,
                                                              const oauth::TokenResponse& tokens,
                                                              const SecretString& previous_refresh_token,
                                                              TimePoint asked_at) const {
  ImportedCredentials credentials;
  credentials.access_token = tokens.access_token;
  credentials.refresh_token = tokens.refresh_token.empty() ? previous_refresh_token : tokens.refresh_token;
  credentials.token_type = oauth::NormalizeTokenType(tokens.token_type);
  credentials.scopes = tokens.scopes_in_response ? tokens.scopes : record.scopes;
  // No lifetime from the server or the entry, and nothing to renew the token with
  // (SurveyMonkey, Todoist: tokens that live until revoked): it has no expiry, so the API's
  // 401 ends the grant, not an assumed hour after which latchkey would end a working one.
  const bool renewable =
      !credentials.refresh_token.empty() || record.kind == store::CredentialKind::kClientCredentials;
  if (renewable || !tokens.expires_in_assumed) credentials.expires_in = tokens.expires_in;
  credentials.account = tokens.account;
  credentials.api_base_url = tokens.api_base_url;
  LATCHKEY_ASSIGN_OR_RETURN(record, Seal(std::move(record), credentials));
  const TimePoint now = clock_.Now();
  record.token_obtained_at = asked_at;
  record.expires_at.reset();
  if (credentials.expires_in) record.expires_at = asked_at + *credentials.expires_in;
  // The server's figure for the refresh token's end: a new one with each answer that
  // carries it; none for a new refresh token that came without one.
  if (tokens.refresh_expires_at) {
    record.refresh_server_expires_at = tokens.refresh_expires_at;
  } else if (!tokens.refresh_token.empty()) {
    record.refresh_server_expires_at.reset();
  }
  record.last_refresh_at = now;
  record.refresh_failures = 0;
  record.next_refresh_attempt_at.reset();
  record.refresh_started_at.reset();
  record.last_error.clear();
  record.updated_at = now;
  return record;
}

StatusOr<store::ConnectionRecord> ConnectionVault::SaveGrant(
    std::string_view name, const provider::ProviderDefinition& provider, const oauth::TokenResponse& tokens,
    const std::vector<std::string>& requested_scopes, store::CredentialKind kind, const GrantOwner& owner) {
  if (!IsValidSlug(name)) {
    return InvalidArgumentError("'" + std::string(name) + "' is not a valid connection name");
  }
  oauth::TokenResponse granted = tokens;
  if (!granted.scopes_in_response) {
    granted.scopes = requested_scopes;
    granted.scopes_in_response = true;
  }
  StatusOr<store::ConnectionRecord> existing = store_->GetConnection(name);
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return existing.status();
  if (existing.ok() && existing->status != store::ConnectionStatus::kDisconnected) {
    if (existing->provider != provider.name) {
      return InvalidArgumentError(Quoted(name) + " belongs to provider '" + existing->provider + "', not '" +
                                  provider.name + "'");
    }
    const bool was_reauth = existing->status == store::ConnectionStatus::kNeedsReauth;
    // A user's grant must be shown to be the same account's, or the human must have chosen
    // to accept another: an unknown account on either side proves nothing.
    const bool user_grant = store::HasUserGrant(kind);
    const bool same = !existing->account_id.empty() && owner.account.id == existing->account_id;
    const bool switched = owner.account.id != existing->account_id;
    const std::string before = DescribeAccount(existing->account_id, existing->account);
    const std::string how =
        "open the consent link again and tick \"switch account\" (at a terminal: latchkey connect "
        "--switch-account)";
    if (user_grant && !same && !owner.allow_switch) {
      if (existing->account_id.empty()) {
        return FailedPreconditionError("latchkey does not know which account " + Quoted(name) +
                                       " belongs to, so it cannot tell whether the new grant (account " +
                                       DescribeAccount(owner.account.id, owner.account.label) +
                                       ") is the same one; nothing was stored. To accept it, " + how);
      }
      if (owner.account.id.empty()) {
        return FailedPreconditionError("the account of the new grant for " + Quoted(name) +
                                       " could not be confirmed (" + owner.unknown_because +
                                       "), so it cannot be compared with the connection's account, " +
                                       before + "; nothing was stored. To accept it anyway, " + how);
      }
      return PermissionDeniedError(
          "the consent for " + Quoted(name) + " came back as account " +
          DescribeAccount(owner.account.id, owner.account.label) + ", but the connection belongs to " +
          before +
          "; nothing was stored. To move the connection to that account, open the consent link again and "
          "choose \"switch account\"");
    }
    store::ConnectionRecord record = *existing;
    record.kind = kind;
    record.status = store::ConnectionStatus::kActive;
    record.needs_reauth_since.reset();
    record.consented_at = clock_.Now();  // a new grant: its absolute lifetime starts again
    record.expiring_alerted_for.reset();
    LATCHKEY_ASSIGN_OR_RETURN(record, WithTokens(std::move(record), granted, SecretString(), clock_.Now()));
    if (user_grant && switched) record.account = tokens.account;
    SetOwner(record, owner);
    std::optional<store::AlertEvent> alert;
    if (user_grant && switched) {
      alert = MakeAlert(
          "connection.account_changed", record, existing->token_version + 1, clock_.Now(),
          {{"previous_account", before}, {"account", DescribeAccount(record.account_id, record.account)}});
    } else if (was_reauth) {
      alert = MakeAlert("connection.reconnected", record, existing->token_version + 1, clock_.Now());
    }
    LATCHKEY_RETURN_IF_ERROR(store_->UpdateConnection(record, existing->token_version, alert));
    return Get(name);
  }
  store::ConnectionRecord record;
  record.id = random_.Hex(16);
  record.name = std::string(name);
  record.provider = provider.name;
  record.kind = kind;
  record.status = store::ConnectionStatus::kActive;
  record.created_at = clock_.Now();
  record.consented_at = record.created_at;
  LATCHKEY_ASSIGN_OR_RETURN(record, WithTokens(std::move(record), granted, SecretString(), clock_.Now()));
  SetOwner(record, owner);
  LATCHKEY_RETURN_IF_ERROR(store_->InsertConnection(record));
  return Get(name);
}

StatusOr<store::ConnectionRecord> ConnectionVault::Get(std::string_view name) const {
  return store_->GetConnection(name);
}

RefreshForecast ConnectionVault::Forecast(const store::ConnectionRecord& connection) const {
  StatusOr<provider::ProviderDefinition> provider = providers_.Get(connection.provider);
  return ForecastRefreshExpiry(connection,
                               provider.ok() ? provider->refresh_tokens : provider::RefreshTokenRules{});
}

StatusOr<std::vector<store::ConnectionRecord>> ConnectionVault::List() const {
  return store_->ListConnections();
}

StatusOr<ConnectionSecrets> ConnectionVault::ReadSecrets(const store::ConnectionRecord& connection) const {
  ConnectionSecrets secrets;
  auto open = [&](const std::optional<store::Ciphertext>& sealed, std::string_view column,
                  SecretString& out) -> Status {
    if (!sealed) return Status::Ok();
    StatusOr<SecretString> plain = keys_.Unseal(*sealed, {kTable, connection.id, column});
    if (!plain.ok()) {
      return plain.status().WithContext("cannot read the " + std::string(column) + " of " +
                                        Quoted(connection.name));
    }
    out = std::move(*plain);
    return Status::Ok();
  };
  LATCHKEY_RETURN_IF_ERROR(open(connection.access_token, "access_token", secrets.access_token));
  LATCHKEY_RETURN_IF_ERROR(open(connection.refresh_token, "refresh_token", secrets.refresh_token));
  LATCHKEY_RETURN_IF_ERROR(open(connection.api_key, "api_key", secrets.api_key));
  LATCHKEY_RETURN_IF_ERROR(open(connection.password, "password", secrets.password));
  return secrets;
}

StatusOr<SecretString> ConnectionVault::CurrentCredential(std::string_view name) const {
  LATCHKEY_ASSIGN_OR_RETURN(store::ConnectionRecord connection, Get(name));
  switch (connection.status) {
    case store::ConnectionStatus::kDisconnected:
      return FailedPreconditionError(Quoted(name) + " is disconnected: import or connect it again");
    case store::ConnectionStatus::kNeedsReauth:
      return NeedsHumanError(Quoted(name) + " needs re-consent: run `latchkey connect` for it");
    case store::ConnectionStatus::kPending:
      return FailedPreconditionError(Quoted(name) + " has not finished connecting");
    case store::ConnectionStatus::kActive: break;
  }
  LATCHKEY_ASSIGN_OR_RETURN(ConnectionSecrets secrets, ReadSecrets(connection));
  switch (connection.kind) {
    case store::CredentialKind::kApiKey: return std::move(secrets.api_key);
    case store::CredentialKind::kBasic:
      return FailedPreconditionError(Quoted(name) + " uses basic auth and has no token");
    case store::CredentialKind::kOAuth2:
    case store::CredentialKind::kClientCredentials: break;
  }
  if (connection.expires_at && *connection.expires_at <= clock_.Now()) {
    return NeedsHumanError(Quoted(name) + "'s access token expired at " +
                           FormatRfc3339(*connection.expires_at) +
                           " and this build cannot refresh it yet: import a fresh token");
  }
  return std::move(secrets.access_token);
}

StatusOr<store::ConnectionRecord> ConnectionVault::SetRefreshTokenRules(
    std::string_view name, std::optional<std::chrono::seconds> lifetime,
    std::optional<std::chrono::seconds> idle_lifetime) {
  LATCHKEY_ASSIGN_OR_RETURN(store::ConnectionRecord found, Get(name));
  if (found.status == store::ConnectionStatus::kDisconnected) {
    return FailedPreconditionError(Quoted(name) + " is disconnected");
  }
  if (!store::HasUserGrant(found.kind)) {
    return FailedPreconditionError(Quoted(name) + " has no refresh token to set rules for");
  }
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<store::ConnectionLock> lock,
                            store_->LockConnection(found.id, std::chrono::seconds(60)));
  LATCHKEY_ASSIGN_OR_RETURN(store::ConnectionRecord connection, store_->GetConnectionById(found.id));
  const int64_t version = connection.token_version;
  connection.refresh_lifetime_override = lifetime;
  connection.refresh_idle_lifetime_override = idle_lifetime;
  connection.expiring_alerted_for.reset();  // a new forecast may warrant a new warning
  connection.updated_at = clock_.Now();
  LATCHKEY_RETURN_IF_ERROR(store_->UpdateConnection(connection, version));
  return Get(name);
}

Status ConnectionVault::Disconnect(std::string_view name) {
  LATCHKEY_ASSIGN_OR_RETURN(store::ConnectionRecord connection, Get(name));
  if (connection.status == store::ConnectionStatus::kDisconnected) {
    return FailedPreconditionError(Quoted(name) + " is disconnected already");
  }
  const int64_t version = connection.token_version;
  connection.status = store::ConnectionStatus::kDisconnected;
  connection.access_token.reset();
  connection.refresh_token.reset();
  connection.api_key.reset();
  connection.password.reset();
  connection.data_key_id.reset();
  connection.expires_at.reset();
  connection.updated_at = clock_.Now();
  return store_->UpdateConnection(connection, version);
}

}  // namespace latchkey::vault
