// `latchkey connection import|list|show|disconnect` and `latchkey token`.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "cli/context.h"
#include "cli/table.h"
#include "common/duration.h"
#include "oauth/token_fields.h"
#include "vault/json_views.h"
#include "vault/revocation.h"

namespace latchkey::cli {
namespace {

constexpr std::size_t kMaxTokenDocument = 1 << 20;

std::string OptionalTime(const std::optional<TimePoint>& t) { return t ? FormatRfc3339(*t) : ""; }

}  // namespace

namespace {

struct ImportOptions {
  std::string name;
  std::string provider;
  std::string file;
  bool replace = false;
  TemplateArguments template_arguments;  // for a template entry (stdin is the document: no prompts)
};

int Import(Context& context, const ImportOptions& options) {
  std::string path = options.file.empty() ? "-" : options.file;
  if (path == "-" && ::isatty(STDIN_FILENO)) {
    return FailUsage("no token document: pass --file TOKENS.json or pipe the JSON on standard input");
  }
  auto document = ReadInput(path, kMaxTokenDocument, "token file");
  if (!document.ok()) return Fail(document.status());
  auto vault = context.Vault();
  if (!vault.ok()) {
    WipeString(*document);
    return Fail(vault.status());
  }
  auto provider = ConcreteProvider(**vault, options.provider, options.template_arguments, /*ask=*/false);
  if (!provider.ok()) {
    WipeString(*document);
    return Fail(provider.status());
  }
  auto imported = (*vault)->connections().Import({
      .name = options.name,
      .provider = *provider,
      .document = std::move(*document),
      .source = path == "-" ? "the token document on standard input" : "token file '" + path + "'",
      .replace = options.replace,
  });
  if (!imported.ok()) return Fail(imported.status());
  if (context.json) {
    PrintJson(vault::ConnectionJson(*imported, (*vault)->connections().Forecast(*imported)));
  } else {
    std::cout << "connection '" << imported->name << "' imported (" << imported->provider << ", "
              << store::ConnectionStatusName(imported->status) << ")\n";
  }
  return kExitOk;
}

int List(Context& context) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto connections = (*vault)->connections().List();
  if (!connections.ok()) return Fail(connections.status());
  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : *connections)
      out.push_back(vault::ConnectionJson(c, (*vault)->connections().Forecast(c)));
    PrintJson(out);
    return kExitOk;
  }
  Table table({"NAME", "PROVIDER", "ACCOUNT", "STATUS", "EXPIRES", "RE-CONSENT BY", "SCOPES"});
  for (const auto& c : *connections) {
    const vault::RefreshForecast forecast = (*vault)->connections().Forecast(c);
    table.AddRow({c.name, c.provider, vault::DescribeAccount(c.account_id, c.account),
                  std::string(store::ConnectionStatusName(c.status)), OptionalTime(c.expires_at),
                  OptionalTime(forecast.expires_at), oauth::JoinScopes(c.scopes, " ")});
  }
  table.Print(std::cout);
  return kExitOk;
}

int Show(Context& context, const std::string& name) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto c = (*vault)->connections().Get(name);
  if (!c.ok()) return Fail(c.status());
  nlohmann::json j = vault::ConnectionJson(*c, (*vault)->connections().Forecast(*c));
  if (context.json) {
    PrintJson(j);
    return kExitOk;
  }
  for (const auto& [key, value] : j.items()) {
    std::string text = value.is_string() ? value.get<std::string>() : value.is_null() ? "" : value.dump();
    if (key == "scopes") text = oauth::JoinScopes(c->scopes, " ");
    std::cout << key << ": " << text << "\n";
  }
  return kExitOk;
}

struct SetOptions {
  std::string name;
  std::optional<std::string> lifetime;       // a duration, or "provider"
  std::optional<std::string> idle_lifetime;  // a duration, or "provider"
};

// A rule as `connection set` takes it: the connection's current one when not given,
// none ("provider") to fall back to the provider's, else a duration.
StatusOr<std::optional<std::chrono::seconds>> RuleOption(const std::optional<std::string>& given,
                                                         std::optional<std::chrono::seconds> current,
                                                         std::string_view flag) {
  if (!given) return current;
  if (*given == "provider") return std::optional<std::chrono::seconds>();
  if (auto duration = ParseDuration(*given)) return std::optional<std::chrono::seconds>(*duration);
  return InvalidArgumentError(std::string(flag) + " takes a duration such as 7d, 12h or 30m, or 'provider'");
}

int Set(Context& context, const SetOptions& options) {
  if (!options.lifetime && !options.idle_lifetime) {
    return FailUsage("nothing to set: pass --refresh-token-lifetime or --refresh-token-idle-lifetime");
  }
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto current = (*vault)->connections().Get(options.name);
  if (!current.ok()) return Fail(current.status());
  auto lifetime =
      RuleOption(options.lifetime, current->refresh_lifetime_override, "--refresh-token-lifetime");
  if (!lifetime.ok()) return FailUsage(lifetime.status().message());
  auto idle = RuleOption(options.idle_lifetime, current->refresh_idle_lifetime_override,
                         "--refresh-token-idle-lifetime");
  if (!idle.ok()) return FailUsage(idle.status().message());
  auto changed = (*vault)->connections().SetRefreshTokenRules(options.name, *lifetime, *idle);
  if (!changed.ok()) return Fail(changed.status());
  const vault::RefreshForecast forecast = (*vault)->connections().Forecast(*changed);
  if (context.json) {
    PrintJson(vault::ConnectionJson(*changed, forecast));
  } else {
    std::cout << "connection '" << changed->name << "': its refresh token is forecast to stop working "
              << (forecast.expires_at ? "at " + FormatRfc3339(*forecast.expires_at)
                                      : std::string("at no known time"))
              << " (" << vault::RefreshExpirySourceName(forecast.source) << ")\n";
  }
  return kExitOk;
}

int Disconnect(Context& context, const std::string& name) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto connection = (*vault)->connections().Get(name);
  if (!connection.ok()) return Fail(connection.status());
  std::string revocation = "nothing revoked";
  if (connection->status != store::ConnectionStatus::kDisconnected) {
    auto clients = context.OAuth();
    revocation =
        clients.ok() ? vault::RevokeAtProvider(**vault, **clients, *connection) : clients.status().message();
  }
  Status status = (*vault)->connections().Disconnect(name);
  if (!status.ok()) return Fail(status);
  std::cout << "connection '" << name << "' disconnected: " << revocation << "; its credentials were wiped\n";
  return kExitOk;
}

}  // namespace

void AddConnectionCommands(CLI::App& app, Context& context) {
  CLI::App* connection = app.add_subcommand("connection", "Connections: import, list, show, disconnect, ...");
  connection->require_subcommand(1);

  auto import_options = std::make_shared<ImportOptions>();
  auto* import =
      connection->add_subcommand("import", "Import an existing token set (RFC 6749 token response)");
  import->add_option("NAME", import_options->name, "Connection name, e.g. work-gmail")->required();
  import->add_option("--provider", import_options->provider, "Provider name")->required();
  import->add_option("--file", import_options->file, "Token JSON file (default: standard input; never argv)");
  import->add_flag("--replace", import_options->replace,
                   "Overwrite the credentials of an existing connection");
  import
      ->add_option("--param", import_options->template_arguments.params,
                   "name=value for a template entry's variable (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  import->add_option("--provider-name", import_options->template_arguments.provider_name,
                     "The name of the entry a template makes (default: the template's and the values')");
  import->callback([&context, import_options] {
    context.action = [&context, import_options] { return Import(context, *import_options);
};
}  // namespace latchkey::cli
);

connection->add_subcommand("list", "List connections")->callback([&context] {
  context.action = [&context] { return List(context); };
});

auto show_name = std::make_shared<std::string>();
auto* show = connection->add_subcommand("show", "Show one connection (never a secret)");
show->add_option("NAME", *show_name, "Connection name")->required();
show->callback([&context, show_name] {
  context.action = [&context, show_name] { return Show(context, *show_name); };
});

auto set_options = std::make_shared<SetOptions>();
auto* set = connection->add_subcommand(
    "set",
    "Set a connection's refresh-token rules in place of its provider's (e.g. a Google app in Testing)");
set->add_option("NAME", set_options->name, "Connection name")->required();
set->add_option("--refresh-token-lifetime", set_options->lifetime,
                "Absolute lifetime from consent, e.g. 7d; 'provider' to use the provider's rule again");
set->add_option("--refresh-token-idle-lifetime", set_options->idle_lifetime,
                "Lifetime since the last refresh, e.g. 90d; 'provider' to use the provider's rule again");
set->callback([&context, set_options] {
  context.action = [&context, set_options] { return Set(context, *set_options); };
});

auto disconnect_name = std::make_shared<std::string>();
auto* disconnect = connection->add_subcommand("disconnect", "Wipe a connection's credentials");
disconnect->add_option("NAME", *disconnect_name, "Connection name")->required();
disconnect->callback([&context, disconnect_name] {
  context.action = [&context, disconnect_name] { return Disconnect(context, *disconnect_name); };
});
}

}  // namespace latchkey::cli
