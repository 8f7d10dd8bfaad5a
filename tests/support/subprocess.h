// Runs a child process for end-to-end tests: argv, optional stdin, extra environment,
// captured stdout/stderr and exit code. Each call is independent: safe from any thread.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace latchkey::testing {

struct RunResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

struct RunOptions {
  std::string stdin_data;
  bool close_stdin = true;                 // false: the child inherits no stdin pipe (reads from /dev/null)
  std::map<std::string, std::string> env;  // added to (or replacing in) this process's environment
  std::vector<std::string> unset_env;
  std::chrono::seconds timeout{120};
};

RunResult Run(const std::vector<std::string>& argv, const RunOptions& options = {});

// The `latchkey` binary the end-to-end tests run: $LATCHKEY_TEST_BINARY when set (scripts/test
// points it at the ASan + UBSan build's daemon), else the one this build made.
const char* LatchkeyBinary();
// Whether that is the release binary this build made. The ASan build's allocator pads every
// block and keeps freed memory in quarantine, so a test's memory bounds hold only for this.
bool RunsTheBuiltBinary();

// A child's standard input, output and error for Spawn: descriptors of this process,
// duplicated into the child; -1 is /dev/null (for `err`: the same as `out`).
struct ChildIo {
  int in = -1;
  int out = -1;
  int err = -1;
};

// Starts argv[0] (a path) with exactly the environment `envp` ("NAME=value" entries), in
// a process group of its own when `own_group`, and returns its pid. The child is sent
// SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG), so a test binary that
// ctest kills at its timeout leaves no `latchkey serve` or node server behind: start a
// child that must outlive a thread from the main thread. Throws if argv[0] cannot run.
int Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& envp, const ChildIo& io,
          bool own_group = false);

// The environment a child of this process gets with `options`: this process's own, less
// options.unset_env, plus options.env.
std::vector<std::string> ChildEnvironment(const RunOptions& options);

// A background child (e.g. `latchkey serve`), killed with SIGKILL when destroyed (Stop it
// with SIGTERM first to see it shut down).
class Background {
 public:
  Background(const std::vector<std::string>& argv, const RunOptions& options = {});
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  int pid() const { return pid_; }
  // Sends `signal` and waits for the exit; returns the exit code (128 + signal if killed).
  int Stop(int signal);
  // stderr captured so far is written to this file.
  const std::string& stderr_path() const { return stderr_path_; }

 private:
  int pid_ = -1;
  std::string stderr_path_;
};

// A fresh temporary folder, removed (recursively) when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);

}  // namespace latchkey::testing
