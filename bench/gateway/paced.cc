// paced: an open-loop load at a fixed request rate, for latency at a given load (wrk keeps
// a fixed number of requests in flight and so always runs at the highest rate it can).
// Request k is due at start + k / RATE and goes out on the first idle keep-alive
// connection; when none is idle it waits, and its latency still counts from the time it
// was due (no coordinated omission). Prints the achieved rate and latency percentiles:
//   paced PORT PATH HEADER RATE SECONDS CONNECTIONS
//   paced 8787 /proxy/fast/ "Authorization: Bearer lk_..." 36000 8 64
// With PACED_TRACE set, each answer slower than 5 ms is printed to stderr with when it
// was due (to see whether slow answers come in periodic bursts).
// Single thread, poll(2); bounded by SECONDS plus 5 s to drain.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  bool busy = false;
  Clock::time_point due;  // of the request in flight
  std::string in;
};

// The length of the first complete answer in `in` (header and Content-Length body), or 0.
size_t AnswerLength(const std::string& in) {
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  std::string head = in.substr(0, end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t at = head.find("\r\ncontent-length:");
  const size_t length = at == std::string::npos ? 0 : std::strtoul(head.c_str() + at + 17, nullptr, 10);
  return in.size() >= end + 4 + length ? end + 4 + length : 0;
}

int Connect(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: paced PORT PATH HEADER RATE SECONDS CONNECTIONS\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string request = std::string("GET ") + argv[2] + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                              (argv[3][0] != 0 ? std::string(argv[3]) + "\r\n" : "") + "\r\n";
  const double rate = std::atof(argv[4]);
  const double seconds = std::atof(argv[5]);
  const int connections = std::atoi(argv[6]);
  if (rate <= 0 || seconds <= 0 || connections <= 0) {
    std::fprintf(stderr, "paced: RATE, SECONDS and CONNECTIONS must be positive\n");
    return 2;
  }

  std::vector<Connection> pool(static_cast<size_t>(connections));
  for (Connection& c : pool) {
    c.fd = Connect(port);
    if (c.fd < 0) {
      std::fprintf(stderr, "paced: cannot connect to 127.0.0.1:%d: %s\n", port, std::strerror(errno));
      return 1;
    }
  }

  const auto interval = std::chrono::duration<double>(1.0 / rate);
  const long long total = static_cast<long long>(rate * seconds);
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  const auto give_up = start + std::chrono::duration<double>(seconds + 5);
  auto due_of = [&](long long k) {
    return start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(k));
  };
  long long issued = 0;                 // requests whose due time has come
  std::deque<Clock::time_point> queue;  // due, waiting for an idle connection
  std::vector<double> latencies_us;
  latencies_us.reserve(static_cast<size_t>(total));
  std::map<int, long long> statuses;
  long long failures = 0;
  std::vector<pollfd> fds(pool.size());
  char buffer[65536];

  while (static_cast<long long>(latencies_us.size()) + failures < total && Clock::now() < give_up) {
    const auto now = Clock::now();
    while (issued < total && due_of(issued) <= now) queue.push_back(due_of(issued++));
    for (Connection& c : pool) {
      if (queue.empty()) break;
      if (c.busy || c.fd < 0) continue;
      c.busy = true;
      c.due = queue.front();
      queue.pop_front();
      // A blocking socket: the small request goes out whole.
      if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
        ++failures;
        ::close(c.fd);
        c.fd = -1;
      }
    }
    // Sleep until an answer arrives or the next request is due (timer slack aside).
    int timeout_ms = 100;
    if (issued < total) {
      const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(due_of(issued) - Clock::now());
      timeout_ms = static_cast<int>(std::max<long long>(0, wait.count() / 1000));
    }
    for (size_t i = 0; i < pool.size(); ++i) {
      fds[i] = {pool[i].busy ? pool[i].fd : -1, POLLIN, 0};
    }
    if (timeout_ms == 0 && issued < total) {
      timespec nap{0, 20000};  // 20 µs: the next request is due within the millisecond
      ::nanosleep(&nap, nullptr);
      timeout_ms = 0;
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) continue;
    const auto arrived = Clock::now();
    for (size_t i = 0; i < pool.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Connection& c = pool[i];
      const ssize_t r = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (r <= 0) {
        // The server closed the connection before answering: reconnect and send the
        // request again, still counted from when it was due.
        ::close(c.fd);
        c.in.clear();
        c.busy = false;
        c.fd = Connect(port);
        if (c.fd < 0) {
          ++failures;
        } else {
          queue.push_front(c.due);
        }
        continue;
      }
      c.in.append(buffer, static_cast<size_t>(r));
      if (const size_t length = AnswerLength(c.in); length > 0) {
        ++statuses[c.in.rfind("HTTP/1.", 0) == 0 ? std::atoi(c.in.c_str() + 9) : -1];
        latencies_us.push_back(std::chrono::duration<double, std::micro>(arrived - c.due).count());
        if (std::getenv("PACED_TRACE") != nullptr && latencies_us.back() > 5000) {
          std::fprintf(stderr, "slow %.3f s due, %.1f ms\n",
                       std::chrono::duration<double>(c.due - start).count(), latencies_us.back() / 1000);
        }
        // nginx ends a keep-alive connection after keepalive_requests answers: go on with a new one.
        std::string head = c.in.substr(0, length);
        for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        c.in.erase(0, length);
        if (head.find("\r\nconnection: close") != std::string::npos) {
          ::close(c.fd);
          c.in.clear();
          c.fd = Connect(port);
          if (c.fd < 0) ++failures;
        }
        c.busy = false;
      }
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  for (Connection& c : pool) {
    if (c.fd >= 0) ::close(c.fd);
  }

  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty() ? 0.0 : latencies_us[static_cast<size_t>(p * (latencies_us.size() - 1))];
  };
  std::printf(
      "rate %.0f achieved %.0f requests %zu p50_us %.0f p90_us %.0f p99_us %.0f p999_us %.0f max_us %.0f "
      "failures %lld statuses",
      rate, static_cast<double>(latencies_us.size()) / elapsed, latencies_us.size(), pct(0.5), pct(0.9),
      pct(0.99), pct(0.999), latencies_us.empty() ? 0.0 : latencies_us.back(), failures);
  for (auto [status, count] : statuses) std::printf(" %d:%lld", status, count);
  std::printf("\n");
  const bool all_ok = failures == 0 && statuses.size() == 1 && statuses.begin()->first == 200 &&
                      static_cast<long long>(latencies_us.size()) == total;
  return all_ok ? 0 : 1;
}
