// Fuzzes RestoreBackup, the reader of a backup file a stranger may have handed over. Input:
// the file's lines before its MAC line; the target signs them with the master key as
// `latchkey backup` would (so the fuzzer gets past the MAC to the rows and the sealed cells),
// unless the input starts with '!', which is then the whole file as given (the MAC line
// included). The master key is fixed (32 zero bytes, id in the corpus's headers).
// Properties: no crash; nothing is ever restored, because the target store is not empty
// (the checks before the import run in full, and the import refuses); a refusal is one
// sentence on one line.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "crypto/hmac.h"
#include "store/sqlite_store.h"
#include "support/fuzz_check.h"
#include "support/temp_dir.h"
#include "vault/backup.h"
#include "vault/vault.h"

namespace {

using namespace latchkey;

// lkmk1. + base64url of 32 zero bytes.
constexpr char kMasterKey[] = "lkmk1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

struct Target {
  Target() {
    auto opened = store::OpenSqliteStore({.path = (dir.path() / "latchkey.db").string()}, clock);
    FUZZ_CHECK(opened.ok());
    store = *opened;
    auto made = vault::Vault::Open(
        store,
        {.env_value = SecretString(kMasterKey), .key_file = dir.path() / "master.key", .read_only = true},
        clock, SystemRandom::Instance());
    FUZZ_CHECK(made.ok());  // the store now holds a data key: never empty
    vault = std::move(*made);
  }
  testing::ScopedTempDir dir;
  SimulatedClock clock{FromUnixMillis(1'800'000'000'000)};
  std::shared_ptr<store::Store> store;
  std::unique_ptr<vault::Vault> vault;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Target target;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string file;
  if (input.starts_with('!')) {
    file = input.substr(1);
  } else {
    file = input;
    if (!file.empty() && file.back() != '\n') file += '\n';
    crypto::HmacSha256 mac(target.vault->keys().DeriveKey("latchkey backup mac v1").bytes());
    mac.Update(file);
    const int64_t lines = static_cast<int64_t>(std::count(file.begin(), file.end(), '\n'));
    nlohmann::ordered_json last = {{"mac", std::move(mac).FinishHex()}, {"rows", lines - 1}};
    file += last.dump() + "\n";
  }
  StatusOr<vault::RestoredBackup> restored = vault::RestoreBackup(file, *target.store, target.vault->keys());
  FUZZ_CHECK(!restored.ok());
  const std::string message(restored.status().message());
  FUZZ_CHECK(!message.empty());
  FUZZ_CHECK(message.find('\n') == std::string::npos);
  return 0;
}
