// `latchkey key rotate [--data-key]` and `latchkey key generate`.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/context.h"
#include "common/environment.h"
#include "crypto/master_key.h"

namespace latchkey::cli {
namespace {

int Rotate(Context& context, bool data_key) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  if (data_key) {
    auto count = (*vault)->keys().RotateDataKey();
    if (!count.ok()) return Fail(count.status());
    std::cout << "data key rotated; " << *count << " secret(s) re-encrypted in one transaction\n";
    return kExitOk;
  }
  std::optional<SecretString> new_key;
  if (SecretString env = TakeFromEnvironment("LATCHKEY_NEW_MASTER_KEY"); !env.empty()) {
    new_key = std::move(env);
  }
  auto what = (*vault)->keys().RotateMasterKey(new_key);
  if (!what.ok()) return Fail(what.status());
  std::cout << *what << "\n";
  return kExitOk;
}

int Generate() {
  SecretString encoded = crypto::EncodeMasterKey(crypto::SymmetricKey::Generate());
  std::cout << encoded.reveal() << "\n";
  return kExitOk;
}

}  // namespace

void AddKeyCommands(CLI::App& app, Context& context) {
  CLI::App* key = app.add_subcommand("key", "Master and data keys");
  key->require_subcommand(1);
  auto data_key = std::make_shared<bool>(false);
  auto* rotate = key->add_subcommand(
      "rotate",
      "Re-wrap the data keys under a new master key (key file, or $LATCHKEY_NEW_MASTER_KEY when the key "
      "comes "
      "from $LATCHKEY_MASTER_KEY); with --data-key, re-encrypt every secret under a new data key");
  rotate->add_flag("--data-key", *data_key, "Rotate the data key instead of the master key");
  rotate->callback(
      [&context, data_key] { context.action = [&context, data_key] { return Rotate(context, *data_key); }; });
  key->add_subcommand("generate", "Print a new master key for LATCHKEY_MASTER_KEY")->callback([&context] {
    context.action = [] { return Generate(); };
  });
}

}  // namespace latchkey::cli
