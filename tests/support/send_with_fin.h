// SendWithFin: for tests of a reader that must see a peer's last bytes and its FIN arrive
// at once, as from a client that half-closes right after its last request.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <string_view>

namespace latchkey::testing {

// Sends `bytes` on the connected TCP socket `fd`, then shuts its write side, so that the
// bytes and the FIN travel in one TCP segment: the bytes are held back (MSG_MORE) until
// the shutdown, whose FIN then rides on them. False if the peer had gone.
inline bool SendWithFin(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_MORE | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return ::shutdown(fd, SHUT_WR) == 0;
}

}  // namespace latchkey::testing
