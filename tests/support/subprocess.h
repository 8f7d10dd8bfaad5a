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

// A background child (e.g. `latchkey serve`), killed with SIGTERM when destroyed.
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
