// Boost's own assertions (BOOST_ASSERT) in builds without NDEBUG: the sanitizer and fuzz
// builds. CMakeLists.txt defines BOOST_ENABLE_ASSERT_DEBUG_HANDLER, so a failed one lands
// here instead of in assert(): it aborts the same way, except for the one Boost assertion
// known to be wrong, which would otherwise stop every fuzz run of the HTTP server.
// Builds with NDEBUG (release) compile Boost's assertions out, as before.
#ifndef NDEBUG

#include <boost/assert.hpp>
#include <boost/version.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

// Beast (before boostorg/beast pull request 2861, May 2024) asserts `n >= 5` when it parses
// a chunked body's last chunk a second time, but a last chunk that came alone ("0\r\n")
// followed by one more byte ("\r") is only 4: the code after the assertion rightly asks for
// more. Found by fuzz_http_server_fuzz (tests/fuzz/corpus/http_server_fuzz/
// beast-last-chunk-split-assertion); gateway/http/wire_test.cc replays it byte by byte.
bool KnownFalseAlarm(const char* expr, const char* file) {
  const std::string_view path(file);
  constexpr std::string_view kParser = "boost/beast/http/impl/basic_parser.ipp";
  return BOOST_VERSION < 108600 && std::strcmp(expr, "n >= 5") == 0 && path.size() >= kParser.size() &&
         path.substr(path.size() - kParser.size()) == kParser;
}

}  // namespace

namespace boost {

void assertion_failed_msg(const char* expr, const char* msg, const char* function, const char* file,
                          long line) {
  if (KnownFalseAlarm(expr, file)) return;
  std::fprintf(stderr, "%s:%ld: %s: Boost assertion `%s' failed%s%s\n", file, line, function, expr,
               msg[0] != '\0' ? ": " : "", msg);
  std::abort();
}

void assertion_failed(const char* expr, const char* function, const char* file, long line) {
  assertion_failed_msg(expr, "", function, file, line);
}

}  // namespace boost

#endif  // NDEBUG
