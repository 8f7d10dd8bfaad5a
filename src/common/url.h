// Url: an absolute http(s) URL, parsed once (RFC 3986, by Boost.URL) into the parts the
// gateway compares and connects by: scheme and host lowercased, an IPv6 address without
// its brackets and in one spelling, the port filled in. Every place that parses a URL or
// an origin latchkey is given (public_url, an Origin header) goes through here, so they
// cannot disagree on case, ports, brackets or user info. Value type: any thread.
//
//   LATCHKEY_ASSIGN_OR_RETURN(Url url, ParseHttpUrl("https://Gw.Example:443/x"));
//   url.Origin()  // "https://gw.example"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace latchkey {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // lowercased; an IPv6 address without brackets ("::1")
  bool ipv6 = false;
  uint16_t port = 0;  // as given, else 80 or 443
  std::string path;   // as written, percent-encoding kept: "" or starting with '/'
  std::string query;  // as written, without the '?'
  bool has_query = false;

  bool https() const { return scheme == "https"; }
  // The host as it goes into a URL or a Host field: "[::1]" or "example.com".
  std::string HostForUrl() const;
  // Host, and the port unless it is the scheme's default: "example.com:8443".
  std::string Authority() const;
  // RFC 6454 serialization, the form browsers send in Origin: "https://example.com".
  std::string Origin() const;
};

// Parses `text` as an absolute http or https URL. Refused (kInvalidArgument, the message
// quoting `text` as display text): other schemes, user info ("user@host": a place to hide
// what host is meant), a fragment, an empty host, port 0 or a percent-encoded host.
StatusOr<Url> ParseHttpUrl(std::string_view text);

// An Origin header value ("https://example.com:8443"; "null" and anything with a path
// are refused), as its Url.
StatusOr<Url> ParseOrigin(std::string_view text);

// A listening address, "HOST:PORT" as --listen and latchkey.toml's `listen` take it:
// "127.0.0.1:8787", "[::1]:0", "localhost:8787". The host as ParseHttpUrl gives it (an
// IPv6 address without brackets); port 0 asks for any free port. A bare IPv6 address
// ("::1:8787": which colon starts the port?) is refused.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;

  // The plain-http URL clients reach it at: "http://[::1]:8787".
  std::string HttpUrl() const;
};
StatusOr<ListenAddress> ParseListenAddress(std::string_view text);

// True when `text` is an https URL (the scheme in any case): cookies set for it get Secure.
bool IsHttpsUrl(std::string_view text);

// A host for a URL or Host field: an IPv6 address in brackets, anything else as it is.
std::string HostForUrl(std::string_view host);

}  // namespace latchkey
