// A data file compiled into the binary (see cmake/EmbedFiles.cmake).
// Immutable, static storage: safe to read from any thread.
#pragma once

#include <string_view>

namespace latchkey {

struct EmbeddedFile {
  std::string_view name;      // file name without folders, e.g. "google.toml"
  std::string_view contents;  // the file's bytes
};

}  // namespace latchkey
