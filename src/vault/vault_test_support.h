// A Vault on a real SQLite store in a temporary data dir, with a simulated clock, for
// the vault's unit tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "store/sqlite_store.h"
#include "support/temp_dir.h"
#include "vault/vault.h"

namespace latchkey::vault {

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override { vault_ = OpenVault(); }

  std::unique_ptr<Vault> OpenVault(std::optional<SecretString> env_key = std::nullopt) {
    auto store = store::OpenSqliteStore({.path = (dir_.path() / "latchkey.db").string()}, clock_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    auto vault = Vault::Open(
        *store, {.env_value = std::move(env_key), .key_file = dir_.path() / "master.key", .read_only = false},
        clock_, SystemRandom::Instance());
    EXPECT_TRUE(vault.ok()) << vault.status().ToString();
    return vault.ok() ? std::move(*vault) : nullptr;
  }

  testing::ScopedTempDir dir_;
  SimulatedClock clock_{FromUnixMillis(1'800'000'000'000)};
  std::unique_ptr<Vault> vault_;
};

}  // namespace latchkey::vault
