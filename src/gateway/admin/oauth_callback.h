// GET /oauth/callback: the browser's return from an authorization code flow a human
// started on a consent page (gateway/admin/consent_pages.h). The flow's binding secret comes
// from the cookie that page set in this browser; without it ConsentFlows stores nothing.
// The query's code goes straight into ConsentFlows::CompleteAuthorization and is wiped;
// the page says what happened and never shows a secret. Blocking: call on the blocking
// pool.
#pragma once

#include "gateway/http/http_server.h"
#include "vault/consent_flow.h"

namespace latchkey::gateway {

Response FinishAuthorization(vault::ConsentFlows& flows, const Request& request);

}  // namespace latchkey::gateway
