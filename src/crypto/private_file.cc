#include "crypto/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ext/stdio_filebuf.h>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/random.h"

namespace latchkey::crypto {
namespace {

namespace fs = std::filesystem;

Status ErrnoError(std::string_view action, const fs::path& path, int err) {
  std::string message = std::string(action) + " " + path.string() + ": " +
                        std::error_code(err, std::generic_category()).message();
  switch (err) {
    case ENOENT: return NotFoundError(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS: return FailedPreconditionError(std::move(message));
    case ENOSPC:
    case EDQUOT: return ResourceExhaustedError(std::move(message));
    default: return InternalError(std::move(message));
  }
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // close() can report a failed write (NFS), so callers that wrote check it.
  int Close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

fs::path DirectoryOf(const fs::path& path) {
  fs::path dir = path.parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

// A rename or link is durable only once the directory entry itself is on disk.
Status SyncDirectory(const fs::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoError("cannot sync directory", dir, errno);
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write", path, errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

// What fills the temporary file open at `fd` (`path` names it in errors).
using FillFile = std::function<Status(int fd, const fs::path& path)>;

// Writes a fresh, fsynced, 0600 file beside `target` with `fill` and returns its path.
// Being in the same folder keeps link() and rename() on one filesystem.
StatusOr<fs::path> WriteTemporaryFile(const fs::path& target, const FillFile& fill) {
  fs::path temp =
      DirectoryOf(target) / ("." + target.filename().string() + ".tmp-" + SystemRandom::Instance().Hex(8));
  FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoError("cannot create", temp, errno);
  Status status = fill(fd.get(), temp);
  if (status.ok() && ::fsync(fd.get()) != 0) status = ErrnoError("cannot sync", temp, errno);
  if (status.ok() && fd.Close() != 0) status = ErrnoError("cannot close", temp, errno);
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  return temp;
}

FillFile WithContents(const SecretString& contents) {
  return [&contents](int fd, const fs::path& path) { return WriteAll(fd, contents.reveal(), path); };
}

// Runs `write` on a stream into `fd` (libstdc++'s file buffer over a descriptor of its own,
// which it closes).
FillFile WithWriter(const PrivateFileWriter& write) {
  return [&write](int fd, const fs::path& path) -> Status {
    const int own = ::dup(fd);
    if (own < 0) return ErrnoError("cannot write", path, errno);
    __gnu_cxx::stdio_filebuf<char> buffer(own, std::ios::out | std::ios::binary);
    std::ostream out(&buffer);
    errno = 0;
    Status written = write(out);
    out.flush();
    const int flush_error = errno;
    const bool closed = buffer.close() != nullptr;
    if (!written.ok()) return written;
    if (!out || !closed) return ErrnoError("cannot write", path, flush_error != 0 ? flush_error : EIO);
    return Status::Ok();
  };
}

// Puts the finished temporary file at `path` unless something is there. link(), unlike
// rename(), never replaces: of several processes racing to create the file exactly one
// wins, and the file appears complete.
Status LinkOnce(const fs::path& temp, const fs::path& path) {
  const int link_error = ::link(temp.c_str(), path.c_str()) == 0 ? 0 : errno;
  ::unlink(temp.c_str());
  if (link_error == EEXIST) return AlreadyExistsError(path.string() + " already exists");
  if (link_error != 0) return ErrnoError("cannot create", path, link_error);
  return SyncDirectory(DirectoryOf(path));
}

std::string OctalMode(mode_t mode) {
  std::string out = "0";
  for (int shift = 6; shift >= 0; shift -= 3) out.push_back(static_cast<char>('0' + ((mode >> shift) & 7)));
  return out;
}

}  // namespace

StatusOr<SecretString> ReadPrivateFile(const fs::path& path, std::size_t max_bytes) {
  // O_NONBLOCK: a FIFO planted at the path must not hang start-up.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return NotFoundError(path.string() + " does not exist");
    return ErrnoError("cannot open", path, errno);
  }
  // Checked on the open descriptor, so the file cannot be swapped after the check.
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return ErrnoError("cannot stat", path, errno);
  if (!S_ISREG(info.st_mode)) return FailedPreconditionError(path.string() + " is not a regular file");
  if ((info.st_mode & 077) != 0) {
    return FailedPreconditionError(path.string() + " is accessible by group or others (mode " +
                                   OctalMode(info.st_mode & 0777) + "); run: chmod 600 " + path.string());
  }

  std::string buffer(max_bytes + 1, '\0');
  std::size_t size = 0;
  Status status;
  while (status.ok() && size < buffer.size()) {
    ssize_t n = ::read(fd.get(), buffer.data() + size, buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = ErrnoError("cannot read", path, errno);
    if (n <= 0) break;
    size += static_cast<std::size_t>(n);
  }
  if (status.ok() && size > max_bytes) {
    status =
        FailedPreconditionError(path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  SecretString contents{std::string_view(buffer.data(), status.ok() ? size : 0)};
  WipeString(buffer);
  if (!status.ok()) return status;
  return contents;
}

Status CreatePrivateFileOnce(const fs::path& path, const SecretString& contents) {
  LATCHKEY_ASSIGN_OR_RETURN(fs::path temp, WriteTemporaryFile(path, WithContents(contents)));
  return LinkOnce(temp, path);
}

Status CreatePrivateFileOnce(const fs::path& path, const PrivateFileWriter& write) {
  LATCHKEY_ASSIGN_OR_RETURN(fs::path temp, WriteTemporaryFile(path, WithWriter(write)));
  return LinkOnce(temp, path);
}

Status ReplacePrivateFile(const fs::path& path, const SecretString& contents) {
  LATCHKEY_ASSIGN_OR_RETURN(fs::path temp, WriteTemporaryFile(path, WithContents(contents)));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return ErrnoError("cannot replace", path, err);
  }
  return SyncDirectory(DirectoryOf(path));
}

}  // namespace latchkey::crypto
