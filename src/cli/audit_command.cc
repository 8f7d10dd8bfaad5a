// `latchkey audit`: the audit rows of proxied calls (SPEC §6), newest first.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "cli/context.h"
#include "cli/table.h"
#include "vault/json_views.h"

namespace latchkey::cli {
namespace {

struct AuditOptions {
  std::string agent;
  std::string connection;
  std::string code;
  std::string client;
  int limit = 50;
};

int Audit(Context& context, const AuditOptions& options) {
  if (options.limit <= 0 || options.limit > 10000) return FailUsage("--limit must be between 1 and 10000");
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  store::AuditFilter filter;
  if (!options.agent.empty()) filter.agent = options.agent;
  if (!options.connection.empty()) filter.connection = options.connection;
  if (!options.code.empty()) filter.code = options.code;
  if (!options.client.empty()) filter.client = options.client;
  filter.limit = options.limit;
  auto rows = (*vault)->store().QueryAudit(filter);
  if (!rows.ok()) return Fail(rows.status());
  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : *rows) out.push_back(vault::AuditJson(row));
    PrintJson(out);
    return kExitOk;
  }
  // The CLIENT column (the MCP client a call came through) only when a row names one: most
  // stores have none, and a client id is often a long URL.
  const bool clients =
      std::ranges::any_of(*rows, [](const store::AuditRecord& r) { return !r.client.empty(); });
  std::vector<std::string> headers = {"TIME",     "AGENT", "CONNECTION", "METHOD",   "PATH",
                                      "UPSTREAM", "CODE",  "MS",         "REFRESHED"};
  if (clients) headers.insert(headers.begin() + 2, "CLIENT");
  Table table(std::move(headers));
  for (const auto& r : *rows) {
    std::vector<std::string> row = {FormatRfc3339(r.at),
                                    r.agent,
                                    r.connection,
                                    r.method,
                                    r.path,
                                    r.upstream_status ? std::to_string(r.upstream_status) : "-",
                                    r.code.empty() ? "ok" : r.code,
                                    std::to_string(r.latency_ms),
                                    r.refreshed ? "yes" : ""};
    if (clients) row.insert(row.begin() + 2, r.client.empty() ? "-" : r.client);
    table.AddRow(std::move(row));
  }
  table.Print(std::cout);
  return kExitOk;
}

}  // namespace

void AddAuditCommand(CLI::App& app, Context& context) {
  auto options = std::make_shared<AuditOptions>();
  auto* audit = app.add_subcommand("audit", "Show audit rows of proxied calls, newest first");
  audit->add_option("--agent", options->agent, "Only this agent's calls");
  audit->add_option("--connection", options->connection, "Only calls to this connection");
  audit->add_option("--code", options->code, "Only calls that ended with this latchkey code");
  audit->add_option("--client", options->client, "Only calls made through this MCP client (its client_id)");
  audit->add_option("--limit", options->limit, "How many rows (default 50)");
  audit->callback(
      [&context, options] { context.action = [&context, options] { return Audit(context, *options); }; });
}

}  // namespace latchkey::cli
