// `latchkey serve`: opens the store and runs the daemon: the proactive refresh scheduler
// and, until the gateway lands, /healthz and /readyz.
#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>

#include "cli/context.h"
#include "common/log.h"
#include "common/random.h"
#include "gateway/health_server.h"
#include "vault/proactive_refresher.h"

namespace latchkey::cli {
namespace {

StatusOr<gateway::HealthServerOptions> ParseListen(const std::string& listen) {
  std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgumentError("--listen '" + listen + "' must be HOST:PORT, e.g. 127.0.0.1:8787");
  }
  gateway::HealthServerOptions options;
  options.host = listen.substr(0, colon);
  if (options.host.size() > 2 && options.host.front() == '[' && options.host.back() == ']') {
    options.host = options.host.substr(1, options.host.size() - 2);
  }
  std::string_view port = std::string_view(listen).substr(colon + 1);
  unsigned value = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (error != std::errc() || end != port.data() + port.size() || value > 65535) {
    return InvalidArgumentError("--listen '" + listen + "': '" + std::string(port) +
                                "' is not a port number");
  }
  options.port = static_cast<uint16_t>(value);
  return options;
}

int Serve(Context& context, const std::string& listen_option) {
  InitLogging(context.log_level.empty() ? "info" : context.log_level);
  auto config = context.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  auto options = ParseListen(listen_option.empty() ? config->listen : listen_option);
  if (!options.ok()) return Fail(options.status());
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());

  store::Store& store = (*vault)->store();
  auto server = gateway::HealthServer::Start(*options, [&store] { return store.Ping(); });
  if (!server.ok()) return Fail(server.status());

  // Keep every OAuth connection's token fresh ahead of expiry (SPEC §2 rule 3).
  auto refresher = context.Refresher();
  if (!refresher.ok()) return Fail(refresher.status());
  vault::ProactiveRefresher proactive(**vault, **refresher, SystemClock::Instance(),
                                      SystemRandom::Instance());
  if (Status started = proactive.Start(); !started.ok()) return Fail(started);
  spdlog::info("latchkey serving on http://{}:{} (data dir {})", options->host, (*server)->port(),
               context.DataDir()->string());
  gateway::WaitForShutdownSignal();
  spdlog::info("shutting down");
  proactive.Stop();
  (*server)->Stop();
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, Context& context) {
  auto listen = std::make_shared<std::string>();
  auto* serve = app.add_subcommand("serve", "Run the daemon (for now: /healthz and /readyz)");
  serve->add_option("--listen", *listen, "HOST:PORT to listen on (default 127.0.0.1:8787 or latchkey.toml)");
  serve->callback(
      [&context, listen] { context.action = [&context, listen] { return Serve(context, *listen); }; });
}

}  // namespace latchkey::cli
