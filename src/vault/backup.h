// Backup and restore of a store, as one file (format "latchkey-backup" version 1, JSON lines):
//   {"format":"latchkey-backup","version":1,"schema_version":10,"master_key_id":"…",
//    "created_at":"2026-12-01T10:00:00Z","source":"sqlite","final":false}
//   {"t":"connections","r":{"id":"…","name":"…",…}}      one line per row (store/snapshot.h)
//   {"mac":"<hex>","rows":N}
// Bytes are base64url, times integers as stored, cells in column order, so one store always
// gives the same bytes. Secrets stay sealed and data keys wrapped; the master key is never in
// it. The MAC (HMAC-SHA256 under a key derived from the master key) covers every byte before
// the last line. Writing and reading files is the caller's (the CLI: temp file, 0600, rename).
// Functions, any thread; the store and keys given are used as their own headers allow.
//
//   std::ofstream out(tmp);  WriteBackup(store, keys, clock, {.final = false}, out);
//   RestoreBackup(file_bytes, *empty_store, *KeyManager::OpenForRestore(empty_store, ...));
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"
#include "vault/key_manager.h"

namespace latchkey::vault {

// RestoreBackup refuses a larger file (callers read no more than this).
inline constexpr std::size_t kMaxBackupBytes = std::size_t{1} << 30;

struct BackupOptions {
  // For a move to another store: first the store is fenced (Store::SetHandedOver), so it
  // starts no refresh and spends no MCP token from then on, and the copy keeps the latest
  // refresh tokens. A refresh already in flight (a connection's refresh_started_at within
  // `in_flight` of now) makes WriteBackup answer kAborted naming it: run it again once the
  // refresh is done (kUnavailable is a write that failed, not worth repeating). An older marker is a refresh
  // that was interrupted, carried as is. A plain backup (false) may fall behind a source that keeps
  // refreshing tokens.
  bool final = false;
  Duration in_flight = std::chrono::minutes(2);
};

// Streams every row of `store` (one consistent snapshot) to `out`, header first and MAC
// last. On an error `out` holds a partial file, which RestoreBackup refuses.
Status WriteBackup(store::Store& store, const KeyManager& keys, const Clock& clock,
                   const BackupOptions& options, std::ostream& out);

// What a restored backup said about itself.
struct RestoredBackup {
  int64_t rows = 0;
  std::string created_at;  // as the header says (RFC 3339)
  std::string source;      // "sqlite" | "postgres" | "" when unknown
  bool final = false;      // false: the store it came from may still be refreshing tokens
};

// Restores `file` into `target`, which must be a freshly migrated, empty store (open it
// without a data key: KeyManager::OpenForRestore). `keys` holds the master key the backup
// was made under. Checks, in this order, before anything is written: the size and that each
// line parses (kInvalidArgument when it is not a backup at all, kDataLoss when it is cut short
// or damaged); the format version and the schema version against `target`'s
// (kInvalidArgument, kFailedPrecondition); the master key (kFailedPrecondition); the MAC
// (kDataLoss); that every data key unwraps and every sealed cell opens where it belongs
// (kDataLoss). Then one ImportSnapshot transaction (kFailedPrecondition when `target` has
// rows). Messages never quote a cell. Afterwards keys.Reload() reads the restored data keys.
StatusOr<RestoredBackup> RestoreBackup(std::string_view file, store::Store& target, const KeyManager& keys);

}  // namespace latchkey::vault
