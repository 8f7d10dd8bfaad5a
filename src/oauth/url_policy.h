// The rule for URLs the OAuth engine learns at run time (discovery documents, token
// responses, device authorizations) before it sends anything to them or shows them:
// https with a host, or plain http only to a loopback host (SPEC §9); never user info,
// which libcurl would send as credentials (common/url's ParseHttpUrl). Pure: any thread.
#pragma once

#include <string_view>

namespace latchkey::oauth {

bool IsAllowedEndpointUrl(std::string_view url);

}  // namespace latchkey::oauth
