// `latchkey provider list|show|add`.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/context.h"
#include "cli/table.h"
#include "vault/json_views.h"

namespace latchkey::cli {
namespace {

int List(Context& context) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto catalog = (*vault)->providers().Catalog();
  if (!catalog.ok()) return Fail(catalog.status());
  std::vector<provider::ProviderDefinition> all = catalog->List();
  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : all) out.push_back(vault::ProviderJson(p, false));
    PrintJson(out);
    return kExitOk;
  }
  Table table({"NAME", "AUTH", "SOURCE", "DISPLAY NAME"});
  for (const auto& p : all) {
    std::string shown = p.display_name;
    if (p.is_template()) {
      std::string params;
      for (const auto& variable : p.template_variables)
        params += (params.empty() ? "" : ", ") + ("--param " + variable.name);
      shown += " (template: " + params + ")";
    }
    table.AddRow({p.name, std::string(provider::AuthKindName(p.auth)), p.source, shown});
  }
  table.Print(std::cout);
  return kExitOk;
}

int Show(Context& context, const std::string& name) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto p = (*vault)->providers().Get(name);
  if (!p.ok()) return Fail(p.status());
  auto stored = (*vault)->providers().HasStoredClientSecret(name);
  if (!stored.ok()) return Fail(stored.status());
  nlohmann::json j = vault::ProviderJson(*p, *stored);
  if (context.json) {
    PrintJson(j);
    return kExitOk;
  }
  for (const auto& [key, value] : j.items()) {
    if (value.is_null() || (value.is_string() && value.get<std::string>().empty())) continue;
    if (value.is_object() && value.empty()) continue;
    std::cout << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
  }
  return kExitOk;
}

int Add(Context& context, const std::string& file, bool change_endpoints) {
  auto text = ReadInput(file, 1 << 20, "provider file");
  if (!text.ok()) return Fail(text.status());
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto added = (*vault)->providers().Add(*text, file == "-" ? "stdin" : file,
                                         {.change_endpoints = change_endpoints, .by = "cli"});
  WipeString(*text);
  if (!added.ok()) return Fail(added.status());
  if (context.json) {
    auto stored = (*vault)->providers().HasStoredClientSecret(added->name);
    PrintJson(vault::ProviderJson(*added, stored.ok() && *stored));
  } else {
    std::cout << "provider '" << added->name << "' saved\n";
  }
  return kExitOk;
}

}  // namespace

void AddProviderCommands(CLI::App& app, Context& context) {
  CLI::App* provider = app.add_subcommand("provider", "Provider catalog: list, show, add");
  provider->require_subcommand(1);

  provider->add_subcommand("list", "List built-in and added providers")->callback([&context] {
    context.action = [&context] { return List(context); };
  });

  auto* show = provider->add_subcommand("show", "Show one provider's definition (never a secret)");
  auto show_name = std::make_shared<std::string>();
  show->add_option("NAME", *show_name, "Provider name")->required();
  show->callback([&context, show_name] {
    context.action = [&context, show_name] { return Show(context, *show_name); };
  });

  auto* add = provider->add_subcommand("add", "Add or override a provider from a TOML file (SPEC §9)");
  auto file = std::make_shared<std::string>();
  add->add_option("--file", *file, "Provider TOML file ('-' for standard input)")->required();
  auto change_endpoints = std::make_shared<bool>(false);
  add->add_flag("--change-endpoints", *change_endpoints,
                "Allow changing the provider's URLs while connections use it (audited, alerted)");
  add->callback([&context, file, change_endpoints] {
    context.action = [&context, file, change_endpoints] { return Add(context, *file, *change_endpoints); };
  });
}

}  // namespace latchkey::cli
