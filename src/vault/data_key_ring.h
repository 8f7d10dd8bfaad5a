// DataKeyRing: the data keys one master key unwraps from a set of wrappers, and the sealing
// and opening of secrets with them. KeyManager keeps the ring of its store; a restore builds
// one from a backup's wrappers to check the backup's sealed cells before anything is
// written. Immutable once built: any thread may use a const ring.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/secret_string.h"
#include "common/status.h"
#include "crypto/aead.h"
#include "crypto/master_key.h"
#include "store/records.h"

namespace latchkey::vault {

// Where a sealed value lives; bound into its ciphertext as associated data.
struct SecretAddress {
  std::string_view table;
  std::string_view row_id;
  std::string_view column;
};

class DataKeyRing {
 public:
  DataKeyRing() = default;

  // Unwraps every wrapper of `wrappers` made by `master` and skips the others. kDataLoss,
  // naming the data key and the master key's source, when one of them does not open.
  static StatusOr<DataKeyRing> Unwrap(const crypto::MasterKey& master,
                                      const std::vector<store::WrappedDataKey>& wrappers);
  // `data_key` wrapped by `master`, bound to its wrapper row (data key id, master key id).
  static store::WrappedDataKey Wrap(int64_t data_key_id, const crypto::SymmetricKey& data_key,
                                    const crypto::MasterKey& master, TimePoint at);

  bool empty() const { return keys_.empty(); }
  bool contains(int64_t data_key_id) const { return keys_.contains(data_key_id); }
  // The newest key (latest wrapper, then highest id): new secrets are sealed under it.
  std::optional<int64_t> active_id() const { return active_id_; }
  const std::map<int64_t, crypto::SymmetricKey>& keys() const { return keys_; }

  // Seals under the active key; kFailedPrecondition when the ring is empty.
  StatusOr<store::Ciphertext> Seal(std::string_view plaintext, const SecretAddress& where) const;
  // kDataLoss when `sealed` names a data key the ring lacks, was altered, or belongs elsewhere.
  StatusOr<SecretString> Open(std::span<const std::uint8_t> sealed, const SecretAddress& where) const;

 private:
  std::map<int64_t, crypto::SymmetricKey> keys_;
  std::optional<int64_t> active_id_;
};

}  // namespace latchkey::vault
