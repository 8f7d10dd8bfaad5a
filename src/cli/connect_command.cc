// `latchkey connect PROVIDER`: obtains a connection's first grant (SPEC §3) by the
// authorization code flow through a loopback redirect (default), the device flow
// (--device) or the client credentials grant (--client-credentials).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli/context.h"
#include "cli/loopback_callback.h"
#include "common/secret_string.h"
#include "oauth/token_fields.h"
#include "vault/consent_flow.h"
#include "vault/json_views.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): for posix_spawnp

namespace latchkey::cli {
namespace {

struct ConnectOptions {
  std::string provider;
  std::string name;
  std::vector<std::string> scopes;
  TemplateArguments template_arguments;  // for a template entry
  bool device = false;
  bool client_credentials = false;
  bool no_browser = false;
  bool switch_account = false;
  int timeout_seconds = 300;
  int poll_interval_seconds = 0;  // hidden: poll faster than the server asks (tests)
};

// "--scope a --scope b" and "--scope 'a b'" (or "a,b") both give {a, b}.
std::vector<std::string> SplitScopes(const std::vector<std::string>& raw) {
  std::vector<std::string> out;
  for (const auto& value : raw) {
    std::string current;
    for (char c : value + " ") {
      if (c == ' ' || c == ',') {
        if (!current.empty()) out.push_back(current);
        current.clear();
      } else {
        current += c;
      }
    }
  }
  return out;
}

bool HasGraphicalSession() {
  for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY"}) {
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): single CLI thread
    if (value != nullptr && *value != '\0') return true;
  }
  return false;
}

// Best effort: the URL is printed anyway. xdg-open's own output would clutter the terminal.
void OpenBrowser(const std::string& url) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string program = "xdg-open";
  std::vector<char*> argv = {program.data(), const_cast<char*>(url.c_str()), nullptr};  // NOLINT
  pid_t pid = -1;
  if (::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ) == 0) {
    ::waitpid(pid, nullptr, WNOHANG);  // xdg-open returns quickly; a zombie left is reaped at exit
  }
  posix_spawn_file_actions_destroy(&actions);
}

StatusOr<store::ConnectionRecord> ConnectWithBrowser(vault::ConsentFlows& flows,
                                                     const ConnectOptions& options) {
  LATCHKEY_ASSIGN_OR_RETURN(std::unique_ptr<LoopbackCallback> listener, LoopbackCallback::Start());
  vault::ConsentOptions consent;
  consent.allow_account_switch = options.switch_account;
  LATCHKEY_ASSIGN_OR_RETURN(vault::AuthorizationStart start,
                            flows.BeginAuthorization(options.provider, options.name, options.scopes,
                                                     listener->redirect_uri(), consent));
  std::cerr << "Open this URL to connect " << options.name << ": " << start.url << std::endl;
  if (!options.no_browser && HasGraphicalSession()) OpenBrowser(start.url);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
  while (true) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    LATCHKEY_ASSIGN_OR_RETURN(CallbackQuery query,
                              listener->Accept(std::max(left, std::chrono::milliseconds(0))));
    // Only the browser we sent carries our state; anything else on this port is ignored.
    if (query.Get("state") != start.state) {
      listener->Respond(
          {.success = false, .message = "This is not the authorization latchkey is waiting for."});
      continue;
    }
    vault::AuthorizationCallback callback{
        .state = query.Get("state"),
        .code = SecretString(query.Get("code")),
        .error = query.Get("error"),
        .error_description = query.Get("error_description"),
        .iss = query.Get("iss"),
        .binding = start.binding,  // this process started the flow, and is still the one finishing it
    };
    for (auto& [key, value] : query.params) WipeString(value);
    StatusOr<store::ConnectionRecord> connected = flows.CompleteAuthorization(callback);
    listener->Respond({.success = connected.ok(),
                       .message = connected.ok() ? "latchkey connected '" + options.name + "'."
                                                 : connected.status().message()});
    return connected;
  }
}

StatusOr<store::ConnectionRecord> ConnectWithDevice(vault::ConsentFlows& flows,
                                                    const ConnectOptions& options) {
  vault::DeviceFlowOptions device_options;
  device_options.allow_account_switch = options.switch_account;
  if (options.poll_interval_seconds > 0)
    device_options.poll_interval = std::chrono::seconds(options.poll_interval_seconds);
  device_options.on_slow_down = [](Duration interval) {
    std::cerr << "The provider asked latchkey to poll more slowly; now every "
              << std::chrono::duration_cast<std::chrono::seconds>(interval).count() << " s" << std::endl;
  };
  return flows.RunDeviceFlow(
      options.provider, options.name, options.scopes,
      [&options](const oauth::DeviceAuthorization& device) {
        std::cerr << "To connect " << options.name << ", open " << device.verification_uri
                  << " and enter code " << device.user_code << std::endl;
        if (!device.verification_uri_complete.empty()) {
          std::cerr << "Or open " << device.verification_uri_complete << std::endl;
        }
      },
      [](Duration interval) { std::this_thread::sleep_for(interval); }, device_options);
}

int Connect(Context& context, ConnectOptions options) {
  options.scopes = SplitScopes(options.scopes);
  if (options.timeout_seconds <= 0) return FailUsage("--timeout must be a positive number of seconds");
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto concrete = ConcreteProvider(**vault, options.provider, options.template_arguments, /*ask=*/true);
  if (!concrete.ok()) return Fail(concrete.status());
  options.provider = *concrete;
  if (options.name.empty()) options.name = options.provider;
  auto clients = context.OAuth();
  if (!clients.ok()) return Fail(clients.status());
  vault::ConsentFlows flows(**vault, **clients, SystemClock::Instance(), SystemRandom::Instance());

  StatusOr<store::ConnectionRecord> connected =
      options.client_credentials
          ? flows.ObtainClientCredentials(options.provider, options.name, options.scopes)
      : options.device ? ConnectWithDevice(flows, options)
                       : ConnectWithBrowser(flows, options);
  if (!connected.ok()) return Fail(connected.status());
  if (context.json) {
    PrintJson(vault::ConnectionJson(*connected, (*vault)->connections().Forecast(*connected)));
  } else {
    std::cout << "connection '" << connected->name << "' connected (" << connected->provider
              << ", scopes: " << oauth::JoinScopes(connected->scopes, " ") << ")\n";
  }
  return kExitOk;
}

}  // namespace

void AddConnectCommand(CLI::App& app, Context& context) {
  auto options = std::make_shared<ConnectOptions>();
  auto* connect =
      app.add_subcommand("connect", "Connect an account: browser consent, device code or client credentials");
  connect->add_option("PROVIDER", options->provider, "Provider name (see `latchkey provider list`)")
      ->required();
  connect->add_option("--name", options->name, "Connection name (default: the provider name)");
  connect->add_option("--scope", options->scopes, "A scope to request (repeatable; default: the provider's)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  connect
      ->add_option("--param", options->template_arguments.params,
                   "name=value for a template entry's variable (repeatable; asked when missing)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  connect->add_option("--provider-name", options->template_arguments.provider_name,
                      "The name of the entry a template makes (default: the template's and the values')");
  auto* device =
      connect->add_flag("--device", options->device, "Use the device flow (no browser on this host)");
  connect->add_flag("--client-credentials", options->client_credentials, "Use the client credentials grant")
      ->excludes(device);
  connect->add_flag("--no-browser", options->no_browser, "Print the URL but do not open a browser");
  connect->add_flag("--switch-account", options->switch_account,
                    "Reconnecting: accept a grant of another account than the connection's (raises "
                    "connection.account_changed)");
  connect->add_option("--timeout", options->timeout_seconds,
                      "Seconds to wait for the browser callback (default 300)");
  connect
      ->add_option("--poll-interval", options->poll_interval_seconds, "Device flow polling interval override")
      ->group("");  // hidden: for tests that exercise slow_down
  connect->callback(
      [&context, options] { context.action = [&context, options] { return Connect(context, *options); }; });
}

}  // namespace latchkey::cli
