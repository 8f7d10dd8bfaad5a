// Real OAuth 2.0 / OIDC test servers (tests/fixtures/oauth/*.js, run with Node) for the test
// suites, on free loopback ports, plus a small curl-based HTTP client to poke them.
//
//   auto as = StartAuthorizationServer({{"AT_TTL", "60"}});   // oidc-provider: as.js
//   auto rs = StartResourceServer(as->base_url());            // RFC 6750 resource server: rs.js
//   auto fault = StartFaultServer();                          // token-endpoint faults: fault.js
//
// Each server prints `READY http://127.0.0.1:<port>` when listening; the constructor waits for it
// (bounded) and throws std::runtime_error (with the server's stderr) if it never comes. The
// fixtures need `node_modules` in tests/fixtures/oauth: run ./scripts/setup.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace latchkey::testing {

using EnvMap = std::map<std::string, std::string>;

// tests/fixtures/oauth in the source tree (from the LATCHKEY_SOURCE_DIR compile definition).
std::string OAuthFixtureDir();

// `node <fixture dir>/<script>` in its own process group, PORT=0 plus `env`. Stdout and stderr go
// to temporary files (removed on destruction). Destruction sends SIGTERM to the group, then
// SIGKILL if it has not exited within 3 s.
class NodeServer {
 public:
  // (60 s: on a loaded 2-core machine oidc-provider once took over 20 s to come up.)
  NodeServer(const std::string& script, const EnvMap& env,
             std::chrono::milliseconds ready_timeout = std::chrono::seconds(60));
  ~NodeServer();
  NodeServer(const NodeServer&) = delete;
  NodeServer& operator=(const NodeServer&) = delete;

  const std::string& base_url() const { return base_url_; }  // "http://127.0.0.1:<port>"
  int port() const { return port_; }
  int pid() const { return pid_; }
  bool Running() const;
  // Everything the server wrote to stderr so far (its logs): useful in failure messages.
  std::string Stderr() const;
  const std::string& stderr_path() const { return stderr_path_; }
  void Stop();

 private:
  [[noreturn]] void Abandon(const std::string& message);  // stop, clean up, throw (constructor only)

  std::string script_;
  std::string base_url_;
  int port_ = 0;
  int pid_ = -1;
  std::string stdout_path_;
  std::string stderr_path_;
};

// as.js (oidc-provider). Knobs: AT_TTL, RT_TTL, ROTATE, DEVICE_TTL, DEVICE_INTERVAL, CC_TTL.
std::unique_ptr<NodeServer> StartAuthorizationServer(const EnvMap& env = {});
// rs.js, validating tokens of the authorization server at `issuer`.
std::unique_ptr<NodeServer> StartResourceServer(const std::string& issuer, const EnvMap& env = {});
// webhook.js: records alert deliveries (GET /__received). Knob: FAIL_FIRST.
std::unique_ptr<NodeServer> StartWebhookReceiver(const EnvMap& env = {});
// fault.js (oauth2-mock-server behind a fault proxy). Knobs: AT_TTL, RETRY_AFTER, SLOW_MS,
// HUGE_BYTES.
std::unique_ptr<NodeServer> StartFaultServer(const EnvMap& env = {});

// ---- a small HTTP client (runs the `curl` command line) ----------------------------------------

struct HttpResponse {
  int status = 0;                              // 0: no HTTP answer (see `error`)
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;
  std::string error;  // curl's stderr when it failed
  std::string Header(const std::string& lower_name) const;
};

struct HttpOptions {
  std::vector<std::string> headers;  // "Name: value"
  std::string basic_auth;            // "user:password" (client_secret_basic)
  std::string cookie_jar;            // a file: read and written (for the login interaction)
  bool follow_redirects = false;
  std::chrono::seconds timeout{15};
};

HttpResponse HttpRequest(const std::string& method, const std::string& url, const std::string& body,
                         const HttpOptions& options = {});
HttpResponse HttpGet(const std::string& url, const HttpOptions& options = {});
// application/x-www-form-urlencoded POST.
HttpResponse HttpPostForm(const std::string& url,
                          const std::vector<std::pair<std::string, std::string>>& form,
                          const HttpOptions& options = {});
std::string UrlEncode(const std::string& s);

}  // namespace latchkey::testing
