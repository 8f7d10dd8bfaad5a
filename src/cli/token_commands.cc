// `latchkey token`, `connection refresh`, `connection test` and `doctor`: the commands
// that use credentials rather than manage them.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/context.h"
#include "cli/table.h"
#include "vault/credential.h"
#include "vault/json_views.h"

namespace latchkey::cli {
namespace {

// The credential for `token`: an OAuth access token (refreshed first when needed) or an API key.
StatusOr<SecretString> CurrentCredential(Context& context, const std::string& name) {
  LATCHKEY_ASSIGN_OR_RETURN(vault::Vault * vault, context.Vault());
  LATCHKEY_ASSIGN_OR_RETURN(store::ConnectionRecord connection, vault->connections().Get(name));
  if (!store::IsOAuth(connection.kind)) return vault->connections().CurrentCredential(name);
  LATCHKEY_ASSIGN_OR_RETURN(vault::RefreshCoordinator * coordinator, context.Coordinator());
  LATCHKEY_ASSIGN_OR_RETURN(vault::AccessGrant grant, coordinator->Current(name));
  return std::move(grant.access_token);
}

int Token(Context& context, const std::string& name) {
  auto credential = CurrentCredential(context, name);
  if (!credential.ok()) return Fail(credential.status());
  std::cout << credential->reveal() << "\n";
  return kExitOk;
}

int Refresh(Context& context, const std::string& name) {
  auto coordinator = context.Coordinator();
  if (!coordinator.ok()) return Fail(coordinator.status());
  auto grant = (*coordinator)->ForceRefresh(name);
  if (!grant.ok()) return Fail(grant.status());
  std::cout << "connection '" << name << "' refreshed; the access token is valid until "
            << (grant->expires_at ? FormatRfc3339(*grant->expires_at) : std::string("an unknown time"))
            << "\n";
  return kExitOk;
}

// Obtains a token and, when the provider has a userinfo endpoint, calls it once.
int Test(Context& context, const std::string& name) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto connection = (*vault)->connections().Get(name);
  if (!connection.ok()) return Fail(connection.status());
  auto credential = CurrentCredential(context, name);
  if (!credential.ok()) return Fail(credential.status());
  std::string report = "connection '" + name + "' has a usable credential";
  if (store::IsOAuth(connection->kind)) {
    auto oauth = context.OAuth();
    auto provider = oauth.ok() ? (*oauth)->Resolve(connection->provider) : oauth.status();
    if (provider.ok() && !provider->userinfo_url.empty()) {
      oauth::HttpRequest request;
      request.method = "GET";
      request.url = provider->userinfo_url;
      request.authorization = vault::Credential::ForAccessToken(connection->token_type, *credential).value;
      auto response = context.Http().Send(request, {});
      if (!response.ok()) return Fail(response.status().WithContext("calling " + provider->userinfo_url));
      if (response->status == 401) {
        return Fail(NeedsHumanError("the provider refused the access token of connection '" + name +
                                    "' at its userinfo endpoint (HTTP 401)"));
      }
      report += "; the userinfo endpoint answered HTTP " + std::to_string(response->status);
    }
  }
  std::cout << report << "\n";
  return kExitOk;
}

struct Finding {
  std::string connection;
  std::string severity;  // "ok", "warning", "needs_human"
  std::string message;
};

int Doctor(Context& context) {
  auto config = context.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  const TimePoint now = SystemClock::Instance().Now();
  std::vector<Finding> findings;
  if (auto key = (*vault)->keys().ActiveDataKeyId(); !key.ok()) {
    findings.push_back({"", "needs_human", key.status().message()});
  }
  StatusOr<std::optional<TimePoint>> handed_over = (*vault)->store().HandedOverAt();
  if (!handed_over.ok()) return Fail(handed_over.status());
  if (*handed_over) {
    findings.push_back({"", "needs_human", store::HandedOverReason(**handed_over, "starts token refreshes")});
  }
  auto connections = (*vault)->connections().List();
  if (!connections.ok()) return Fail(connections.status());
  for (const store::ConnectionRecord& c : *connections) {
    if (c.status == store::ConnectionStatus::kDisconnected) continue;
    if (c.status == store::ConnectionStatus::kNeedsReauth) {
      findings.push_back({c.name, "needs_human",
                          "needs re-consent (" + c.last_error + "): run `latchkey connect " + c.provider +
                              " --name " + c.name + "`"});
    } else if (c.refresh_failures > 0 && c.last_error.rfind("misconfigured", 0) == 0) {
      findings.push_back({c.name, "needs_human", "the provider refuses latchkey's client: " + c.last_error});
    } else if (c.refresh_failures > 0) {
      findings.push_back(
          {c.name, "warning",
           "degraded: " + std::to_string(c.refresh_failures) + " failed refresh(es): " + c.last_error});
    } else if (c.expires_at && store::HasUserGrant(c.kind) && !c.refresh_token && *c.expires_at <= now) {
      findings.push_back({c.name, "needs_human", "the access token expired and there is no refresh token"});
    } else if (vault::RefreshForecast forecast = (*vault)->connections().Forecast(c);
               forecast.expires_at && now >= *vault::ExpiringAlertAt(forecast, config->expiring_within)) {
      findings.push_back(
          {c.name, "needs_human",
           "its refresh token is forecast to stop working at " + FormatRfc3339(*forecast.expires_at) + " (" +
               std::string(vault::RefreshExpirySourceName(forecast.source)) +
               "): re-consent before then: run `latchkey connect " + c.provider + " --name " + c.name + "`"});
    } else {
      findings.push_back({c.name, "ok", std::string(store::ConnectionStatusName(c.status))});
    }
  }
  bool needs_human = false;
  for (const Finding& f : findings) needs_human |= f.severity == "needs_human";
  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Finding& f : findings) {
      out.push_back({{"connection", f.connection}, {"severity", f.severity}, {"message", f.message}});
    }
    PrintJson(out);
  } else {
    Table table({"CONNECTION", "STATE", "DETAIL"});
    for (const Finding& f : findings)
      table.AddRow({f.connection.empty() ? "-" : f.connection, f.severity, f.message});
    table.Print(std::cout);
  }
  return needs_human ? kExitNeedsHuman : kExitOk;
}

void AddNamed(CLI::App& parent, const std::string& name, const std::string& help, const std::string& argument,
              Context& context, int (*run)(Context&, const std::string&)) {
  auto value = std::make_shared<std::string>();
  auto* command = parent.add_subcommand(name, help);
  command->add_option(argument, *value, "Connection name")->required();
  command->callback(
      [&context, value, run] { context.action = [&context, value, run] { return run(context, *value); }; });
}

}  // namespace

void AddTokenCommands(CLI::App& app, Context& context) {
  AddNamed(app, "token",
           "Print a currently valid access token (or API key) alone on stdout, refreshing first if needed",
           "CONNECTION", context, Token);
  CLI::App* connection = app.get_subcommand("connection");
  AddNamed(*connection, "refresh", "Refresh a connection's access token now", "NAME", context, Refresh);
  AddNamed(*connection, "test", "Check that a connection's credential works", "NAME", context, Test);
  app.add_subcommand("doctor", "Check every connection; exit 3 when a human must act")->callback([&context] {
    context.action = [&context] { return Doctor(context); };
  });
}

}  // namespace latchkey::cli
