// JSON views of the vault's records for the CLI's --json output and the admin API: one
// shape per record, never a secret (sealed columns are reported only as present or not).
// Pure functions; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "provider/provider.h"
#include "store/records.h"
#include "vault/refresh_forecast.h"

namespace latchkey::vault {

// "healthy", "degraded" (active, refresh failing), or the status.
std::string ConnectionHealth(const store::ConnectionRecord& connection);
// With `forecast`: when its refresh token is forecast to stop working, and why.
nlohmann::json ConnectionJson(const store::ConnectionRecord& connection, const RefreshForecast& forecast);
nlohmann::json AgentJson(const store::AgentRecord& agent);
// `stored_secret`: a literal client secret is kept sealed in the store.
nlohmann::json ProviderJson(const provider::ProviderDefinition& provider, bool stored_secret);
nlohmann::json AuditJson(const store::AuditRecord& record);
nlohmann::json AlertJson(const store::AlertEvent& event);

}  // namespace latchkey::vault
