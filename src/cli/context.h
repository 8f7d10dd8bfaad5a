// What every subcommand shares: the global options, the lazily opened vault, and the
// helpers that print results and turn a Status into one sentence and an exit code
// (SPEC §8: 0 ok, 1 failure, 2 usage error, 3 a human must act).
// Used by the single CLI thread only.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"
#include "gateway/gateway.h"
#include "oauth/http_client.h"
#include "vault/oauth_clients.h"
#include "vault/refresh_coordinator.h"
#include "vault/vault.h"

namespace CLI {
class App;
}

namespace latchkey::cli {

enum ExitCode : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2, kExitNeedsHuman = 3 };

struct Config {
  std::string listen = "127.0.0.1:8787";
  std::string store = "sqlite";
  std::string public_url;
  std::string log_level = "info";
  std::string webhook_url;
  std::string webhook_secret_env;
  std::chrono::milliseconds webhook_first_backoff{5000};  // [alerts] first_backoff_ms
  std::chrono::milliseconds webhook_poll_interval{1000};  // [alerts] poll_interval_ms
  // [alerts] expiring_days: how long before a refresh token's forecast end a human hears
  // of it (connection.expiring, and `doctor`). Whole days, or a duration such as "12h".
  std::chrono::seconds expiring_within = std::chrono::hours(24 * 7);
  // Longest wait for one token-endpoint or discovery call ([oauth] timeout_ms).
  std::chrono::milliseconds oauth_timeout{30000};
  // [gateway]: limits and timeouts of `serve` (listen address and public_url are set apart).
  gateway::GatewayOptions gateway;
  // The environment variables provider entries may name with env: start with one of these
  // (vault/env_references.h).
  std::vector<std::string> env_secret_prefixes = vault::EnvReferencePolicy{}.allowed_prefixes;
  // [audit] retention_days: audit rows older than this are deleted; 0 keeps them all.
  int64_t audit_retention_days = 90;
};

// Reads latchkey.toml's text; `file` names it in messages. kInvalidArgument with one
// sentence naming the file, line and setting for a syntax error or an unknown or invalid
// setting.
StatusOr<Config> ParseConfig(std::string_view text, const std::filesystem::path& file);

class Context {
 public:
  // Global options, filled by CLI11.
  std::string data_dir_option;
  std::string config_option;  // --config: the settings file
  std::string store_option;   // --store: replaces latchkey.toml's `store`
  bool json = false;
  std::string log_level;

  // The data dir: --data-dir, else $LATCHKEY_DATA_DIR, else $XDG_DATA_HOME/latchkey,
  // else ~/.local/share/latchkey. Created with mode 0700 when missing.
  StatusOr<std::filesystem::path> DataDir();
  // The settings file: --config, else $LATCHKEY_CONFIG (either must exist), else
  // latchkey.toml in the data dir (defaults when absent); then --store.
  StatusOr<Config> LoadConfig();
  // Opens the store and the vault on first use.
  StatusOr<vault::Vault*> Vault();
  // The store alone, opened (and migrated) anew on each call; no data key is made.
  StatusOr<std::shared_ptr<store::Store>> OpenStore();
  // Where the master key comes from: LATCHKEY_MASTER_KEY (taken out of the environment),
  // else the systemd credential master.key, else master.key in the data dir.
  StatusOr<vault::MasterKeySource> MasterKey();
  // The HTTP client for token endpoints, and the provider → TokenClient resolver.
  oauth::HttpClient& Http();
  StatusOr<vault::OAuthClients*> OAuth();
  // Hands out access tokens, refreshing them exactly once at a time.
  StatusOr<vault::RefreshCoordinator*> Coordinator();

  // The subcommand's work, set by its parse callback and run after parsing.
  std::function<int()> action;

 private:
  StatusOr<Config> LoadConfigFile();

  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<oauth::HttpClient> http_;
  std::unique_ptr<vault::OAuthClients> oauth_;
  std::unique_ptr<vault::RefreshCoordinator> coordinator_;
};

int ExitCodeFor(const Status& status);
// Prints "latchkey: error: <message>" to stderr and returns the exit code for it.
int Fail(const Status& status);
int FailUsage(std::string_view message);
void PrintJson(const nlohmann::json& value);

// What a template entry (provider_template.h) takes on the command line: --param
// name=value (repeatable) and --provider-name.
struct TemplateArguments {
  std::vector<std::string> params;
  std::string provider_name;
};
// The provider a command uses: `provider` itself, or for a template the instance its
// values make (stored by the first command that makes it). A value not given is asked
// on the terminal when `ask` and stdin is one; else the error names each --param.
StatusOr<std::string> ConcreteProvider(vault::Vault& vault, const std::string& provider,
                                       const TemplateArguments& arguments, bool ask);

// Reads a whole file ("-" = standard input) of at most `limit` bytes.
StatusOr<std::string> ReadInput(const std::string& path, std::size_t limit, std::string_view what);

void AddProviderCommands(CLI::App& app, Context& context);
void AddConnectionCommands(CLI::App& app, Context& context);
// `token`, `connection refresh`, `connection test`, `doctor` (after AddConnectionCommands).
void AddTokenCommands(CLI::App& app, Context& context);

void AddAgentCommands(CLI::App& app, Context& context);
void AddKeyCommands(CLI::App& app, Context& context);
void AddServeCommand(CLI::App& app, Context& context);
// `mcp`: the MCP tools over stdio for one agent.
void AddMcpCommand(CLI::App& app, Context& context);
void AddAuditCommand(CLI::App& app, Context& context);
// `backup FILE [--final]` and `restore FILE`.
void AddBackupCommands(CLI::App& app, Context& context);
// `connect PROVIDER`: browser consent (loopback), device flow or client credentials.
void AddConnectCommand(CLI::App& app, Context& context);

// The latchkey binary: hardens the process (no core dumps, no ptrace, umask 077), then Run.
int Main(int argc, char** argv);
// Parses argv, runs the chosen subcommand in this process and returns its exit code.
int Run(int argc, char** argv);

}  // namespace latchkey::cli
