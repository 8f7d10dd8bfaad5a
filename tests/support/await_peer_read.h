// AwaitPeerRead: for tests that send over loopback TCP in pieces and need each piece read
// apart from the next. Without it a test would pause on the real clock and hope; with it
// the sender waits for the event itself: the program at the other end has read
// everything sent so far: the peer acknowledged every byte (our send queue is empty), and
// its receive queue, as Linux reports it in /proc/net/tcp, is empty too.
#pragma once

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

namespace latchkey::testing {

// How many bytes the IPv4 loopback peer of the connected socket `fd` has received and not
// yet read; nullopt if its socket is not found (e.g. it has closed).
inline std::optional<unsigned> UnreadByPeer(int fd) {
  sockaddr_in mine{};
  sockaddr_in theirs{};
  socklen_t length = sizeof mine;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &length) != 0) return std::nullopt;
  length = sizeof theirs;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&theirs), &length) != 0) return std::nullopt;
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the column names
  while (std::getline(table, line)) {
    // "  3: 0100007F:A1B2 0100007F:1F90 01 00000000:0000002A ...": the socket's own address
    // and port, its peer's, its state, then its send and receive queues.
    unsigned local = 0, local_port = 0, remote = 0, remote_port = 0, state = 0, sending = 0, unread = 0;
    if (std::sscanf(line.c_str(), " %*u: %8X:%4X %8X:%4X %2X %8X:%8X", &local, &local_port, &remote,
                    &remote_port, &state, &sending, &unread) != 7) {
      continue;
    }
    // The peer's socket: its own end is our far end. (Addresses print as the raw value.)
    if (local == theirs.sin_addr.s_addr && local_port == ntohs(theirs.sin_port) &&
        remote == mine.sin_addr.s_addr && remote_port == ntohs(mine.sin_port)) {
      return unread;
    }
  }
  return std::nullopt;
}

// Returns true once the peer of `fd` has read all it received, false if it has not within
// `limit` (a safeguard for a peer that stopped reading; nothing waits on the clock).
inline bool AwaitPeerRead(int fd, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < give_up) {
    int in_flight = 0;  // sent and not yet acknowledged, so perhaps not yet in the peer's queue
    if (ioctl(fd, SIOCOUTQ, &in_flight) != 0) return false;
    if (in_flight > 0) {
      std::this_thread::yield();
      continue;
    }
    std::optional<unsigned> unread = UnreadByPeer(fd);
    if (!unread) return false;
    if (*unread == 0) return true;
    std::this_thread::yield();
  }
  return false;
}

}  // namespace latchkey::testing
