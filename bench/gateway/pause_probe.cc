// pause_probe: tells a pause of the machine from a stall of the program under test. One
// thread per CPU, each pinned to its CPU, sleeps 1 ms at a time and reports every wake-up
// that came more than THRESHOLD_MS late: a guest whose virtual CPU the host does not run
// for a while shows it here, whatever the benchmark does. Run it beside a benchmark round:
//   pause_probe SECONDS THRESHOLD_MS
// Prints one line a late wake-up ("cpu 1 late 100.2 ms at 2.091 s", seconds from its
// start), then the longest lateness of each CPU.
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: pause_probe SECONDS THRESHOLD_MS\n");
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const auto length = std::chrono::duration<double>(std::atof(argv[1]));
  const auto threshold = std::chrono::duration<double, std::milli>(std::atof(argv[2]));
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  const auto start = Clock::now();
  std::mutex print;
  std::vector<double> worst_ms(static_cast<size_t>(cpus), 0);
  std::vector<std::thread> threads;
  for (long cpu = 0; cpu < cpus; ++cpu) {
    threads.emplace_back([&, cpu] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(static_cast<int>(cpu), &set);
      pthread_setaffinity_np(pthread_self(), sizeof set, &set);
      constexpr auto kNap = std::chrono::milliseconds(1);
      while (Clock::now() - start < length) {
        const auto before = Clock::now();
        std::this_thread::sleep_for(kNap);
        const std::chrono::duration<double, std::milli> late = Clock::now() - before - kNap;
        double& worst = worst_ms[static_cast<size_t>(cpu)];
        worst = std::max(worst, late.count());
        if (late > threshold) {
          std::lock_guard lock(print);
          std::printf("cpu %ld late %.1f ms at %.3f s\n", cpu, late.count(),
                      std::chrono::duration<double>(before - start).count());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (long cpu = 0; cpu < cpus; ++cpu)
    std::printf("cpu %ld longest lateness %.1f ms\n", cpu, worst_ms[static_cast<size_t>(cpu)]);
  return 0;
}
