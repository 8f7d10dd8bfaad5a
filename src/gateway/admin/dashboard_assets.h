// The dashboard's files (src/web/), compiled into the binary by CMake
// (src/gateway/CMakeLists.txt): the daemon serves them itself, no CDN, offline.
#pragma once

#include <span>
#include <string_view>

namespace latchkey::gateway {

struct DashboardAsset {
  std::string_view path;          // "/assets/app.js"; the page itself is "/"
  std::string_view content_type;  // with charset
  std::string_view body;
};

std::span<const DashboardAsset> DashboardAssets();

}  // namespace latchkey::gateway
