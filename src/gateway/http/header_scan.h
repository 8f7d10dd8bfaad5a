// A fast reader of the common HTTP/1.1 header section, for the gateway's hot path. Beast's
// parser reads every message correctly but slowly (a byte at a time, through several
// layers, filling a tree of fields); most messages the proxy sees are of one plain shape:
// a request with no body, an answer with a Content-Length. ScanRequest and ScanResponse
// read exactly that shape, and only that: for anything else (a header not all read yet,
// a body to stream, chunked framing, a folded line, a byte Beast would refuse or might
// read differently) they return false, and the caller hands the same bytes, unconsumed,
// to Beast as before. So they add
// no new reading of HTTP: what they take, Beast takes identically (same start line, same
// fields and values, same framing and keep-alive), which header_scan_fuzz checks on every
// input it tries, and what they do not take, Beast decides.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstddef>
#include <cstdint>
#include <ostream>  // before Boost's string_view, which uses std::ostream without including it
#include <string_view>

namespace latchkey::gateway {

struct ScannedHeader {
  struct Field {
    std::string_view name;
    std::string_view value;  // without the whitespace around it
  };
  static constexpr size_t kMaxFields = 48;  // more go to Beast

  size_t size = 0;  // bytes of the header section, the empty line included
  // The request line (ScanRequest).
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::string_view target;
  // The status line (ScanResponse).
  unsigned status = 0;
  std::string_view reason;

  Field fields[kMaxFields];
  size_t field_count = 0;
  bool has_content_length = false;
  uint64_t content_length = 0;  // 0 when absent
  // The connection stays open after this message: HTTP/1.1 (the only version taken) with
  // no "Connection: close".
  bool keep_alive = true;
};

// Each returns true when it took the header at the front of `bytes`: `out` then holds it,
// its views pointing into `bytes`. On false, `out` is unspecified.
//
// A request header of `bytes`, taken only when the request has no body (no
// Content-Length but 0, no Transfer-Encoding), is HTTP/1.1, names a method Beast knows
// (not CONNECT), and its header section is at most `header_limit` bytes.
bool ScanRequest(std::string_view bytes, uint32_t header_limit, ScannedHeader& out);

// A final answer's header (status 200 to 599, but 204 and 304), taken only when it is
// HTTP/1.1 and framed by one Content-Length of at most `max_body` (no Transfer-Encoding),
// and its header section is at most `header_limit` bytes. Not for an answer to HEAD
// (whose Content-Length frames no body).
bool ScanResponse(std::string_view bytes, uint32_t header_limit, uint64_t max_body, ScannedHeader& out);

// The calling thread's ScannedHeader, for a scan whose result is used up before the
// thread runs anything else (no co_await in between). Every call on the thread writes the
// same memory, which stays in its cache; one per connection is cold again by the time
// that connection's next message comes, once there are a few hundred connections.
ScannedHeader& ThreadScannedHeader();

// Inserts the fields `scanned` took into `fields` as Beast's parser would have: same names
// and values, and Beast's order (a field goes after the last one of its name).
void InsertFields(const ScannedHeader& scanned, boost::beast::http::fields& fields);

}  // namespace latchkey::gateway
