// KeyManager: envelope encryption for everything the vault stores. Secrets are sealed
// under a data key; data keys are stored wrapped by the master key (crypto/master_key.h).
// It also runs the two rotations:
//  - master key (`latchkey key rotate`): add wrappers under the new master key, persist
//    the new key, then delete the old wrappers. A crash between steps leaves a store that
//    still opens with whichever key is on disk.
//  - data key (`latchkey key rotate --data-key`): one store transaction re-seals every
//    secret under a fresh data key and deletes the old one.
// Thread-safe: Seal/Open may run concurrently with each other and with Reload.
//
// The keys themselves (unwrapping, sealing, opening) are data_key_ring.h's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/random.h"
#include "common/secret_string.h"
#include "common/status.h"
#include "crypto/aead.h"
#include "crypto/master_key.h"
#include "store/store.h"
#include "vault/data_key_ring.h"

namespace latchkey::vault {

// Where the master key comes from.
struct MasterKeySource {
  std::optional<SecretString> env_value;  // LATCHKEY_MASTER_KEY, when set
  std::filesystem::path key_file;         // used otherwise; created on first run
  // key_file is given to us (a systemd credential): read it, never create or rewrite it.
  bool read_only = false;
};

class KeyManager {
 public:
  // Loads the master key and unwraps the data keys; on a store without data keys, makes
  // the first one. A master key that wraps none of the store's data keys is not an
  // error here (listing connections needs no key); Seal and Open then fail with a
  // sentence that names the key's source.
  static StatusOr<std::unique_ptr<KeyManager>> Open(std::shared_ptr<store::Store> store,
                                                    MasterKeySource source, const Clock& clock);
  // The same, but a store without data keys stays so: for a restore (vault/backup.h), whose
  // target must be empty until the backup's rows go in. Reload() then reads their keys.
  static StatusOr<std::unique_ptr<KeyManager>> OpenForRestore(std::shared_ptr<store::Store> store,
                                                              MasterKeySource source, const Clock& clock);

  // The id of the data key new secrets are sealed under (rows record it).
  StatusOr<int64_t> ActiveDataKeyId() const;
  StatusOr<store::Ciphertext> Seal(std::string_view plaintext, const SecretAddress& where) const;
  StatusOr<SecretString> Unseal(std::span<const std::uint8_t> sealed, const SecretAddress& where) const;

  // Master-key rotation. `new_key` is required when the current key came from the
  // environment or a read-only key file (the caller read LATCHKEY_NEW_MASTER_KEY);
  // otherwise a fresh key replaces the key file. Returns a sentence saying what changed.
  StatusOr<std::string> RotateMasterKey(const std::optional<SecretString>& new_key);
  // Data-key rotation: every secret re-sealed under a fresh data key, in one transaction.
  // Returns how many secrets were re-sealed.
  StatusOr<std::size_t> RotateDataKey();

  // Re-reads the data keys (after another process rotated them). Const: the keys are
  // a cache of the store's state, guarded by the mutex.
  Status Reload() const;

  const std::string& master_key_source() const { return master_.source; }
  // The master key's fingerprint (crypto::MasterKeyId), which its wrappers record; not secret.
  const std::string& master_key_id() const { return master_.id; }

  // The data keys that the master key unwraps from `wrappers` (a backup's, not the store's),
  // so a restore can open the backup's sealed cells before writing anything.
  StatusOr<DataKeyRing> UnwrapDataKeys(const std::vector<store::WrappedDataKey>& wrappers) const;

  // A 32-byte key for one `purpose` (e.g. "dashboard-session"), derived from the master
  // key (keyed BLAKE2b): the same in every process holding the master key, never stored,
  // and different after a master-key rotation.
  crypto::SymmetricKey DeriveKey(std::string_view purpose) const;

 private:
  KeyManager(std::shared_ptr<store::Store> store, MasterKeySource source, crypto::MasterKey master,
             const Clock& clock);
  static StatusOr<std::unique_ptr<KeyManager>> Open(std::shared_ptr<store::Store> store,
                                                    MasterKeySource source, const Clock& clock,
                                                    bool make_first_data_key);
  Status LoadDataKeys(const std::vector<store::WrappedDataKey>& wrappers) const;
  Status NoUsableKeyError() const;

  std::shared_ptr<store::Store> store_;
  MasterKeySource source_;
  crypto::MasterKey master_;
  const Clock& clock_;
  mutable std::shared_mutex mutex_;
  mutable DataKeyRing ring_;             // guarded by mutex_
  mutable bool store_has_keys_ = false;  // guarded by mutex_
};

}  // namespace latchkey::vault
