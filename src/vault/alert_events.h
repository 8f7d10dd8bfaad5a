// The alert events the vault raises (SPEC §6), built in one place so every event has
// the same shape: {"type", "connection", "provider", "at", ...details}. The event id is
// derived from the connection's row and version, so retrying the same transition can
// never enqueue a second event. Pure functions: any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "store/records.h"

namespace latchkey::vault {

// `details` are extra string members (reason, error code, ...); never secrets.
store::AlertEvent MakeAlert(std::string_view type, const store::ConnectionRecord& connection, int64_t version,
                            TimePoint now, const std::map<std::string, std::string>& details = {});

// An event about a provider entry rather than a connection ("provider.changed"): its id is
// derived from the provider, the time and `revision` (e.g. a digest of the new entry).
store::AlertEvent MakeProviderAlert(std::string_view type, std::string_view provider,
                                    std::string_view revision, TimePoint now,
                                    const std::map<std::string, std::string>& details = {});

// An event about an agent rather than a connection ("agent.token_reuse"): its id is derived
// from the agent and `subject` (e.g. the token family), so one subject raises it once.
store::AlertEvent MakeAgentAlert(std::string_view type, std::string_view agent, std::string_view subject,
                                 TimePoint now, const std::map<std::string, std::string>& details = {});

}  // namespace latchkey::vault
