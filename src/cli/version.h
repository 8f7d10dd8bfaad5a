// What `latchkey --version` prints: the release and the commit it was built from.
#pragma once

#include <string_view>

namespace latchkey::cli {

// "0.1.0 (commit 0123456789ab)", with "-dirty" after the commit for a tree with uncommitted
// changes and "unknown" for a build outside git. Defined in the build folder's
// version.cc, which cmake/Version.cmake writes.
std::string_view Version();

}  // namespace latchkey::cli
