// `latchkey serve`: opens the store and runs the daemon: the gateway (proxy, OAuth
// callback, metrics, health) and the proactive refresh scheduler.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "alerts/alert_dispatcher.h"
#include "cli/context.h"
#include "common/environment.h"
#include "common/log.h"
#include "common/random.h"
#include "common/url.h"
#include "crypto/private_file.h"
#include "gateway/gateway.h"
#include "vault/consent_flow.h"
#include "vault/proactive_refresher.h"
#include "vault/store_retention.h"

namespace latchkey::cli {
namespace {

// Where the first `serve` leaves the admin token it created, in the data dir.
constexpr std::string_view kFirstAdminTokenFile = "admin-token";

StatusOr<gateway::HttpServerOptions> ListenOptions(std::string_view listen) {
  LATCHKEY_ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(listen));
  gateway::HttpServerOptions options;
  options.host = std::move(address.host);
  options.port = address.port;
  return options;
}

// [alerts] webhook_secret is "env:NAME" (read from the environment) or the secret itself.
StatusOr<alerts::WebhookOptions> WebhookOptionsFrom(const Config& config) {
  alerts::WebhookOptions options;
  options.url = config.webhook_url;
  options.first_backoff = config.webhook_first_backoff;
  options.poll_interval = config.webhook_poll_interval;
  const std::string& secret = config.webhook_secret_env;
  if (secret.starts_with("env:")) {
    // Taken out of the environment (before any thread starts): no provider entry's env:
    // reference can read it afterwards and forge alerts.
    options.secret = TakeFromEnvironment(secret.c_str() + 4);
    if (options.secret.empty()) {
      return InvalidArgumentError("[alerts] webhook_secret names the environment variable " +
                                  secret.substr(4) + ", which is not set");
    }
  } else {
    options.secret = SecretString(secret);
  }
  if (!options.url.empty() && options.secret.empty()) {
    return InvalidArgumentError(
        "[alerts] webhook_url is set but webhook_secret is not: deliveries must be signed");
  }
  return options;
}

// A daemon's soft limit on open files is often 1,024; its hard limit is the operator's
// choice. The gateway sizes its connection cap from it (HttpServerOptions::max_connections).
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("cannot raise the open-file limit");
}

int Serve(Context& context, const std::string& listen_option) {
  InitLogging(context.log_level.empty() ? "info" : context.log_level);
  auto config = context.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  auto options = ListenOptions(listen_option.empty() ? config->listen : listen_option);
  if (!options.ok()) return Fail(options.status());
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());

  // The first run creates the admin API's token (stored hashed): in a file only the
  // daemon's user may read, and on the terminal when there is one. A service's stdout is
  // a log (the journal), which others may read and which is kept.
  auto admin_token = (*vault)->admin_tokens().EnsureOne();
  if (!admin_token.ok()) return Fail(admin_token.status());
  if (*admin_token) {
    const std::filesystem::path file = *context.DataDir() / kFirstAdminTokenFile;
    if (Status saved =
            crypto::ReplacePrivateFile(file, SecretString(std::string((*admin_token)->reveal()) + "\n"));
        !saved.ok()) {
      return Fail(saved);
    }
    spdlog::info(
        "the first admin token for the /v1 API and the dashboard is in {} (mode 0600; "
        "delete the file once you have it; `latchkey admin-token create` makes another)",
        file.string());
    if (::isatty(STDOUT_FILENO) == 1) {
      std::cout << "Admin token for the /v1 API (shown once, stored only as a hash; "
                   "`latchkey admin-token create` makes another):\n"
                << (*admin_token)->reveal() << "\n"
                << std::flush;
    }
  }
  auto webhook = WebhookOptionsFrom(*config);
  if (!webhook.ok()) return Fail(webhook.status());
  auto coordinator = context.Coordinator();
  if (!coordinator.ok()) return Fail(coordinator.status());
  auto clients = context.OAuth();
  if (!clients.ok()) return Fail(clients.status());
  vault::ConsentFlows flows(**vault, **clients, SystemClock::Instance(), SystemRandom::Instance());

  RaiseOpenFileLimit();
  gateway::GatewayOptions gateway_options = config->gateway;
  gateway_options.http.host = options->host;
  gateway_options.http.port = options->port;
  gateway_options.public_url = config->public_url;
  auto gateway = gateway::Gateway::Start(gateway_options, {.vault = **vault,
                                                           .coordinator = **coordinator,
                                                           .flows = flows,
                                                           .clients = **clients,
                                                           .clock = SystemClock::Instance(),
                                                           .steady = SteadyClock::Instance(),
                                                           .random = SystemRandom::Instance()});
  if (!gateway.ok()) return Fail(gateway.status());

  // Deliver the alert outbox to the webhook (SPEC §6).
  gateway::Metrics& metrics = (*gateway)->metrics();
  alerts::AlertDispatcher dispatcher(
      (*vault)->store(), context.Http(), SystemClock::Instance(), SystemRandom::Instance(),
      std::move(*webhook),
      [&metrics](bool delivered) { metrics.CountAlertDelivery(delivered ? "delivered" : "failed"); });
  if (Status started = dispatcher.Start(); !started.ok()) return Fail(started);

  // Keep every OAuth connection's token fresh ahead of expiry (SPEC §2 rule 3), keep idle
  // grants alive, and warn a human before a grant's forecast end.
  gateway::ConsentLinks& links = (*gateway)->links();
  vault::ProactiveRefresher proactive(
      **vault, **coordinator, SystemClock::Instance(), SystemRandom::Instance(),
      {.expiring_within = config->expiring_within,
       .reconnect_link = [&links](const store::ConnectionRecord& c) { return links.Reconnect(c, ""); }});
  if (Status started = proactive.Start(); !started.ok()) return Fail(started);

  // Expired pending authorizations and audit rows past their retention leave the store.
  vault::StoreRetention retention((*vault)->store(), SystemClock::Instance(),
                                  {.audit_retention = std::chrono::hours(24 * config->audit_retention_days)});
  retention.Start();
  spdlog::info("latchkey serving on http://{}:{} (data dir {})", options->host, (*gateway)->port(),
               context.DataDir()->string());
  gateway::WaitForShutdownSignal();
  spdlog::info("shutting down");
  retention.Stop();
  proactive.Stop();
  (*gateway)->Stop();
  dispatcher.Stop();
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, Context& context) {
  auto listen = std::make_shared<std::string>();
  auto* serve = app.add_subcommand("serve", "Run the daemon: the gateway and the proactive token refresher");
  serve->add_option("--listen", *listen, "HOST:PORT to listen on (default 127.0.0.1:8787 or latchkey.toml)");
  serve->callback(
      [&context, listen] { context.action = [&context, listen] { return Serve(context, *listen); }; });
}

}  // namespace latchkey::cli
