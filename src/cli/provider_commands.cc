// `latchkey provider list|show|add`.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/context.h"
#include "cli/table.h"

namespace latchkey::cli {
namespace {

std::string SecretSourceText(const provider::ValueSource& source, bool stored) {
  if (!source.env_var.empty()) return "env:" + source.env_var;
  if (stored) return "(stored encrypted)";
  return source.literal.empty() ? "" : "(literal)";
}

nlohmann::json ToJson(const provider::ProviderDefinition& p, bool stored_secret) {
  nlohmann::json j = {
      {"name", p.name},     {"display_name", p.display_name}, {"auth", provider::AuthKindName(p.auth)},
      {"source", p.source}, {"api_base_url", p.api_base_url},
  };
  if (p.auth == provider::AuthKind::kOAuth2) {
    j["issuer"] = p.issuer;
    j["authorization_url"] = p.authorization_url;
    j["token_url"] = p.token_url;
    j["revocation_url"] = p.revocation_url;
    j["device_authorization_url"] = p.device_authorization_url;
    // A client id is not secret, but show where it comes from rather than resolving env vars.
    j["client_id"] = p.client_id.env_var.empty() ? std::string(p.client_id.literal.reveal())
                                                 : "env:" + p.client_id.env_var;
    j["client_secret"] = SecretSourceText(p.client_secret, stored_secret);
    j["token_auth"] = provider::TokenAuthMethodName(p.token_auth);
    j["scopes"] = p.scopes;
    j["scope_separator"] = p.scope_separator;
    j["authorization_params"] = p.authorization_params;
  } else if (p.auth == provider::AuthKind::kApiKey) {
    if (!p.api_key_header.empty()) j["api_key_header"] = p.api_key_header;
    if (!p.api_key_query.empty()) j["api_key_query"] = p.api_key_query;
  }
  return j;
}

int List(Context& context) {
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto catalog = (*vault)->providers().Catalog();
  if (!catalog.ok()) return Fail(catalog.status());
  std::vector<provider::ProviderDefinition> all = catalog->List();
  if (context.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : all) out.push_back(ToJson(p, false));
    PrintJson(out);
    return kExitOk;
  }
  Table table({"NAME", "AUTH", "SOURCE", "DISPLAY NAME"});
  for (const auto& p : all) {
    table.AddRow({p.name, std::string(provider::AuthKindName(p.auth)), p.source, p.display_name});
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
  nlohmann::json j = ToJson(*p, *stored);
  if (context.json) {
    PrintJson(j);
    return kExitOk;
  }
  for (const auto& [key, value] : j.items()) {
    if (value.is_string() && value.get<std::string>().empty()) continue;
    if (value.is_object() && value.empty()) continue;
    std::cout << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
  }
  return kExitOk;
}

int Add(Context& context, const std::string& file) {
  auto text = ReadInput(file, 1 << 20, "provider file");
  if (!text.ok()) return Fail(text.status());
  auto vault = context.Vault();
  if (!vault.ok()) return Fail(vault.status());
  auto added = (*vault)->providers().Add(*text, file == "-" ? "stdin" : file);
  WipeString(*text);
  if (!added.ok()) return Fail(added.status());
  if (context.json) {
    auto stored = (*vault)->providers().HasStoredClientSecret(added->name);
    PrintJson(ToJson(*added, stored.ok() && *stored));
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
  add->callback([&context, file] { context.action = [&context, file] { return Add(context, *file); }; });
}

}  // namespace latchkey::cli
