// bench/store/run helper: fills a data dir's store (SQLite, or PostgreSQL through its
// latchkey.toml) with COUNT OAuth connections of one provider, each with a sealed access
// and refresh token valid for a day, through the vault like `connection import` (one
// transaction per connection), from one process.
//
//   populate DATA_DIR PROVIDER COUNT
#include <chrono>
#include <cstdio>
#include <string>

#include "cli/context.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: populate DATA_DIR PROVIDER COUNT\n");
    return 2;
  }
  latchkey::cli::Context context;
  context.data_dir_option = argv[1];
  auto vault = context.Vault();
  if (!vault.ok()) {
    std::fprintf(stderr, "%s\n", vault.status().ToString().c_str());
    return 1;
  }
  const int count = std::stoi(argv[3]);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "conn-%06d", i);
    std::string document = R"({"access_token":"bench-at-)" + std::to_string(i) +
                           R"(","refresh_token":"bench-rt-)" + std::to_string(i) +
                           R"(","expires_in":86400,"scope":"api:read"})";
    auto imported = (*vault)->connections().Import({.name = name,
                                                    .provider = argv[2],
                                                    .document = std::move(document),
                                                    .source = "populate",
                                                    .replace = false});
    if (!imported.ok()) {
      std::fprintf(stderr, "%s: %s\n", name, imported.status().ToString().c_str());
      return 1;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%d connections in %.1f s\n", count, seconds);
  return 0;
}
