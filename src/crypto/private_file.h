// Small files only their owner may read (the master key file): read with a permission
// check, create once so that racing processes agree on one file, replace atomically.
// Used by master_key.cc; POSIX only. Any thread; safe across processes.
#pragma once

#include <cstddef>
#include <filesystem>

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

// Creates or replaces `path` (mode 0600) with `contents`; a crash leaves the old or the
// new file, never a mix.
Status ReplacePrivateFile(const std::filesystem::path& path, const SecretString& contents);

}  // namespace latchkey::crypto
