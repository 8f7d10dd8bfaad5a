#include "vault/key_manager.h"

#include <sodium.h>

#include <array>
#include <mutex>
#include <utility>

namespace latchkey::vault {
namespace {

int64_t NewDataKeyId() {
  // Random rather than sequential: two processes never pick the same id by racing.
  return static_cast<int64_t>(SystemRandom::Instance().Uniform(INT64_MAX - 1)) + 1;
}

}  // namespace

KeyManager::KeyManager(std::shared_ptr<store::Store> store, MasterKeySource source, crypto::MasterKey master,
                       const Clock& clock)
    : store_(std::move(store)), source_(std::move(source)), master_(std::move(master)), clock_(clock) {}

StatusOr<std::unique_ptr<KeyManager>> KeyManager::Open(std::shared_ptr<store::Store> store,
                                                       MasterKeySource source, const Clock& clock) {
  return Open(std::move(store), std::move(source), clock, /*make_first_data_key=*/true);
}

StatusOr<std::unique_ptr<KeyManager>> KeyManager::OpenForRestore(std::shared_ptr<store::Store> store,
                                                                 MasterKeySource source, const Clock& clock) {
  return Open(std::move(store), std::move(source), clock, /*make_first_data_key=*/false);
}

StatusOr<std::unique_ptr<KeyManager>> KeyManager::Open(std::shared_ptr<store::Store> store,
                                                       MasterKeySource source, const Clock& clock,
                                                       bool make_first_data_key) {
  LATCHKEY_ASSIGN_OR_RETURN(crypto::MasterKey master,
                            crypto::LoadMasterKey(source.env_value, source.key_file, !source.read_only));
  std::unique_ptr<KeyManager> manager(
      new KeyManager(std::move(store), std::move(source), std::move(master), clock));

  LATCHKEY_ASSIGN_OR_RETURN(std::vector<store::WrappedDataKey> wrappers,
                            manager->store_->ListWrappedDataKeys());
  if (wrappers.empty() && make_first_data_key) {
    // First run: make the data key. Another process may be doing the same; the store
    // keeps exactly one and tells us which.
    crypto::SymmetricKey first = crypto::SymmetricKey::Generate();
    LATCHKEY_ASSIGN_OR_RETURN(wrappers, manager->store_->InitializeDataKey(DataKeyRing::Wrap(
                                            NewDataKeyId(), first, manager->master_, clock.Now())));
  }
  LATCHKEY_RETURN_IF_ERROR(manager->LoadDataKeys(wrappers));
  return manager;
}

Status KeyManager::LoadDataKeys(const std::vector<store::WrappedDataKey>& wrappers) const {
  LATCHKEY_ASSIGN_OR_RETURN(DataKeyRing ring, DataKeyRing::Unwrap(master_, wrappers));
  std::unique_lock lock(mutex_);
  ring_ = std::move(ring);
  store_has_keys_ = !wrappers.empty();
  return Status::Ok();
}

StatusOr<DataKeyRing> KeyManager::UnwrapDataKeys(const std::vector<store::WrappedDataKey>& wrappers) const {
  return DataKeyRing::Unwrap(master_, wrappers);
}

Status KeyManager::Reload() const {
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<store::WrappedDataKey> wrappers, store_->ListWrappedDataKeys());
  return LoadDataKeys(wrappers);
}

Status KeyManager::NoUsableKeyError() const {
  return DataLossError("the master key from " + master_.source +
                       " does not open this store (it wraps none of the store's data keys): use the "
                       "master key this data dir was created with");
}

StatusOr<int64_t> KeyManager::ActiveDataKeyId() const {
  std::shared_lock lock(mutex_);
  if (!ring_.active_id()) return NoUsableKeyError();
  return *ring_.active_id();
}

StatusOr<store::Ciphertext> KeyManager::Seal(std::string_view plaintext, const SecretAddress& where) const {
  std::shared_lock lock(mutex_);
  if (ring_.empty()) return NoUsableKeyError();
  return ring_.Seal(plaintext, where);
}

StatusOr<SecretString> KeyManager::Unseal(std::span<const std::uint8_t> sealed,
                                          const SecretAddress& where) const {
  std::shared_lock lock(mutex_);
  if (ring_.empty()) return NoUsableKeyError();
  return ring_.Open(sealed, where);
}

StatusOr<std::string> KeyManager::RotateMasterKey(const std::optional<SecretString>& new_key) {
  const bool from_env = source_.env_value.has_value();
  // A key we may not rewrite: the new one comes from the operator, who then puts it where
  // the current one comes from.
  const bool given = from_env || source_.read_only;
  if (given && !new_key) {
    return InvalidArgumentError(
        "the master key comes from " + master_.source +
        ", so the new one must be given too: set "
        "LATCHKEY_NEW_MASTER_KEY (make one with `latchkey key generate`) and run `latchkey key rotate` "
        "again");
  }
  crypto::MasterKey next{crypto::SymmetricKey::Generate(), "", ""};
  if (new_key) {
    LATCHKEY_ASSIGN_OR_RETURN(next, crypto::ParseMasterKey(new_key->reveal(), "LATCHKEY_NEW_MASTER_KEY"));
  } else {
    next.id = crypto::MasterKeyId(next.key);
    next.source = "key file " + source_.key_file.string();
  }
  if (next.id == master_.id) {
    return InvalidArgumentError("the new master key is the same as the current one");
  }

  // Step 1: wrap every data key under the new master key, beside the old wrappers.
  std::vector<store::WrappedDataKey> wrappers;
  {
    std::shared_lock lock(mutex_);
    if (!store_has_keys_ || ring_.empty()) return NoUsableKeyError();
    for (const auto& [id, key] : ring_.keys()) {
      wrappers.push_back(DataKeyRing::Wrap(id, key, next, clock_.Now()));
    }
  }
  LATCHKEY_RETURN_IF_ERROR(store_->AddDataKeyWrappers(wrappers));

  // Step 2: make the new key the one that is used. Until this point the old key opens
  // the store; after it, the new one does. Both wrappers exist in between.
  std::string what;
  if (!given) {
    LATCHKEY_RETURN_IF_ERROR(crypto::WriteKeyFile(source_.key_file, next.key));
    what = "the key file " + source_.key_file.string() + " now holds the new master key";
  } else if (from_env) {
    what = "set LATCHKEY_MASTER_KEY to the value of LATCHKEY_NEW_MASTER_KEY from now on";
  } else {
    what = "put the value of LATCHKEY_NEW_MASTER_KEY into " + master_.source + " before the next start";
  }

  // Step 3: the old master key stops opening anything.
  LATCHKEY_RETURN_IF_ERROR(store_->DeleteDataKeyWrappersExcept(next.id));
  master_ = std::move(next);
  LATCHKEY_RETURN_IF_ERROR(Reload());
  return "master key rotated (" + std::to_string(wrappers.size()) + " data key(s) re-wrapped); " + what;
}

StatusOr<std::size_t> KeyManager::RotateDataKey() {
  crypto::SymmetricKey fresh = crypto::SymmetricKey::Generate();
  const int64_t fresh_id = NewDataKeyId();
  auto reseal = [&](const store::SecretCell& cell) -> StatusOr<store::Ciphertext> {
    SecretAddress where{cell.table, cell.row_id, cell.column};
    StatusOr<SecretString> plain = Unseal(cell.value, where);
    if (!plain.ok()) {
      return plain.status().WithContext("cannot re-seal " + cell.column + " of " + cell.table + " row " +
                                        cell.row_id);
    }
    return crypto::Seal(fresh, fresh_id, AsBytes(plain->reveal()),
                        crypto::AssociatedData(cell.table, cell.row_id, cell.column));
  };
  {
    std::shared_lock lock(mutex_);
    if (!ring_.active_id()) return NoUsableKeyError();
  }
  LATCHKEY_RETURN_IF_ERROR(
      store_->RotateDataKey(DataKeyRing::Wrap(fresh_id, fresh, master_, clock_.Now()), reseal));
  LATCHKEY_RETURN_IF_ERROR(Reload());
  LATCHKEY_ASSIGN_OR_RETURN(std::vector<store::SecretCell> cells, store_->ListSecretCells());
  return cells.size();
}

crypto::SymmetricKey KeyManager::DeriveKey(std::string_view purpose) const {
  std::array<std::uint8_t, 32> derived{};
  {
    std::shared_lock lock(mutex_);
    const auto master = master_.key.bytes();
    crypto_generichash(derived.data(), derived.size(), reinterpret_cast<const unsigned char*>(purpose.data()),
                       purpose.size(), master.data(), master.size());
  }
  auto key = crypto::SymmetricKey::FromBytes(derived);
  sodium_memzero(derived.data(), derived.size());
  return std::move(*key);  // 32 bytes: FromBytes cannot refuse them
}

}  // namespace latchkey::vault
