// Files only their owner may read (the master key file, the admin token file, backups):
// read with a permission check, create once so that racing processes agree on one file,
// replace atomically. Linux and libstdc++ only (link, fsync of directories, a file buffer
// over a descriptor). Any thread; safe across processes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <ostream>

#include "common/secret_string.h"
#include "common/status.h"

namespace latchkey::crypto {

// The contents of `path`. kNotFound (naming the path) if it does not exist;
// kFailedPrecondition if it is not a regular file, is larger than `max_bytes`, or its
// mode gives group or others any access (the message names the fix: chmod 600).
StatusOr<SecretString> ReadPrivateFile(const std::filesystem::path& path, std::size_t max_bytes);

// Creates `path` (mode 0600) holding `contents` unless it exists. Readers never see it
// half-written. kAlreadyExists when the file was there first (or another process won).
Status CreatePrivateFileOnce(const std::filesystem::path& path, const SecretString& contents);

// Writes a private file's contents to `out`. An error it returns, or a write that fails,
// leaves no file behind.
using PrivateFileWriter = std::function<Status(std::ostream& out)>;

// The same with contents `write` streams, for files too large to hold in memory (a
// backup). The stream's buffer is not wiped: for sealed or public bytes, not for secrets.
Status CreatePrivateFileOnce(const std::filesystem::path& path, const PrivateFileWriter& write);

// Creates or replaces `path` (mode 0600) with `contents`; a crash leaves the old or the
// new file, never a mix.
Status ReplacePrivateFile(const std::filesystem::path& path, const SecretString& contents);

}  // namespace latchkey::crypto
