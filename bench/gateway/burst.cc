// burst: opens N connections to 127.0.0.1:PORT at once, sends one GET on each, and waits
// for every answer. Prints the wall time from the first connect to the last answer,
// per-request latency percentiles and the status counts, e.g.
//   burst 8787 /proxy/slow/ "Authorization: Bearer lk_..." 1000
// Bounded: gives up after 30 s. Single thread, poll(2).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Slot {
  int fd = -1;
  std::string out;
  size_t sent = 0;
  std::string in;
  bool done = false;
  int status = 0;
  Clock::time_point started;
  double ms = 0;
};

bool Complete(Slot& s) {
  size_t end = s.in.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::string head = s.in.substr(0, end);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t cl = head.find("content-length:");
  if (cl == std::string::npos) return false;
  size_t length = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
  return s.in.size() >= end + 4 + length;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: burst PORT PATH HEADER N\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string request = std::string("GET ") + argv[2] + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                              (argv[3][0] ? std::string(argv[3]) + "\r\n" : "") + "Connection: close\r\n\r\n";
  const int n = std::atoi(argv[4]);
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = std::max<rlim_t>(limit.rlim_cur, std::min<rlim_t>(limit.rlim_max, n + 64));
  setrlimit(RLIMIT_NOFILE, &limit);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<Slot> slots(n);
  const auto t0 = Clock::now();
  for (auto& s : slots) {
    s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    s.out = request;
    s.started = Clock::now();
    ::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  int remaining = n;
  char buffer[65536];
  while (remaining > 0 && Clock::now() - t0 < std::chrono::seconds(30)) {
    std::vector<pollfd> fds;
    std::vector<Slot*> owners;
    for (auto& s : slots) {
      if (s.done) continue;
      fds.push_back({s.fd, static_cast<short>(s.sent < s.out.size() ? POLLOUT : POLLIN), 0});
      owners.push_back(&s);
    }
    if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      Slot& s = *owners[i];
      if (fds[i].revents == 0) continue;
      if (s.sent < s.out.size()) {
        ssize_t w = ::send(s.fd, s.out.data() + s.sent, s.out.size() - s.sent, MSG_NOSIGNAL);
        if (w > 0) s.sent += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) s.done = true, --remaining, ::close(s.fd);
        continue;
      }
      ssize_t r = ::recv(s.fd, buffer, sizeof buffer, 0);
      if (r > 0) s.in.append(buffer, static_cast<size_t>(r));
      if (r == 0 || (r < 0 && errno != EAGAIN) || Complete(s)) {
        s.done = true;
        --remaining;
        s.ms = std::chrono::duration<double, std::milli>(Clock::now() - s.started).count();
        if (s.in.rfind("HTTP/1.", 0) == 0) s.status = std::atoi(s.in.c_str() + 9);
        ::close(s.fd);
      }
    }
  }
  const double wall = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  std::vector<double> latencies;
  std::map<int, int> statuses;
  for (const auto& s : slots) {
    if (s.done && s.status) latencies.push_back(s.ms);
    ++statuses[s.done ? s.status : -1];
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0.0 : latencies[static_cast<size_t>(p * (latencies.size() - 1))];
  };
  std::printf("requests %d wall_ms %.1f p50_ms %.1f p99_ms %.1f max_ms %.1f statuses", n, wall, pct(0.5),
              pct(0.99), latencies.empty() ? 0.0 : latencies.back());
  for (auto [status, count] : statuses) std::printf(" %d:%d", status, count);
  std::printf("\n");
  return statuses.size() == 1 && statuses.begin()->first == 200 ? 0 : 1;
}
