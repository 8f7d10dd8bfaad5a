// `latchkey serve` as a real process: opens the store, answers health checks, stops
// cleanly on SIGTERM.
#include <signal.h>

#include <regex>
#include <thread>

#include "e2e/cli_fixture.h"
#include "support/raw_http.h"

namespace latchkey::testing {
namespace {

// One HTTP/1.1 GET over loopback; returns the whole response (status line, headers, body).
std::string HttpGet(int port, const std::string& path) {
  return RawExchange(port, BuildRequest("GET", path)).raw;
}

// Waits (bounded) for the "serving on http://127.0.0.1:PORT" log line.
int WaitForPort(const Background& server) {
  const std::regex serving(R"(serving on http://127\.0\.0\.1:(\d+))");
  for (int i = 0; i < 200; ++i) {
    std::smatch m;
    std::string log = ReadFile(server.stderr_path());
    if (std::regex_search(log, m, serving)) return std::stoi(m[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return -1;
}

TEST_F(CliTest, ServeAnswersHealthAndReadinessAndStopsOnSigterm) {
  Background server({LatchkeyBinary(), "--data-dir", data_dir(), "serve", "--listen", "127.0.0.1:0"});
  int port = WaitForPort(server);
  ASSERT_GT(port, 0) << ReadFile(server.stderr_path());
  std::string health = HttpGet(port, "/healthz");
  EXPECT_THAT(health, ::testing::StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(health, ::testing::HasSubstr("\"ok\""));
  std::string ready = HttpGet(port, "/readyz");
  EXPECT_THAT(ready, ::testing::StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(HttpGet(port, "/nope"), ::testing::StartsWith("HTTP/1.1 404"));
  // The daemon holds the store open; the CLI still works beside it.
  MustRun({"connection", "import", "work", "--provider", "google"},
          R"({"access_token":"t","expires_in":60})");
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

TEST_F(CliTest, ServeRefusesATakenPort) {
  Background first({LatchkeyBinary(), "--data-dir", data_dir(), "serve", "--listen", "127.0.0.1:0"});
  int port = WaitForPort(first);
  ASSERT_GT(port, 0);
  RunResult second = Latchkey({"serve", "--listen", "127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, ::testing::HasSubstr(std::to_string(port)));
}

}  // namespace
}  // namespace latchkey::testing
