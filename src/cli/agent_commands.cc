// `latchkey agent create|list|revoke`.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/context.h"
#include "cli/table.h"
#include "vault/json_views.h"

namespace latchkey::cli {
namespace {

int Create(Context& context, const std::string& name, const std::vector<std::string>& rules) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto created = (*vault)->agents().Create(name, rules);
  if (!created.ok()) return Fail(created.status());
  if (context.json) {
    nlohmann::json j = vault::AgentJson(created->record);
    j["key"] = std::string(created->key.reveal());
    PrintJson(j);
    WipeString(j["key"].get_ref<std::string&>());
  } else {
    // The key alone on stdout, so `KEY=$(latchkey agent create ...)` works; the reminder
    // goes to stderr.
    std::cout << created->key.reveal() << "\n";
    std::cerr << "agent '" << name << "' created; this key is shown only now: store it safely\n";
  }
  return kExitOk;
}

int List(Context& context) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto agents = (*vault)->agents().List();
  if (!agents.ok()) return Fail(agents.status());
  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : *agents) out.push_back(vault::AgentJson(a));
    PrintJson(out);
    return kExitOk;
  }
  Table table({"NAME", "ID", "STATUS", "RULES"});
  for (const auto& a : *agents) {
    std::string rules;
    for (const auto& r : a.rules) rules += (rules.empty() ? "" : " ") + r;
    table.AddRow({a.name, a.id, a.revoked_at ? "revoked" : "active", rules});
  }
  table.Print(std::cout);
  return kExitOk;
}

int Revoke(Context& context, const std::string& name) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  Status status = (*vault)->agents().Revoke(name);
  if (!status.ok()) return Fail(status);
  std::cout << "agent '" << name << "' revoked; its key no longer works\n";
  return kExitOk;
}

int CreateAdminToken(Context& context) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto token = (*vault)->admin_tokens().Create();
  if (!token.ok()) return Fail(token.status());
  std::cout << token->reveal() << "\n";
  return kExitOk;
}

int RevokeAdminToken(Context& context, const std::string& id) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  Status status = (*vault)->admin_tokens().Revoke(id);
  if (!status.ok()) return Fail(status);
  std::cout << "admin token " << id << " revoked\n";
  return kExitOk;
}

}  // namespace

void AddAgentCommands(CLI::App& app, Context& context) {
  CLI::App* admin = app.add_subcommand("admin-token", "Tokens for the gateway's admin API (/v1)");
  admin->require_subcommand(1);
  admin->add_subcommand("create", "Create an admin token; prints it once")->callback([&context] {
    context.action = [&context] { return CreateAdminToken(context); };
  });
  auto admin_id = std::make_shared<std::string>();
  auto* admin_revoke =
      admin->add_subcommand("revoke", "Revoke an admin token by its id (the part after 'lka_')");
  admin_revoke->add_option("ID", *admin_id, "Token id")->required();
  admin_revoke->callback([&context, admin_id] {
    context.action = [&context, admin_id] { return RevokeAdminToken(context, *admin_id); };
  });

  CLI::App* agent = app.add_subcommand("agent", "Agents: create, list, revoke");
  agent->require_subcommand(1);

  auto name = std::make_shared<std::string>();
  auto rules = std::make_shared<std::vector<std::string>>();
  auto* create = agent->add_subcommand("create", "Create an agent; prints its key once");
  create->add_option("NAME", *name, "Agent name")->required();
  create->add_option("--allow", *rules, "Policy rule CONNECTION[:METHODS[:PATH_GLOB]] (repeatable)")
      ->required()
      ->take_last()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  create->callback([&context, name, rules] {
    context.action = [&context, name, rules] { return Create(context, *name, *rules); };
  });

  agent->add_subcommand("list", "List agents (never a key)")->callback([&context] {
    context.action = [&context] { return List(context); };
  });

  auto revoke_name = std::make_shared<std::string>();
  auto* revoke = agent->add_subcommand("revoke", "Revoke an agent's key");
  revoke->add_option("NAME", *revoke_name, "Agent name")->required();
  revoke->callback([&context, revoke_name] {
    context.action = [&context, revoke_name] { return Revoke(context, *revoke_name); };
  });
}

}  // namespace latchkey::cli
