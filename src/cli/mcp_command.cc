// `latchkey mcp`: latchkey's MCP tools over stdio for one agent (SPEC §5, §8). Standard
// output carries MCP messages only; logs go to standard error. It needs no running daemon:
// it opens the store and runs the gateway's runtime in this process.
//
// The agent: LATCHKEY_AGENT_KEY (its key, checked on every call like the proxy's header),
// or --agent-key FILE (a file holding the key: a key on the command line would be visible
// to every user of the machine), or --agent NAME (trusted: whoever can open the store can
// act for any agent anyway).
#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <fstream>
#include <thread>

#include "cli/context.h"
#include "common/environment.h"
#include "common/log.h"
#include "common/random.h"
#include "common/url.h"
#include "gateway/mcp_tools.h"
#include "gateway/proxy/proxy_runtime.h"
#include "mcp/stdio_transport.h"
#include "vault/consent_flow.h"

namespace latchkey::cli {
namespace {

namespace asio = boost::asio;

struct McpOptions {
  std::string agent;
  std::string key_file;
};

StatusOr<gateway::Caller> CallerFrom(const McpOptions& options) {
  gateway::Caller caller;
  SecretString from_env = TakeFromEnvironment("LATCHKEY_AGENT_KEY");
  if (!options.key_file.empty()) {
    if (options.key_file.starts_with(std::string(vault::kAgentKeyPrefix) + "_")) {
      return InvalidArgumentError(
          "--agent-key takes a FILE holding the key, not the key itself (a command line is visible to every "
          "user of the machine); or set LATCHKEY_AGENT_KEY");
    }
    std::ifstream file(options.key_file);
    std::string key;
    if (!file || !std::getline(file, key)) {
      return InvalidArgumentError("--agent-key: cannot read a key from " + options.key_file);
    }
    caller.agent_key = SecretString(std::move(key));
  } else if (!from_env.empty()) {
    caller.agent_key = std::move(from_env);
  } else if (!options.agent.empty()) {
    caller.agent_name = options.agent;
  } else {
    return InvalidArgumentError(
        "name the agent: set LATCHKEY_AGENT_KEY, or --agent-key FILE, or --agent NAME");
  }
  return caller;
}

int Mcp(Context& context, const McpOptions& options) {
  InitLogging(context.log_level.empty() ? "warn" : context.log_level);
  auto caller = CallerFrom(options);
  if (!caller.ok()) return FailUsage(caller.status().message());
  auto config = context.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto agent = caller->agent_key.empty() ? (*vault)->agents().Find(caller->agent_name)
                                         : (*vault)->agents().Authenticate(caller->agent_key.reveal());
  if (!agent.ok()) return Fail(agent.status());
  caller->agent_name = agent->record.name;
  auto coordinator = context.Coordinator();
  if (!coordinator.ok()) return Fail(coordinator.status());
  auto clients = context.OAuth();
  if (!clients.ok()) return Fail(clients.status());
  vault::ConsentFlows flows(**vault, **clients, SystemClock::Instance(), SystemRandom::Instance());

  // Consent links point at the daemon `serve` runs at the configured address.
  std::string public_url = config->public_url;
  if (public_url.empty()) {
    StatusOr<ListenAddress> listen = ParseListenAddress(config->listen);
    if (!listen.ok()) return Fail(listen.status().WithContext("listen"));
    public_url = listen->HttpUrl();
  }

  asio::io_context io(1);
  auto work = asio::make_work_guard(io);
  std::thread worker([&io] { io.run(); });
  gateway::ProxyRuntimeOptions runtime_options{.proxy = config->gateway.proxy,
                                               .upstream = config->gateway.upstream,
                                               .public_url = public_url,
                                               .blocking_threads = 4,
                                               .upstream_ca_file = config->gateway.upstream_ca_file};
  auto runtime = gateway::ProxyRuntime::Create(runtime_options,
                                               {.vault = **vault,
                                                .coordinator = **coordinator,
                                                .flows = flows,
                                                .clock = SystemClock::Instance(),
                                                .steady = SteadyClock::Instance(),
                                                .random = SystemRandom::Instance()},
                                               {io.get_executor()});
  Status served = runtime.ok() ? Status::Ok() : runtime.status();
  if (runtime.ok()) {
    std::signal(SIGPIPE, SIG_IGN);  // a client that goes away is a write error, not a crash
    auto server = gateway::MakeLatchkeyMcpServer(**runtime);
    mcp::StdioTransport transport(server, caller->agent_name, {},
                                  std::make_shared<const gateway::Caller>(std::move(*caller)));
    spdlog::info("mcp: serving agent {} on stdio", transport.session()->principal());
    served = transport.Run(io.get_executor());
  }
  work.reset();
  io.stop();
  worker.join();
  if (runtime.ok()) (*runtime)->Stop();
  return served.ok() ? kExitOk : Fail(served);
}

}  // namespace

void AddMcpCommand(CLI::App& app, Context& context) {
  auto options = std::make_shared<McpOptions>();
  auto* mcp = app.add_subcommand("mcp", "Serve latchkey's MCP tools over stdio for one agent");
  mcp->add_option("--agent", options->agent, "The agent's name (trusted: for whoever holds the store)");
  mcp->add_option("--agent-key", options->key_file,
                  "A FILE holding the agent's key (or set LATCHKEY_AGENT_KEY); never the key itself");
  mcp->callback(
      [&context, options] { context.action = [&context, options] { return Mcp(context, *options); }; });
}

}  // namespace latchkey::cli
