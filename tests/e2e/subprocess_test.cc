// The test harness's own promise: a child it starts dies with the process that started
// it, so a test binary that ctest kills at its timeout leaves no daemon behind (each left
// one holds a port, a data dir and CPU for the rest of the run).
#include "support/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace latchkey::testing {
namespace {

// Whether `pid` is a live process (not gone, not a zombie nobody reaped yet).
bool Alive(int pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  const char state = stat[close + 2];
  return state != 'Z' && state != 'X';
}

TEST(SubprocessTest, AChildDiesWithTheProcessThatStartedIt) {
  int channel[2];
  ASSERT_EQ(::pipe(channel), 0);
  const pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    // Stands in for a test binary: starts a long-lived child, says which, and waits to be
    // killed as ctest kills a test binary at its timeout.
    ::close(channel[0]);
    int child = -1;
    try {
      child = Spawn({"/bin/sleep", "300"}, {}, {});
    } catch (...) {
      ::_exit(2);
    }
    (void)!::write(channel[1], &child, sizeof child);
    ::pause();
    ::_exit(0);
  }
  ::close(channel[1]);
  int child = -1;
  const ssize_t got = ::read(channel[0], &child, sizeof child);
  ::close(channel[0]);
  ASSERT_EQ(got, static_cast<ssize_t>(sizeof child)) << "the stand-in could not start its child";
  EXPECT_TRUE(Alive(child));

  ::kill(middle, SIGKILL);
  ::waitpid(middle, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = !Alive(child);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(gone) << "the child outlived the process that started it";
  if (!gone) ::kill(child, SIGKILL);
}

TEST(SubprocessTest, AProgramThatCannotRunIsAnErrorNamingIt) {
  try {
    Spawn({"/nonexistent/latchkey-test-program"}, {}, {});
    FAIL() << "Spawn started a program that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/latchkey-test-program"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace latchkey::testing
