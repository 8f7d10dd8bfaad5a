// A client's metadata (RFC 7591 §2) as latchkey's authorization server for /mcp reads it:
// from a dynamic registration request, or from a Client ID Metadata Document fetched from
// the client_id URL. One parser for both, as both are outside input that decides where
// codes go (redirect_uris). Pure: any thread.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "store/records.h"

namespace latchkey::vault {

inline constexpr std::size_t kMaxClientMetadataBytes = 5120;  // the CIMD draft's advice

// `document_url` empty: a registration request (client_id is latchkey's to assign, and
// the document must not name one). Otherwise the URL the document was fetched from: its
// `client_id` must equal it, byte for byte, and a secret-based auth method is refused (a
// public document cannot hold a secret).
//
// Checks: a JSON object of at most kMaxClientMetadataBytes; `redirect_uris` a non-empty
// array (at most 10) of https URLs, or http ones on loopback, without fragments or user
// info; `token_endpoint_auth_method` none, client_secret_basic (the default) or
// client_secret_post; `grant_types` and `response_types`, when given, within
// authorization_code/refresh_token and code; `client_name` and `logo_uri` one line of at
// most 200 characters (shown as text only). kInvalidArgument names the field
// (RFC 7591 invalid_redirect_uri / invalid_client_metadata).
// The returned record has no client_id (registration) or the document's, and no times.
StatusOr<store::McpClientRecord> ParseClientMetadata(std::string_view json, std::string_view document_url);

}  // namespace latchkey::vault
