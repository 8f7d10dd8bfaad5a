#include "vault/admin_tokens.h"

#include "crypto/access_key.h"

namespace latchkey::vault {
namespace {

Status Unauthenticated() {
  return UnauthenticatedError("the admin token is missing, malformed, unknown or revoked");
}

}  // namespace

AdminTokens::AdminTokens(std::shared_ptr<store::Store> store, const Clock& clock, Random& random)
    : store_(std::move(store)), clock_(clock), random_(random) {}

StatusOr<SecretString> AdminTokens::Create() {
  crypto::IssuedKey issued = crypto::IssueAccessKey(kAdminTokenPrefix, random_);
  LATCHKEY_RETURN_IF_ERROR(store_->InsertAdminToken(
      {.id = issued.id, .key_hash = issued.hash, .created_at = clock_.Now(), .revoked_at = std::nullopt}));
  return std::move(issued.key);
}

StatusOr<std::optional<SecretString>> AdminTokens::EnsureOne() {
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<store::AdminTokenRecord> tokens, store_->ListAdminTokens());
  for (const auto& token : tokens) {
    if (!token.revoked_at) return std::optional<SecretString>();
  }
  LATCHKEY_ASSIGN_OR_RETURN(SecretString created, Create());
  return std::optional<SecretString>(std::move(created));
}

Status AdminTokens::Revoke(std::string_view id) { return store_->RevokeAdminToken(id, clock_.Now()); }

StatusOr<std::vector<store::AdminTokenRecord>> AdminTokens::List() const { return store_->ListAdminTokens(); }

Status AdminTokens::Authenticate(std::string_view presented) const {
  StatusOr<crypto::PresentedKey> parsed = crypto::ParseAccessKey(kAdminTokenPrefix, presented);
  if (!parsed.ok()) return Unauthenticated();
  StatusOr<store::AdminTokenRecord> token = store_->GetAdminToken(parsed->id);
  if (!token.ok()) return token.status().code() == StatusCode::kNotFound ? Unauthenticated() : token.status();
  const bool matches = crypto::VerifyAccessKeySecret(parsed->secret, token->key_hash);
  if (!matches || token->revoked_at) return Unauthenticated();
  return Status::Ok();
}

std::string AdminTokens::IdOf(std::string_view presented) {
  StatusOr<crypto::PresentedKey> parsed = crypto::ParseAccessKey(kAdminTokenPrefix, presented);
  return parsed.ok() ? std::string(parsed->id) : std::string();
}

Status AdminTokens::StillValid(std::string_view id) const {
  StatusOr<store::AdminTokenRecord> token = store_->GetAdminToken(id);
  if (!token.ok()) return token.status().code() == StatusCode::kNotFound ? Unauthenticated() : token.status();
  return token->revoked_at ? Unauthenticated() : Status::Ok();
}

}  // namespace latchkey::vault
