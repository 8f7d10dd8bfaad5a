// `latchkey backup FILE [--final]` and `latchkey restore FILE`: one store's state in one
// file (vault/backup.h), for disaster recovery and for moving a store from SQLite to
// PostgreSQL without a human consenting again.
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/context.h"
#include "crypto/private_file.h"
#include "vault/backup.h"

namespace latchkey::cli {
namespace {

using namespace std::chrono_literals;

// How long `backup --final` waits for refreshes in flight at the source to finish, and the
// age at which a refresh marker counts as an interrupted refresh rather than one in flight
// (four times the default token-endpoint timeout).
constexpr auto kFinalPatience = 150s;
constexpr auto kInFlight = 120s;

// Writes the backup to `file` (mode 0600): `file` never exists half-written, and an
// existing file is never replaced (checked first too, so that the mistake is told before
// any snapshot is taken: a final one fences the store).
Status WriteBackupFile(const std::filesystem::path& file, const crypto::PrivateFileWriter& write) {
  auto exists = [&] {
    return AlreadyExistsError(file.string() + " exists; name a new file (a backup never replaces one)");
  };
  std::error_code error;
  if (std::filesystem::exists(file, error)) return exists();
  Status written = crypto::CreatePrivateFileOnce(file, write);
  if (written.code() == StatusCode::kAlreadyExists) return exists();
  return written;
}

int Backup(Context& context, const std::string& file, bool final) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  store::Store& store = (*vault)->store();
  const Clock& clock = SystemClock::Instance();
  const auto give_up = std::chrono::steady_clock::now() + kFinalPatience;
  Status written;
  for (bool told = false;; told = true) {
    written = WriteBackupFile(file, [&](std::ostream& out) {
      return vault::WriteBackup(store, (*vault)->keys(), clock, {.final = final, .in_flight = kInFlight},
                                out);
    });
    // --final: a refresh that started before the fence is waited for (bounded), so the
    // copy holds what it stored; so is a snapshot the store interrupted. A failed write
    // (a full disk) is not: it would fail again.
    if (written.code() != StatusCode::kAborted || std::chrono::steady_clock::now() > give_up) break;
    if (!told) std::cerr << "latchkey: " << written.message() << "\n";
    std::this_thread::sleep_for(500ms);
  }
  if (!written.ok()) return Fail(written.WithContext("backup"));
  std::cout << "backup written to " << file << "\n";
  if (final) {
    std::cout
        << "this store starts no token refresh from now on: restore the backup into the new store, start "
           "it, and stop this one (`latchkey backup --resume` lifts the fence if the move is abandoned)\n";
  }
  return kExitOk;
}

int Resume(Context& context) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  Status lifted = (*vault)->store().SetHandedOver(std::nullopt);
  if (!lifted.ok()) return Fail(lifted);
  std::cout << "this store refreshes tokens again\n";
  return kExitOk;
}

int Restore(Context& context, const std::string& file) {
  StatusOr<std::string> bytes = ReadInput(file, vault::kMaxBackupBytes, "the backup");
  if (!bytes.ok()) return Fail(bytes.status());
  auto store = context.OpenStore();
  if (!store.ok()) return Fail(store.status());
  auto master = context.MasterKey();
  if (!master.ok()) return Fail(master.status());
  // The key must be the one the backup was made under: never make a new one here.
  master->read_only = true;
  auto keys = vault::KeyManager::OpenForRestore(*store, std::move(*master), SystemClock::Instance());
  if (!keys.ok()) {
    if (keys.status().code() == StatusCode::kNotFound) {
      return Fail(FailedPreconditionError(
          "no master key: a backup opens only with the master key it was made under; copy the source's "
          "master.key into the data dir (mode 0600) or set LATCHKEY_MASTER_KEY"));
    }
    return Fail(keys.status());
  }
  auto restored = vault::RestoreBackup(*bytes, **store, **keys);
  if (!restored.ok()) return Fail(restored.status().WithContext("restore: nothing was written"));
  std::cout << "restored " << restored->rows << " rows from a backup of a " << restored->source
            << " store made at " << restored->created_at << "\n";
  if (!restored->final) {
    std::cerr
        << "latchkey: warning: this backup was not made with --final, so the store it came from may have "
           "refreshed tokens since: stop that store before this one refreshes, and expect a connection whose "
           "refresh token was rotated since the backup to need consent again\n";
  }
  return kExitOk;
}

}  // namespace

void AddBackupCommands(CLI::App& app, Context& context) {
  auto file = std::make_shared<std::string>();
  auto final = std::make_shared<bool>(false);
  auto resume = std::make_shared<bool>(false);
  CLI::App* backup = app.add_subcommand(
      "backup",
      "Write the store's state to FILE (providers, connections, agents, admin tokens, MCP clients, pending "
      "alerts; secrets stay sealed, the master key is not in it) while the daemon runs");
  backup->add_option("FILE", *file, "A new file (mode 0600)");
  backup->add_flag("--final", *final,
                   "For a move to another store: this store stops refreshing tokens from now on, so the copy "
                   "holds the latest refresh tokens; stop it once the copy is restored");
  backup->add_flag("--resume", *resume, "Lift --final's fence: this store refreshes tokens again (no FILE)");
  backup->callback([&context, file, final, resume] {
    context.action = [&context, file, final, resume] {
      if (*resume)
        return file->empty() && !*final ? Resume(context)
                                        : FailUsage("--resume takes no FILE and no --final");
      if (file->empty()) return FailUsage("backup: name the FILE to write");
      return Backup(context, *file, *final);
    };
  });
  auto source = std::make_shared<std::string>();
  CLI::App* restore = app.add_subcommand(
      "restore",
      "Restore a backup into this data dir's store, which must be empty; needs the same master key");
  restore->add_option("FILE", *source, "The backup (\"-\" for standard input)")->required();
  restore->callback(
      [&context, source] { context.action = [&context, source] { return Restore(context, *source); }; });
}

}  // namespace latchkey::cli
