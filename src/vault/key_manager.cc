#include "vault/key_manager.h"

#include <sodium.h>

#include <array>
#include <mutex>
#include <utility>

namespace latchkey::vault {
namespace {

// Wrapped data keys are sealed like any other secret, bound to their own row.
constexpr std::string_view kWrapperTable = "data_key_wrappers";

std::string DataKeyRowId(int64_t data_key_id) { return std::to_string(data_key_id); }

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
  LATCHKEY_ASSIGN_OR_RETURN(crypto::MasterKey master,
                            crypto::LoadMasterKey(source.env_value, source.key_file, !source.read_only));
  std::unique_ptr<KeyManager> manager(
      new KeyManager(std::move(store), std::move(source), std::move(master), clock));

  LATCHKEY_ASSIGN_OR_RETURN(std::vector<store::WrappedDataKey> wrappers,
                            manager->store_->ListWrappedDataKeys());
  if (wrappers.empty()) {
    // First run: make the data key. Another process may be doing the same; the store
    // keeps exactly one and tells us which.
    crypto::SymmetricKey first = crypto::SymmetricKey::Generate();
    LATCHKEY_ASSIGN_OR_RETURN(
        wrappers, manager->store_->InitializeDataKey(manager->Wrap(NewDataKeyId(), first, manager->master_)));
  }
  LATCHKEY_RETURN_IF_ERROR(manager->LoadDataKeys(wrappers));
  return manager;
}

store::WrappedDataKey KeyManager::Wrap(int64_t data_key_id, const crypto::SymmetricKey& data_key,
                                       const crypto::MasterKey& master) const {
  std::string ad = crypto::AssociatedData(kWrapperTable, DataKeyRowId(data_key_id), master.id);
  return store::WrappedDataKey{
      .data_key_id = data_key_id,
      .master_key_id = master.id,
      .wrapped = crypto::Seal(master.key, 0, data_key.bytes(), ad),
      .created_at = clock_.Now(),
  };
}

Status KeyManager::LoadDataKeys(const std::vector<store::WrappedDataKey>& wrappers) const {
  std::map<int64_t, crypto::SymmetricKey> keys;
  std::optional<int64_t> active;
  TimePoint active_created{};
  for (const store::WrappedDataKey& w : wrappers) {
    if (w.master_key_id != master_.id) continue;
    std::string ad = crypto::AssociatedData(kWrapperTable, DataKeyRowId(w.data_key_id), master_.id);
    StatusOr<SecretString> raw = crypto::Open(master_.key, w.wrapped, ad);
    if (!raw.ok()) {
      return DataLossError("the wrapped data key " + DataKeyRowId(w.data_key_id) +
                           " cannot be opened with the master key from " + master_.source + ": " +
                           raw.status().message());
    }
    LATCHKEY_ASSIGN_OR_RETURN(crypto::SymmetricKey key,
                              crypto::SymmetricKey::FromBytes(AsBytes(raw->reveal())));
    if (!active || w.created_at > active_created ||
        (w.created_at == active_created && w.data_key_id > *active)) {
      active = w.data_key_id;
      active_created = w.created_at;
    }
    keys.emplace(w.data_key_id, std::move(key));
  }
  std::unique_lock lock(mutex_);
  data_keys_ = std::move(keys);
  active_id_ = active;
  store_has_keys_ = !wrappers.empty();
  return Status::Ok();
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
  if (!active_id_) return NoUsableKeyError();
  return *active_id_;
}

StatusOr<store::Ciphertext> KeyManager::Seal(std::string_view plaintext, const SecretAddress& where) const {
  std::shared_lock lock(mutex_);
  if (!active_id_) return NoUsableKeyError();
  return crypto::Seal(data_keys_.at(*active_id_), *active_id_, AsBytes(plaintext),
                      crypto::AssociatedData(where.table, where.row_id, where.column));
}

StatusOr<SecretString> KeyManager::Unseal(std::span<const std::uint8_t> sealed,
                                          const SecretAddress& where) const {
  LATCHKEY_ASSIGN_OR_RETURN(int64_t key_id, crypto::SealedKeyId(sealed));
  std::shared_lock lock(mutex_);
  if (data_keys_.empty()) return NoUsableKeyError();
  auto key = data_keys_.find(key_id);
  if (key == data_keys_.end()) {
    return DataLossError("it was sealed under data key " + std::to_string(key_id) +
                         ", which this store no longer holds (rotated away, or the value was copied "
                         "from another store)");
  }
  return crypto::Open(key->second, sealed, crypto::AssociatedData(where.table, where.row_id, where.column));
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
    if (!store_has_keys_ || data_keys_.empty()) return NoUsableKeyError();
    for (const auto& [id, key] : data_keys_) wrappers.push_back(Wrap(id, key, next));
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
    if (!active_id_) return NoUsableKeyError();
  }
  LATCHKEY_RETURN_IF_ERROR(store_->RotateDataKey(Wrap(fresh_id, fresh, master_), reseal));
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
