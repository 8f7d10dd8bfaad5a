// Boost.URL's implementation, compiled into latchkey once (Debian ships Boost.URL as
// headers only). Third-party code: scripts/lint leaves this file out of clang-tidy,
// whose analyzer reports inside Boost.URL's own sources.
#include <boost/url/src.hpp>  // NOLINT(misc-include-cleaner)
