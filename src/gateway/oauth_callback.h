// GET /oauth/callback: the browser's return from an authorization code flow the daemon
// started (reconsent and reconnect links, the admin API's start-connect). The query's
// code goes straight into ConsentFlows::CompleteAuthorization and is wiped; the page
// says what happened and never shows a secret. Blocking: call on the blocking pool.
#pragma once

#include <string_view>

#include "gateway/http_server.h"
#include "vault/consent_flow.h"

namespace latchkey::gateway {

Response FinishAuthorization(vault::ConsentFlows& flows, std::string_view target);

}  // namespace latchkey::gateway
