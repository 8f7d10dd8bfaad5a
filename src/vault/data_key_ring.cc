#include "vault/data_key_ring.h"

#include <string>
#include <utility>

namespace latchkey::vault {
namespace {

// Wrapped data keys are sealed like any other secret, bound to their own row.
constexpr std::string_view kWrapperTable = "data_key_wrappers";

std::string DataKeyRowId(int64_t data_key_id) { return std::to_string(data_key_id); }

}  // namespace

StatusOr<DataKeyRing> DataKeyRing::Unwrap(const crypto::MasterKey& master,
                                          const std::vector<store::WrappedDataKey>& wrappers) {
  DataKeyRing ring;
  TimePoint active_created{};
  for (const store::WrappedDataKey& w : wrappers) {
    if (w.master_key_id != master.id) continue;
    std::string ad = crypto::AssociatedData(kWrapperTable, DataKeyRowId(w.data_key_id), master.id);
    StatusOr<SecretString> raw = crypto::Open(master.key, w.wrapped, ad);
    if (!raw.ok()) {
      return DataLossError("the wrapped data key " + DataKeyRowId(w.data_key_id) +
                           " cannot be opened with the master key from " + master.source + ": " +
                           raw.status().message());
    }
    LATCHKEY_ASSIGN_OR_RETURN(crypto::SymmetricKey key,
                              crypto::SymmetricKey::FromBytes(AsBytes(raw->reveal())));
    if (!ring.active_id_ || w.created_at > active_created ||
        (w.created_at == active_created && w.data_key_id > *ring.active_id_)) {
      ring.active_id_ = w.data_key_id;
      active_created = w.created_at;
    }
    ring.keys_.emplace(w.data_key_id, std::move(key));
  }
  return ring;
}

store::WrappedDataKey DataKeyRing::Wrap(int64_t data_key_id, const crypto::SymmetricKey& data_key,
                                        const crypto::MasterKey& master, TimePoint at) {
  std::string ad = crypto::AssociatedData(kWrapperTable, DataKeyRowId(data_key_id), master.id);
  return store::WrappedDataKey{
      .data_key_id = data_key_id,
      .master_key_id = master.id,
      .wrapped = crypto::Seal(master.key, 0, data_key.bytes(), ad),
      .created_at = at,
  };
}

StatusOr<store::Ciphertext> DataKeyRing::Seal(std::string_view plaintext, const SecretAddress& where) const {
  if (!active_id_) return FailedPreconditionError("no data key to seal with");
  return crypto::Seal(keys_.at(*active_id_), *active_id_, AsBytes(plaintext),
                      crypto::AssociatedData(where.table, where.row_id, where.column));
}

StatusOr<SecretString> DataKeyRing::Open(std::span<const std::uint8_t> sealed,
                                         const SecretAddress& where) const {
  LATCHKEY_ASSIGN_OR_RETURN(int64_t key_id, crypto::SealedKeyId(sealed));
  auto key = keys_.find(key_id);
  if (key == keys_.end()) {
    return DataLossError("it was sealed under data key " + std::to_string(key_id) +
                         ", which this store no longer holds (rotated away, or the value was copied "
                         "from another store)");
  }
  return crypto::Open(key->second, sealed, crypto::AssociatedData(where.table, where.row_id, where.column));
}

}  // namespace latchkey::vault
