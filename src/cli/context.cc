#include "cli/context.h"

#include <sodium.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/duration.h"
#include "common/environment.h"
#include "common/random.h"
#include "oauth/curl_http_client.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace latchkey::cli {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): single CLI thread
  return value == nullptr ? std::string() : std::string(value);
}

Status ConfigError(const std::filesystem::path& file, const toml::node& node, const std::string& what) {
  return InvalidArgumentError(file.string() + ":" + std::to_string(node.source().begin.line) + ": " + what);
}

StatusOr<std::string> ConfigString(const std::filesystem::path& file, const toml::node& node,
                                   std::string_view key) {
  if (!node.is_string()) return ConfigError(file, node, "'" + std::string(key) + "' must be a string");
  return std::string(*node.value<std::string>());
}

// [alerts] expiring_days: a whole number of days (7), or a duration ("12h", "30s").
StatusOr<std::chrono::seconds> ExpiringWithin(const std::filesystem::path& file, const toml::node& node) {
  constexpr int64_t kMostDays = kLongestDuration.count() / 86400;
  if (node.is_integer() && *node.value<int64_t>() > 0 && *node.value<int64_t>() <= kMostDays) {
    return std::chrono::hours(24 * *node.value<int64_t>());
  }
  if (node.is_string()) {
    if (auto duration = ParseDuration(*node.value<std::string>())) return *duration;
  }
  return ConfigError(file, node,
                     "'alerts.expiring_days' takes a whole number of days from 1 to " +
                         std::to_string(kMostDays) + ", or a duration such as \"12h\"");
}

}  // namespace

StatusOr<std::filesystem::path> Context::DataDir() {
  std::filesystem::path dir;
  if (!data_dir_option.empty()) {
    dir = data_dir_option;
  } else if (std::string env = Env("LATCHKEY_DATA_DIR"); !env.empty()) {
    dir = env;
  } else if (std::string xdg = Env("XDG_DATA_HOME"); !xdg.empty()) {
    dir = std::filesystem::path(xdg) / "latchkey";
  } else if (std::string home = Env("HOME"); !home.empty()) {
    dir = std::filesystem::path(home) / ".local" / "share" / "latchkey";
  } else {
    return InvalidArgumentError("no data dir: pass --data-dir or set LATCHKEY_DATA_DIR");
  }
  std::error_code error;
  if (!std::filesystem::exists(dir, error)) {
    std::filesystem::create_directories(dir, error);
    if (error) {
      return FailedPreconditionError("cannot create the data dir " + dir.string() + ": " + error.message());
    }
    ::chmod(dir.c_str(), 0700);
  } else if (!std::filesystem::is_directory(dir, error)) {
    return InvalidArgumentError("the data dir " + dir.string() + " is not a directory");
  }
  return dir;
}

namespace {

// [gateway] in latchkey.toml: every value a positive integer but upstream_ca_file (a path).
Status ReadGatewaySettings(const std::filesystem::path& file, const toml::table& table,
                           gateway::GatewayOptions& options) {
  for (const auto& [key, node] : table) {
    if (key == "upstream_ca_file") {
      LATCHKEY_ASSIGN_OR_RETURN(options.upstream_ca_file, ConfigString(file, node, key.str()));
      continue;
    }
    // Only an integer node is read as one: toml++ 3 converts a float by casting it to
    // int64_t before it checks the range, undefined for 8.9e96 (found by config_fuzz).
    const std::optional<int64_t> value = node.is_integer() ? node.value<int64_t>() : std::nullopt;
    if (!value || *value <= 0) {
      return ConfigError(file, node,
                         "setting 'gateway." + std::string(key.str()) + "' takes a positive integer");
    }
    const auto ms = std::chrono::milliseconds(*value);
    if (key == "workers") {
      options.http.workers = static_cast<int>(*value);
    } else if (key == "max_body_bytes") {
      options.http.max_body_bytes = static_cast<uint64_t>(*value);
    } else if (key == "max_header_bytes") {
      options.http.max_header_bytes = static_cast<uint32_t>(*value);
    } else if (key == "max_response_bytes") {
      options.upstream.max_response_body = static_cast<uint64_t>(*value);
    } else if (key == "idle_timeout_ms") {
      options.http.idle_timeout = ms;
    } else if (key == "body_deadline_ms") {
      options.http.body_deadline = ms;
    } else if (key == "read_timeout_ms") {
      options.http.read_timeout = ms;
    } else if (key == "upstream_timeout_ms") {
      options.proxy.deadline = ms;
      options.upstream.body_stall_timeout = ms;
    } else if (key == "shutdown_grace_ms") {
      options.http.shutdown_grace = ms;
    } else if (key == "max_connections") {
      options.http.max_connections = static_cast<size_t>(*value);
    } else if (key == "blocking_threads") {
      options.blocking_threads = static_cast<int>(*value);
    } else {
      return ConfigError(file, node, "unknown setting 'gateway." + std::string(key.str()) + "'");
    }
  }
  return Status::Ok();
}

// [mcp_oauth]: latchkey as the OAuth authorization server for /mcp.
Status ReadMcpOAuthSettings(const std::filesystem::path& file, const toml::table& table,
                            gateway::McpOAuthOptions& options) {
  for (const auto& [key, node] : table) {
    const std::string name = "mcp_oauth." + std::string(key.str());
    if (key == "enabled" || key == "allow_private_metadata_hosts") {
      if (!node.is_boolean()) return ConfigError(file, node, "setting '" + name + "' takes true or false");
      (key == "enabled" ? options.enabled : options.allow_private_metadata_hosts) = *node.value<bool>();
    } else if (key == "metadata_ca_file") {
      LATCHKEY_ASSIGN_OR_RETURN(options.metadata_ca_file, ConfigString(file, node, key.str()));
    } else if (key == "access_token_lifetime_s" || key == "refresh_reuse_grace_s") {
      const bool lifetime = key == "access_token_lifetime_s";
      const std::optional<int64_t> seconds = node.is_integer() ? node.value<int64_t>() : std::nullopt;
      if (!seconds || *seconds < (lifetime ? 1 : 0) || *seconds > (lifetime ? 86400 : 60)) {
        return ConfigError(
            file, node,
            "setting '" + name + "' takes whole seconds, " + (lifetime ? "1 to 86400" : "0 to 60"));
      }
      (lifetime ? options.access_token_lifetime : options.refresh_reuse_grace) =
          std::chrono::seconds(*seconds);
    } else {
      return ConfigError(file, node, "unknown setting '" + name + "'");
    }
  }
  return Status::Ok();
}

// env_secret_prefixes: a list of prefixes of environment variable names, each at least
// four characters (a shorter one, such as "" or "A", would open nearly every variable).
StatusOr<std::vector<std::string>> EnvSecretPrefixes(const std::filesystem::path& file,
                                                     const toml::node& node) {
  const Status wrong = ConfigError(
      file, node,
      "setting 'env_secret_prefixes' takes a list of environment variable name prefixes of at least four "
      "letters, digits or '_', e.g. [\"LATCHKEY_SECRET_\", \"ACME_\"]");
  const toml::array* list = node.as_array();
  if (list == nullptr) return wrong;
  std::vector<std::string> prefixes;
  for (const toml::node& item : *list) {
    std::optional<std::string> prefix = item.value<std::string>();
    if (!item.is_string() || !prefix || prefix->size() < 4 || !std::ranges::all_of(*prefix, [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
        })) {
      return wrong;
    }
    prefixes.push_back(std::move(*prefix));
  }
  return prefixes;
}

}  // namespace

StatusOr<Config> Context::LoadConfig() {
  LATCHKEY_ASSIGN_OR_RETURN(Config config, LoadConfigFile());
  if (!store_option.empty()) {
    // argv is readable by every user of the machine (ps, /proc): no password there.
    StatusOr<bool> has_password = false;
    if (store_option.find("://") != std::string::npos)
      has_password = store::PostgresUrlHasPassword(store_option);
    if (!has_password.ok()) return has_password.status().WithContext("--store");
    if (*has_password) {
      return InvalidArgumentError(
          "--store must not carry a password (the command line is visible to every user of this "
          "machine): give the URL without it and put the password in PGPASSWORD or ~/.pgpass, or "
          "put the whole URL in latchkey.toml");
    }
    config.store = store_option;
  }
  return config;
}

StatusOr<Config> Context::LoadConfigFile() {
  std::filesystem::path file = config_option.empty() ? Env("LATCHKEY_CONFIG") : config_option;
  if (file.empty()) {
    LATCHKEY_ASSIGN_OR_RETURN(std::filesystem::path dir, DataDir());
    file = dir / "latchkey.toml";
    if (!std::filesystem::exists(file)) return Config{};
  } else if (!std::filesystem::exists(file)) {
    // Named on purpose, so its absence is a mistake, not "use the defaults".
    return NotFoundError("the settings file " + file.string() + " does not exist");
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return InvalidArgumentError(file.string() + ": cannot be read");
  return ParseConfig(text.str(), file);
}

StatusOr<Config> ParseConfig(std::string_view text, const std::filesystem::path& file) {
  Config config;
  toml::table table;
  try {
    table = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    return InvalidArgumentError(file.string() + ":" + std::to_string(e.source().begin.line) + ":" +
                                std::to_string(e.source().begin.column) + ": " +
                                std::string(e.description()));
  }
  for (const auto& [key, node] : table) {
    if (key == "listen") {
      LATCHKEY_ASSIGN_OR_RETURN(config.listen, ConfigString(file, node, key.str()));
    } else if (key == "store") {
      LATCHKEY_ASSIGN_OR_RETURN(config.store, ConfigString(file, node, key.str()));
    } else if (key == "public_url") {
      LATCHKEY_ASSIGN_OR_RETURN(config.public_url, ConfigString(file, node, key.str()));
    } else if (key == "log_level") {
      LATCHKEY_ASSIGN_OR_RETURN(config.log_level, ConfigString(file, node, key.str()));
    } else if (key == "oauth" && node.is_table()) {
      for (const auto& [oauth_key, oauth_node] : *node.as_table()) {
        if (oauth_key == "timeout_ms" && oauth_node.is_integer() && *oauth_node.value<int64_t>() > 0) {
          config.oauth_timeout = std::chrono::milliseconds(*oauth_node.value<int64_t>());
        } else {
          return ConfigError(file, oauth_node,
                             "unknown or invalid setting 'oauth." + std::string(oauth_key.str()) +
                                 "' (timeout_ms takes a positive integer)");
        }
      }
    } else if (key == "env_secret_prefixes") {
      LATCHKEY_ASSIGN_OR_RETURN(config.env_secret_prefixes, EnvSecretPrefixes(file, node));
    } else if (key == "gateway" && node.is_table()) {
      LATCHKEY_RETURN_IF_ERROR(ReadGatewaySettings(file, *node.as_table(), config.gateway));
    } else if (key == "mcp_oauth" && node.is_table()) {
      LATCHKEY_RETURN_IF_ERROR(ReadMcpOAuthSettings(file, *node.as_table(), config.gateway.mcp_oauth));
    } else if (key == "audit" && node.is_table()) {
      for (const auto& [audit_key, audit_node] : *node.as_table()) {
        if (audit_key == "retention_days" && audit_node.is_integer() && *audit_node.value<int64_t>() >= 0 &&
            *audit_node.value<int64_t>() <= 36500) {
          config.audit_retention_days = *audit_node.value<int64_t>();
        } else {
          return ConfigError(file, audit_node,
                             "unknown or invalid setting 'audit." + std::string(audit_key.str()) +
                                 "' (retention_days takes a whole number of days, 0 to keep every row)");
        }
      }
    } else if (key == "alerts" && node.is_table()) {
      for (const auto& [alert_key, alert_node] : *node.as_table()) {
        if (alert_key == "webhook_url") {
          LATCHKEY_ASSIGN_OR_RETURN(config.webhook_url, ConfigString(file, alert_node, alert_key.str()));
        } else if (alert_key == "webhook_secret") {
          LATCHKEY_ASSIGN_OR_RETURN(config.webhook_secret_env,
                                    ConfigString(file, alert_node, alert_key.str()));
        } else if ((alert_key == "first_backoff_ms" || alert_key == "poll_interval_ms") &&
                   alert_node.is_integer() && *alert_node.value<int64_t>() > 0) {
          auto ms = std::chrono::milliseconds(*alert_node.value<int64_t>());
          (alert_key == "first_backoff_ms" ? config.webhook_first_backoff : config.webhook_poll_interval) =
              ms;
        } else if (alert_key == "expiring_days") {
          LATCHKEY_ASSIGN_OR_RETURN(config.expiring_within, ExpiringWithin(file, alert_node));
        } else {
          return ConfigError(file, alert_node,
                             "unknown setting 'alerts." + std::string(alert_key.str()) + "'");
        }
      }
    } else {
      return ConfigError(file, node, "unknown setting '" + std::string(key.str()) + "'");
    }
  }
  return config;
}

namespace {

// LATCHKEY_MASTER_KEY, else the systemd credential master.key (LoadCredential=, read-only:
// never created, never rewritten), else master.key in the data dir (created on first run).
vault::MasterKeySource MasterKeySourceFor(const std::filesystem::path& data_dir) {
  vault::MasterKeySource master{
      .env_value = std::nullopt, .key_file = data_dir / "master.key", .read_only = false};
  // Out of the environment once read: no child process, and nothing that reads the
  // environment later (a provider entry's env: reference included), finds it there.
  if (SecretString env = TakeFromEnvironment("LATCHKEY_MASTER_KEY"); !env.empty()) {
    master.env_value = std::move(env);
    return master;
  }
  if (std::string credentials = Env("CREDENTIALS_DIRECTORY"); !credentials.empty()) {
    std::filesystem::path credential = std::filesystem::path(credentials) / "master.key";
    std::error_code error;
    if (std::filesystem::exists(credential, error)) {
      master.key_file = std::move(credential);
      master.read_only = true;
    }
  }
  return master;
}

}  // namespace

StatusOr<std::shared_ptr<store::Store>> Context::OpenStore() {
  LATCHKEY_ASSIGN_OR_RETURN(std::filesystem::path dir, DataDir());
  LATCHKEY_ASSIGN_OR_RETURN(Config config, LoadConfig());
  if (config.store == "sqlite") {
    return store::OpenSqliteStore({.path = (dir / "latchkey.db").string()}, SystemClock::Instance());
  }
  if (config.store.starts_with("postgres://") || config.store.starts_with("postgresql://")) {
    return store::OpenPostgresStore({.url = config.store}, SystemClock::Instance());
  }
  // Not echoed: a mistyped URL may still hold a password.
  return InvalidArgumentError(
      "the store setting is not supported: use \"sqlite\" or a \"postgres://...\" URL");
}

StatusOr<vault::MasterKeySource> Context::MasterKey() {
  LATCHKEY_ASSIGN_OR_RETURN(std::filesystem::path dir, DataDir());
  return MasterKeySourceFor(dir);
}

StatusOr<vault::Vault*> Context::Vault() {
  if (vault_) return vault_.get();
  LATCHKEY_ASSIGN_OR_RETURN(Config config, LoadConfig());
  LATCHKEY_ASSIGN_OR_RETURN(std::shared_ptr<store::Store> store, OpenStore());
  LATCHKEY_ASSIGN_OR_RETURN(vault::MasterKeySource master, MasterKey());
  LATCHKEY_ASSIGN_OR_RETURN(vault_, vault::Vault::Open(store, std::move(master), SystemClock::Instance(),
                                                       SystemRandom::Instance()));
  vault_->providers().set_env_policy({.allowed_prefixes = config.env_secret_prefixes});
  return vault_.get();
}

oauth::HttpClient& Context::Http() {
  if (!http_) http_ = std::make_unique<oauth::CurlHttpClient>();
  return *http_;
}

StatusOr<vault::OAuthClients*> Context::OAuth() {
  if (oauth_) return oauth_.get();
  LATCHKEY_ASSIGN_OR_RETURN(vault::Vault * vault, Vault());
  LATCHKEY_ASSIGN_OR_RETURN(Config config, LoadConfig());
  oauth::HttpLimits limits;
  limits.total_timeout = config.oauth_timeout;
  limits.connect_timeout = std::min(limits.connect_timeout, config.oauth_timeout);
  oauth_ = std::make_unique<vault::OAuthClients>(vault->providers(), Http(), SystemClock::Instance(), limits);
  return oauth_.get();
}

StatusOr<vault::RefreshCoordinator*> Context::Coordinator() {
  if (coordinator_) return coordinator_.get();
  LATCHKEY_ASSIGN_OR_RETURN(vault::Vault * vault, Vault());
  LATCHKEY_ASSIGN_OR_RETURN(vault::OAuthClients * clients, OAuth());
  coordinator_ = std::make_unique<vault::RefreshCoordinator>(*vault, *clients, SystemClock::Instance(),
                                                             SystemRandom::Instance());
  return coordinator_.get();
}

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsage;
    case StatusCode::kNeedsHuman: return kExitNeedsHuman;
    default: return kExitFailure;
  }
}

int Fail(const Status& status) {
  std::cerr << "latchkey: error: " << status.message() << "\n";
  return ExitCodeFor(status);
}

int FailUsage(std::string_view message) {
  std::cerr << "latchkey: error: " << message << "\n";
  return kExitUsage;
}

StatusOr<std::string> ConcreteProvider(vault::Vault& vault, const std::string& provider,
                                       const TemplateArguments& arguments, bool ask) {
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition definition, vault.providers().Get(provider));
  if (!definition.is_template()) {
    if (arguments.params.empty() && arguments.provider_name.empty()) return provider;
    return InvalidArgumentError("provider '" + provider +
                                "' is not a template: it takes no --param or --provider-name");
  }
  std::map<std::string, std::string> values;
  for (const std::string& param : arguments.params) {
    const size_t equals = param.find('=');
    if (equals == std::string::npos || equals == 0) {
      return InvalidArgumentError("--param takes name=value, not '" + param + "'");
    }
    values[param.substr(0, equals)] = param.substr(equals + 1);
  }
  for (const provider::TemplateVariable& variable : definition.template_variables) {
    if (values.count(variable.name) != 0) continue;
    if (!ask || ::isatty(STDIN_FILENO) == 0) return provider::RequireConcrete(definition);
    std::cerr << variable.prompt << ": " << std::flush;
    std::string line;
    if (!std::getline(std::cin, line) || line.empty()) {
      return InvalidArgumentError("no value for '" + variable.name + "'");
    }
    values[variable.name] = line;
  }
  LATCHKEY_ASSIGN_OR_RETURN(provider::ProviderDefinition instance,
                            vault.providers().Instantiate(provider, values, arguments.provider_name, {}));
  std::cerr << "provider '" << instance.name << "' (" << instance.display_name << ") is template '"
            << provider << "' with your values" << std::endl;
  return instance.name;
}

void PrintJson(const nlohmann::json& value) { std::cout << value.dump(2) << "\n"; }

StatusOr<std::string> ReadInput(const std::string& path, std::size_t limit, std::string_view what) {
  std::string data;
  std::FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return FailedPreconditionError("cannot read " + std::string(what) + " '" + path +
                                   "': " + std::error_code(errno, std::generic_category()).message());
  }
  char buffer[8192];
  std::size_t n = 0;
  bool too_big = false;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    if (data.size() + n > limit) {
      too_big = true;
      break;
    }
    data.append(buffer, n);
  }
  const bool failed = std::ferror(file) != 0;
  if (file != stdin) std::fclose(file);
  sodium_memzero(buffer, sizeof buffer);
  if (failed) {
    WipeString(data);
    return FailedPreconditionError("cannot read " + std::string(what) + " '" + path +
                                   "' (is it a directory?)");
  }
  if (too_big) {
    WipeString(data);
    return InvalidArgumentError(std::string(what) + " '" + path + "' is larger than " +
                                std::to_string(limit) + " bytes");
  }
  return data;
}

}  // namespace latchkey::cli
