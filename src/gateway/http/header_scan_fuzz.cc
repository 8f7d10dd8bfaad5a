// Fuzzes the hot path's header scanner against Beast's parser, which reads every message
// the scanner does not take. The input's bytes are read both as a request and as an
// answer. Property: whatever the scanner takes, Beast takes identically: no error, the
// same number of header bytes, the same method and target (or status and reason), HTTP/1.1,
// the same fields and values in the same order, the same Content-Length, the same
// keep-alive, and no body for a request. So the scanner can never read a message another
// way than the parser it stands in for (a smuggling seam between agent, latchkey and
// upstream). It is also checked at the header limit: taken at exactly its size (and
// then by Beast too), never at one byte less.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string_view>

#include "gateway/http/header_scan.h"
#include "support/fuzz_check.h"
#include "support/fuzz_input.h"

namespace {

using namespace latchkey;
using namespace latchkey::gateway;
namespace http = boost::beast::http;

constexpr uint32_t kHeaderLimit = 16 * 1024;
constexpr uint64_t kMaxBody = uint64_t{64} * 1024;

// Beast's fields from its parser against the scanner's, inserted as the gateway inserts them.
void CheckFields(const http::fields& parsed, const ScannedHeader& scanned) {
  http::fields taken;
  InsertFields(scanned, taken);
  FUZZ_CHECK(static_cast<size_t>(std::distance(taken.begin(), taken.end())) == scanned.field_count);
  auto mine = taken.begin();
  for (const auto& field : parsed) {
    FUZZ_CHECK(mine != taken.end());
    FUZZ_CHECK(field.name() == mine->name());
    FUZZ_CHECK(field.name_string() == mine->name_string());
    FUZZ_CHECK(field.value() == mine->value());
    ++mine;
  }
  FUZZ_CHECK(mine == taken.end());
}

template <typename Parser>
size_t PutAll(Parser& parser, std::string_view bytes, uint32_t header_limit) {
  parser.header_limit(header_limit);
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  parser.eager(false);
  boost::beast::error_code ec;
  const size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(parser.is_header_done());
  return used;
}

void CheckRequest(std::string_view bytes, uint32_t header_limit) {
  ScannedHeader scanned;
  if (!ScanRequest(bytes, header_limit, scanned)) return;
  http::request_parser<http::empty_body> parser;
  FUZZ_CHECK(PutAll(parser, bytes, header_limit) == scanned.size);
  FUZZ_CHECK(parser.is_done());  // no body
  const auto& request = parser.get();
  FUZZ_CHECK(request.method() == scanned.method);
  FUZZ_CHECK(request.target() == scanned.target);
  FUZZ_CHECK(request.version() == 11);
  FUZZ_CHECK(parser.keep_alive() == scanned.keep_alive);
  FUZZ_CHECK(!parser.upgrade());
  CheckFields(request.base(), scanned);
  ScannedHeader again;
  FUZZ_CHECK(ScanRequest(bytes, static_cast<uint32_t>(scanned.size), again));
  FUZZ_CHECK(!ScanRequest(bytes, static_cast<uint32_t>(scanned.size - 1), again));
  http::request_parser<http::empty_body> at_limit;
  FUZZ_CHECK(PutAll(at_limit, bytes, static_cast<uint32_t>(scanned.size)) == scanned.size);
}

void CheckResponse(std::string_view bytes, uint32_t header_limit) {
  ScannedHeader scanned;
  if (!ScanResponse(bytes, header_limit, kMaxBody, scanned)) return;
  FUZZ_CHECK(scanned.has_content_length && scanned.content_length <= kMaxBody);
  http::response_parser<http::empty_body> parser;
  FUZZ_CHECK(PutAll(parser, bytes, header_limit) == scanned.size);
  const auto& response = parser.get();
  FUZZ_CHECK(response.result_int() == scanned.status);
  http::response_header<> taken;  // as UpstreamClient fills it (an empty reason reads as the standard one)
  taken.result(scanned.status);
  taken.reason(scanned.reason);
  FUZZ_CHECK(response.reason() == taken.reason());
  FUZZ_CHECK(response.version() == 11);
  FUZZ_CHECK(parser.content_length() && *parser.content_length() == scanned.content_length);
  FUZZ_CHECK(!parser.chunked());
  FUZZ_CHECK(parser.keep_alive() == scanned.keep_alive);
  FUZZ_CHECK(parser.is_done() == (scanned.content_length == 0));
  CheckFields(response.base(), scanned);
  ScannedHeader again;
  FUZZ_CHECK(ScanResponse(bytes, static_cast<uint32_t>(scanned.size), kMaxBody, again));
  FUZZ_CHECK(!ScanResponse(bytes, static_cast<uint32_t>(scanned.size - 1), kMaxBody, again));
  FUZZ_CHECK(scanned.content_length == 0 ||
             !ScanResponse(bytes, header_limit, scanned.content_length - 1, again));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = fuzz::AsText(data, size);
  CheckRequest(bytes, kHeaderLimit);
  CheckResponse(bytes, kHeaderLimit);
  return 0;
}
