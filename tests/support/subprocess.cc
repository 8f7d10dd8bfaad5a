#include "support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

extern char** environ;

namespace latchkey::testing {
namespace {

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::vector<std::string> ChildEnvironment(const RunOptions& options) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    std::size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& name : options.unset_env) env.erase(name);
  for (const auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

int Spawn(const std::vector<std::string>& argv_in, const std::vector<std::string>& envp_in, const ChildIo& io,
          bool own_group) {
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> envp = envp_in;
  auto argv_ptrs = Pointers(argv);
  auto env_ptrs = Pointers(envp);
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int report[2];  // the child writes its errno here when it cannot exec; exec closes it
  if (null_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    const int error = errno;
    if (null_fd >= 0) ::close(null_fd);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(error));
  }
  const int in = io.in >= 0 ? io.in : null_fd;
  const int out = io.out >= 0 ? io.out : null_fd;
  const int err = io.err >= 0 ? io.err : out;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec: other threads may hold locks.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent ended before prctl
    if (own_group) ::setpgid(0, 0);
    if (::dup2(in, 0) >= 0 && ::dup2(out, 1) >= 0 && ::dup2(err, 2) >= 0) {
      ::execve(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
    }
    const int error = errno;
    (void)!::write(report[1], &error, sizeof error);
    ::_exit(127);
  }
  const int fork_error = errno;
  ::close(null_fd);
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": fork: " + std::strerror(fork_error));
  }
  int error = 0;
  ssize_t got = 0;
  do {
    got = ::read(report[0], &error, sizeof error);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got > 0) {
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(error));
  }
  return pid;
}

const char* LatchkeyBinary() {
  static const char* const binary = [] {
    const char* chosen = std::getenv("LATCHKEY_TEST_BINARY");
    return chosen != nullptr && *chosen != '\0' ? chosen : LATCHKEY_BUILT_BINARY;
  }();
  return binary;
}

bool RunsTheBuiltBinary() { return std::string_view(LatchkeyBinary()) == LATCHKEY_BUILT_BINARY; }

RunResult Run(const std::vector<std::string>& argv_in, const RunOptions& options) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_t pid = -1;
  std::string failure;
  try {
    pid = Spawn(argv_in, ChildEnvironment(options), {in[0], out[1], err[1]});
  } catch (const std::exception& e) {
    failure = e.what();
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    throw std::runtime_error(failure);
  }

  // Feed stdin and drain both outputs together, so no pipe fills up and blocks the child.
  std::size_t written = 0;
  int stdin_fd = in[1];
  if (options.stdin_data.empty()) {
    ::close(stdin_fd);
    stdin_fd = -1;
  } else {
    ::fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  }
  RunResult result;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  int open_outputs = 2;
  bool timed_out = false;
  while (open_outputs > 0) {
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {stdin_fd, POLLOUT, 0}};
    int n = ::poll(fds, stdin_fd >= 0 ? 3 : 2, 200);
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      char buffer[65536];
      ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
      if (got > 0) {
        (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(got));
      } else {
        ::close(fds[i].fd);
        (i == 0 ? out[0] : err[0]) = -1;
        --open_outputs;
      }
    }
    if (stdin_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t put =
          ::write(stdin_fd, options.stdin_data.data() + written, options.stdin_data.size() - written);
      if (put > 0) written += static_cast<std::size_t>(put);
      if (put < 0 || written == options.stdin_data.size()) {
        ::close(stdin_fd);
        stdin_fd = -1;
      }
    }
  }
  if (stdin_fd >= 0) ::close(stdin_fd);
  if (out[0] >= 0) ::close(out[0]);
  if (err[0] >= 0) ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = DecodeWaitStatus(status);
  if (timed_out) result.err += "\n[test harness: killed after timeout]";
  return result;
}

Background::Background(const std::vector<std::string>& argv_in, const RunOptions& options) {
  static int counter = 0;
  stderr_path_ = (std::filesystem::temp_directory_path() /
                  ("latchkey-bg-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".log"))
                     .string();
  const int log = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log < 0) throw std::runtime_error("cannot create " + stderr_path_ + ": " + std::strerror(errno));
  try {
    pid_ = Spawn(argv_in, ChildEnvironment(options), {-1, log, log});
  } catch (...) {
    ::close(log);
    throw;
  }
  ::close(log);
}

int Background::Stop(int signal) {
  if (pid_ < 0) return -1;
  ::kill(pid_, signal);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return DecodeWaitStatus(status);
}

Background::~Background() {
  if (pid_ >= 0) Stop(SIGKILL);
  std::filesystem::remove(stderr_path_);
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "latchkey-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

}  // namespace latchkey::testing
