#include "support/oauth_servers.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/subprocess.h"

namespace latchkey::testing {
namespace {

namespace fs = std::filesystem;

#ifndef LATCHKEY_SOURCE_DIR
#error "LATCHKEY_SOURCE_DIR must be defined (tests/CMakeLists.txt)"
#endif

// The first executable `name` on PATH, or "" if there is none.
std::string FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) dir = ".";
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) return candidate.string();
  }
  return "";
}

std::string TempFileName(const std::string& tag) {
  static std::atomic<int> counter{0};
  return (fs::temp_directory_path() /
          ("latchkey-oauth-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + tag))
      .string();
}

}  // namespace

std::string OAuthFixtureDir() { return std::string(LATCHKEY_SOURCE_DIR) + "/tests/fixtures/oauth"; }

NodeServer::NodeServer(const std::string& script, const EnvMap& env, std::chrono::milliseconds ready_timeout)
    : script_(script) {
  const std::string dir = OAuthFixtureDir();
  const std::string script_path = dir + "/" + script;
  if (!fs::exists(script_path)) throw std::runtime_error("OAuth fixture not found: " + script_path);
  if (!fs::exists(dir + "/node_modules/oidc-provider") ||
      !fs::exists(dir + "/node_modules/oauth2-mock-server")) {
    throw std::runtime_error("OAuth test fixtures are not installed (" + dir +
                             "/node_modules is missing): run ./scripts/setup (it runs `npm ci --prefix "
                             "tests/fixtures/oauth`)");
  }
  const std::string node = FindInPath("node");
  if (node.empty())
    throw std::runtime_error("`node` not found on PATH: the OAuth fixtures need Node.js >= 20.19");

  stdout_path_ = TempFileName(script + ".out");
  stderr_path_ = TempFileName(script + ".err");
  RunOptions options;
  options.env["PORT"] = "0";
  for (const auto& [name, value] : env) options.env[name] = value;
  const int out_fd = ::open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int pid = -1;
  std::string failure;
  if (out_fd >= 0 && err_fd >= 0) {
    try {
      // Its own process group: the destructor kills all of it.
      pid = Spawn({node, script_path}, ChildEnvironment(options), {-1, out_fd, err_fd}, /*own_group=*/true);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  } else {
    failure = "cannot create " + stdout_path_ + " or " + stderr_path_ + ": " + std::strerror(errno);
  }
  if (out_fd >= 0) ::close(out_fd);
  if (err_fd >= 0) ::close(err_fd);
  if (pid < 0) throw std::runtime_error(failure);
  pid_ = pid;

  // Wait (bounded) for `READY http(s)://127.0.0.1:<port>` on its stdout.
  const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  while (true) {
    std::string out = ReadFile(stdout_path_);
    std::size_t at = out.find("READY ");
    std::size_t eol = at == std::string::npos ? std::string::npos : out.find('\n', at);
    if (eol != std::string::npos) {
      base_url_ = out.substr(at + 6, eol - at - 6);
      std::size_t colon = base_url_.rfind(':');
      if (colon != std::string::npos) port_ = std::atoi(base_url_.c_str() + colon + 1);
      const bool loopback =
          base_url_.rfind("http://127.0.0.1:", 0) == 0 || base_url_.rfind("https://127.0.0.1:", 0) == 0;
      if (loopback && port_ > 0) break;
      Abandon(script + ": unexpected READY line: " + base_url_);
    }
    if (!Running()) {
      Abandon(script + " exited before READY; stderr:\n" + Stderr());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      Abandon(script + ": no READY line within " + std::to_string(ready_timeout.count()) + " ms; stderr:\n" +
              Stderr());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

NodeServer::~NodeServer() {
  Stop();
  std::error_code ignored;
  fs::remove(stdout_path_, ignored);
  fs::remove(stderr_path_, ignored);
}

void NodeServer::Abandon(const std::string& message) {
  Stop();
  std::error_code ignored;
  fs::remove(stdout_path_, ignored);
  fs::remove(stderr_path_, ignored);
  throw std::runtime_error(message);
}

bool NodeServer::Running() const {
  if (pid_ < 0) return false;
  // WNOWAIT: only look; Stop() reaps it.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

std::string NodeServer::Stderr() const { return ReadFile(stderr_path_); }

void NodeServer::Stop() {
  if (pid_ < 0) return;
  ::kill(-pid_, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  pid_t done = 0;
  while ((done = ::waitpid(pid_, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done == 0) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  ::kill(-pid_, SIGKILL);  // anything the server itself started (none today); ESRCH is fine
  pid_ = -1;
}

std::unique_ptr<NodeServer> StartAuthorizationServer(const EnvMap& env) {
  return std::make_unique<NodeServer>("as.js", env);
}

std::unique_ptr<NodeServer> StartResourceServer(const std::string& issuer, const EnvMap& env) {
  EnvMap all = env;
  all["AS"] = issuer;
  return std::make_unique<NodeServer>("rs.js", all);
}

std::unique_ptr<NodeServer> StartWebhookReceiver(const EnvMap& env) {
  return std::make_unique<NodeServer>("webhook.js", env);
}

std::unique_ptr<NodeServer> StartFaultServer(const EnvMap& env) {
  return std::make_unique<NodeServer>("fault.js", env);
}

// ---- HTTP via curl --------------------------------------------------------------------------------

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string UrlEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

HttpResponse HttpRequest(const std::string& method, const std::string& url, const std::string& body,
                         const HttpOptions& options) {
  static const std::string curl = FindInPath("curl");
  if (curl.empty()) throw std::runtime_error("`curl` not found on PATH");
  TempDir dir;
  const std::string header_file = dir.path() + "/headers";
  const std::string body_file = dir.path() + "/body";
  std::vector<std::string> argv = {curl, "-sS",         "--max-time", std::to_string(options.timeout.count()),
                                   "-D", header_file,   "-o",         body_file,
                                   "-w", "%{http_code}"};
  const bool send_body = method != "GET" && method != "HEAD";
  if (method == "POST" && send_body) {
    argv.insert(argv.end(), {"--data-binary", "@-"});
  } else if (method != "GET") {
    argv.insert(argv.end(), {"-X", method});
    if (send_body) argv.insert(argv.end(), {"--data-binary", "@-"});
  }
  for (const auto& h : options.headers) argv.insert(argv.end(), {"-H", h});
  if (!options.basic_auth.empty()) argv.insert(argv.end(), {"-u", options.basic_auth});
  if (!options.cookie_jar.empty())
    argv.insert(argv.end(), {"-b", options.cookie_jar, "-c", options.cookie_jar});
  if (options.follow_redirects) argv.insert(argv.end(), {"-L", "--max-redirs", "20"});
  argv.push_back(url);

  RunOptions run;
  run.stdin_data = body;
  run.timeout = options.timeout + std::chrono::seconds(10);
  RunResult result = Run(argv, run);

  HttpResponse response;
  response.status = std::atoi(result.out.c_str());
  response.body = ReadFile(body_file);
  if (result.exit_code != 0) response.error = result.err;
  // With redirects the file holds one header block per response: keep the last one.
  std::stringstream lines(ReadFile(header_file));
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
      response.headers.clear();
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::size_t start = line.find_first_not_of(" \t", colon + 1);
    response.headers[name] = start == std::string::npos ? "" : line.substr(start);
  }
  return response;
}

HttpResponse HttpGet(const std::string& url, const HttpOptions& options) {
  return HttpRequest("GET", url, "", options);
}

HttpResponse HttpPostForm(const std::string& url,
                          const std::vector<std::pair<std::string, std::string>>& form,
                          const HttpOptions& options) {
  std::string body;
  for (const auto& [k, v] : form) {
    if (!body.empty()) body += '&';
    body += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return HttpRequest("POST", url, body, options);
}

}  // namespace latchkey::testing
