// Template entries (SPEC §9 "[template]"): a provider whose URLs hold the tenant, shop,
// realm or data centre of one customer as {variable}s, e.g.
//
//   authorization_url = "https://{subdomain}.zendesk.com/oauth/authorizations/new"
//   [template]
//   subdomain = "the Zendesk subdomain, e.g. acme for acme.zendesk.com"
//
// A template is never used as it is: `latchkey connect zendesk --param subdomain=acme`
// instantiates it into a concrete entry ("zendesk-acme") that is stored like any
// operator entry, so every later step (consent, refresh, proxy) sees plain URLs.
//
// What a value may hold follows from where its variable stands, so a value can never
// change which host an entry talks to beyond the part the template leaves open:
//   - a whole host ("https://{domain}/..."): a host name with an optional port;
//   - part of a host ("https://{shop}.myshopify.com"): one DNS label, no dot, so the host
//     keeps its fixed suffix;
//   - a whole path segment ("/realms/{realm}/"): letters, digits, '.', '_', '~', '-';
//   - an authorization/token/refresh parameter's value: printable ASCII.
// Pure functions: any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace latchkey::provider {

enum class TemplateValueKind { kHost, kLabel, kPathSegment, kText };

struct TemplateVariable {
  std::string name;    // [a-z][a-z0-9_]*
  std::string prompt;  // one line shown when `connect` asks for the value
  TemplateValueKind kind = TemplateValueKind::kText;
};

// Checks a value for `variable` (after lowering the case of host names and labels, which
// `NormalizeTemplateValue` does). kInvalidArgument names the variable and what it may hold.
Status CheckTemplateValue(const TemplateVariable& variable, std::string_view value);
std::string NormalizeTemplateValue(const TemplateVariable& variable, std::string_view value);

// The concrete entry made from a template document: every {variable} replaced by its
// value, the [template] table removed, `name` and display_name set. TOML text, to be
// parsed (and so validated) by ParseProvider like any entry. Every variable must have a
// valid value and no other value may be given.
StatusOr<std::string> InstantiateTemplate(std::string_view template_toml, std::string_view source_name,
                                          const std::map<std::string, std::string>& values,
                                          std::string_view name);

// The default name of an instance: the template's name and the values that shape its
// URLs, e.g. "zendesk-acme", "keycloak-sso-example-com-acme". Empty when that is not a
// valid provider name (too long): the caller then asks for one.
std::string TemplateInstanceName(std::string_view template_name,
                                 const std::vector<TemplateVariable>& variables,
                                 const std::map<std::string, std::string>& values);

}  // namespace latchkey::provider
