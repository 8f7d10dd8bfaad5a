// token_storm DATA_DIR CONNECTION THREADS
// Test tool: THREADS threads of one process ask latchkey for CONNECTION's access token
// at the same moment (released together by a latch). Prints one line per thread: the
// token, or "error: <message>". Used by the rotation-storm test with several of these
// processes at once.
#include <iostream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "cli/context.h"
#include "common/random.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: token_storm DATA_DIR CONNECTION THREADS\n";
    return 2;
  }
  latchkey::EnsureLibsodium();
  latchkey::cli::Context context;
  context.data_dir_option = argv[1];
  const std::string connection = argv[2];
  const int threads = std::stoi(argv[3]);
  auto coordinator = context.Coordinator();
  if (!coordinator.ok()) {
    std::cerr << coordinator.status().ToString() << "\n";
    return 1;
  }
  std::vector<std::string> results(static_cast<std::size_t>(threads));
  std::latch start(threads);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      start.arrive_and_wait();
      auto grant = (*coordinator)->Current(connection);
      results[static_cast<std::size_t>(i)] =
          grant.ok() ? std::string(grant->access_token.reveal()) : "error: " + grant.status().ToString();
    });
  }
  for (auto& t : pool) t.join();
  for (const auto& line : results) std::cout << line << "\n";
  return 0;
}
