// Several latchkey processes on one data dir at once: nobody sees the store busy.
#include <thread>

#include "e2e/cli_fixture.h"

namespace latchkey::testing {
namespace {

TEST_F(CliTest, ProcessesWritingAndReadingAtOnceNeverSeeBusy) {
  MustRun({"connection", "list"});  // create the store and the key first
  constexpr int kWriters = 2, kReaders = 2, kRounds = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<RunResult>> results(kWriters + kReaders);
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kRounds; ++i) {
        std::string name = "c" + std::to_string(w) + "-" + std::to_string(i);
        results[w].push_back(Latchkey({"connection", "import", name, "--provider", "google"},
                                      R"({"access_token":"t)" + name + R"(","expires_in":3600})"));
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      for (int i = 0; i < kRounds; ++i) {
        results[kWriters + r].push_back(Latchkey({"connection", "list"}));
        results[kWriters + r].push_back(Latchkey({"token", "c0-0"}));  // may not exist yet: exit 1 allowed
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& per_thread : results) {
    for (const RunResult& r : per_thread) {
      EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr("busy")));
      EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr("locked")));
      EXPECT_TRUE(r.exit_code == 0 || r.err.find("connection 'c0-0' does not exist") != std::string::npos)
          << r.err;
    }
  }
  std::string list = MustRun({"connection", "list"});
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kRounds; ++i) {
      EXPECT_THAT(list, ::testing::HasSubstr("c" + std::to_string(w) + "-" + std::to_string(i) + " "));
    }
  }
}

}  // namespace
}  // namespace latchkey::testing
