// Per-connection locks for the SQLite backend: flock(2) on one file per connection in
// "<database>.locks/". flock excludes other open file descriptions, so it works between
// threads of one process and between processes, and the kernel drops it when the
// holder dies (a crash mid-refresh never leaves a stale lock).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <system_error>
#include <thread>

#include "store/sqlite_store_impl.h"

namespace latchkey::store::sqlite {
namespace {

class FlockLock final : public ConnectionLock {
 public:
  explicit FlockLock(int fd) : fd_(fd) {}
  ~FlockLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FlockLock(const FlockLock&) = delete;
  FlockLock& operator=(const FlockLock&) = delete;

 private:
  int fd_;
};

}  // namespace

StatusOr<std::unique_ptr<ConnectionLock>> SqliteStore::TryLockConnection(std::string_view connection_id,
                                                                         std::chrono::milliseconds wait) {
  ::mkdir(lock_dir_.c_str(), 0700);  // EEXIST is fine; open() below reports real problems
  const std::string path = lock_dir_ + "/" + std::string(connection_id) + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return UnavailableError("cannot open the lock file " + path + ": " +
                            std::error_code(errno, std::generic_category()).message());
  }
  // Poll with a short randomized sleep rather than block: the wait stays bounded and a
  // waiting thread can give up cleanly.
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::minstd_rand jitter(static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id())));
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return std::unique_ptr<ConnectionLock>(new FlockLock(fd));
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int error = errno;
      ::close(fd);
      return UnavailableError("cannot lock " + path + ": " +
                              std::error_code(error, std::generic_category()).message());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + jitter() % 8));
  }
}

}  // namespace latchkey::store::sqlite
