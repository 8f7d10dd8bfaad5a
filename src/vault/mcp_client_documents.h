// ClientDocuments: the clients of latchkey's authorization server for /mcp that name
// themselves by the https URL of a Client ID Metadata Document
// (draft-ietf-oauth-client-id-metadata-document): fetched from that URL, checked by
// ParseClientMetadata, and kept in the store for as long as the response allows.
// A stranger chooses the URL, so the fetch reaches public addresses only (checked on the
// address connected to), follows no redirect and reads at most kMaxClientMetadataBytes.
// Thread-safe (the store and the HttpClient are); both, and the clock, must outlive it.
//
//   ClientDocuments documents(store, http, clock, {});
//   LATCHKEY_ASSIGN_OR_RETURN(store::McpClientRecord client, documents.Get(client_id));
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "oauth/http_client.h"
#include "store/records.h"
#include "store/store.h"

namespace latchkey::vault {

// Whether `client_id` is a metadata-document client's (registered clients' ids start
// with "lkc_"): an https URL, the scheme written in lower case, with a host, a path other
// than "/", without dot segments ("/./", "/../", a trailing "/." or "/..", "%2e" counted
// as a dot), user info, fragment or query, of at most 2000 bytes. The draft allows a
// query; it is refused here, so one host cannot name endless clients that differ only
// in it, and no two spellings of a query can name one document.
bool IsClientDocumentUrl(std::string_view client_id);

struct ClientDocumentOptions {
  // For tests and closed networks only: also fetch from loopback and private addresses.
  bool allow_private_hosts = false;
  // A PEM bundle of the CAs to trust instead of the system's; empty: the system's.
  std::string ca_file;
  // For connecting and for the whole fetch: an authorization request waits on it.
  std::chrono::milliseconds timeout{5000};
  // How long a document is used before it is fetched again: the response's
  // Cache-Control max-age (no-store and no-cache count as 0), default_cache when it names
  // none, and always within [min_cache, max_cache]. The floor bounds how often a client
  // can make latchkey fetch; the ceiling, how long a changed document goes unseen.
  std::chrono::seconds default_cache{300};
  std::chrono::seconds min_cache{60};
  std::chrono::seconds max_cache{86400};
};

class ClientDocuments {
 public:
  ClientDocuments(store::Store& store, oauth::HttpClient& http, const Clock& clock,
                  ClientDocumentOptions options = {});

  // The client `client_id` names: the stored record while its document_expires_at is in
  // the future, else the document fetched again (GET, 200 only) and stored. A failed
  // fetch is never cached, and an expired record is never used in its place: the
  // document alone says where codes may go. Errors, each one sentence naming the host:
  //   kInvalidArgument    not IsClientDocumentUrl; a redirect or other non-200 answer
  //                       (but 429 and 5xx); a document ParseClientMetadata refuses,
  //                       one larger than kMaxClientMetadataBytes included
  //   kPermissionDenied   the host has no public address (allow_private_hosts false)
  //   kUnavailable        DNS, connection, TLS, timeout, 429 or 5xx
  // and the store's errors.
  StatusOr<store::McpClientRecord> Get(std::string_view client_id);

 private:
  StatusOr<oauth::HttpResponse> Fetch(const std::string& url, std::string_view host);
  Duration CacheLifetime(const oauth::HttpResponse& response) const;

  store::Store& store_;
  oauth::HttpClient& http_;
  const Clock& clock_;
  const ClientDocumentOptions options_;
};

}  // namespace latchkey::vault
