// Cost per connection of RefreshScheduler at 100,000 connections: Schedule, reschedule,
// TakeDue of all, and memory per entry. Single-threaded (the scheduler is not
// synchronized; RefreshRunner adds one mutex around it).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "scheduler/refresh_scheduler.h"

namespace latchkey::scheduler {
namespace {

constexpr int kConnections = 100'000;
const TimePoint kT0 = FromUnixMillis(1'767'225'600'000);

// Ids like "conn-000042" (11 bytes: inside std::string's small buffer, like most
// operator-chosen slugs such as "work-gmail") and due times spread over 24 hours.
struct Workload {
  std::vector<std::string> ids;
  std::vector<TimePoint> due;
  std::vector<TimePoint> rescheduled_due;
};

const Workload& GetWorkload() {
  static const Workload w = [] {
    Workload out;
    std::mt19937_64 rng(20260101);
    std::uniform_int_distribution<std::int64_t> ms(0, 24LL * 3600 * 1000);
    char buf[32];
    for (int i = 0; i < kConnections; ++i) {
      std::snprintf(buf, sizeof buf, "conn-%06d", i);
      out.ids.emplace_back(buf);
      out.due.push_back(kT0 + std::chrono::milliseconds(ms(rng)));
      out.rescheduled_due.push_back(kT0 + std::chrono::milliseconds(ms(rng)));
    }
    return out;
  }();
  return w;
}

void Fill(RefreshScheduler& s, const Workload& w) {
  for (int i = 0; i < kConnections; ++i) s.Schedule(w.ids[i], w.due[i]);
}

// Reported per connection: "per_conn" is seconds per connection.
void SetPerConnection(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * kConnections);
  state.counters["per_conn"] = benchmark::Counter(
      kConnections, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Schedule 100k new connections into an empty scheduler (includes copying each id).
void BM_Schedule100k(benchmark::State& state) {
  const Workload& w = GetWorkload();
  std::size_t capacity_bytes = 0;
  std::size_t malloc_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    {
      const std::size_t before = mallinfo2().uordblks;
      auto* s = new RefreshScheduler();
      state.ResumeTiming();
      Fill(*s, w);
      state.PauseTiming();
      malloc_bytes = mallinfo2().uordblks - before;
      capacity_bytes = s->ApproximateMemoryBytes();
      delete s;
    }
    state.ResumeTiming();
  }
  SetPerConnection(state);
  // Two measures of memory per scheduled connection:
  //  bytes_per_entry_capacity: container capacities + estimated hash nodes
  //    (RefreshScheduler::ApproximateMemoryBytes);
  //  bytes_per_entry_malloc: glibc mallinfo2() bytes in use after minus before filling,
  //    i.e. what the allocator really handed out, including its per-block overhead.
  state.counters["bytes_per_entry_capacity"] = static_cast<double>(capacity_bytes) / kConnections;
  state.counters["bytes_per_entry_malloc"] = static_cast<double>(malloc_bytes) / kConnections;
}
BENCHMARK(BM_Schedule100k)->Unit(benchmark::kMillisecond);

// Reschedule all 100k existing connections (the steady state: each refresh reschedules
// its connection). Includes the amortized cost of dropping stale heap entries.
void BM_Reschedule100k(benchmark::State& state) {
  const Workload& w = GetWorkload();
  RefreshScheduler s;
  Fill(s, w);
  bool flip = false;
  for (auto _ : state) {
    const std::vector<TimePoint>& due = flip ? w.due : w.rescheduled_due;
    for (int i = 0; i < kConnections; ++i) s.Schedule(w.ids[i], due[i]);
    flip = !flip;
  }
  benchmark::DoNotOptimize(s.NextDue());
  SetPerConnection(state);
}
BENCHMARK(BM_Reschedule100k)->Unit(benchmark::kMillisecond);

// TakeDue of all 100k (in due order), from a scheduler filled outside the timing.
void BM_TakeDueAll100k(benchmark::State& state) {
  const Workload& w = GetWorkload();
  for (auto _ : state) {
    state.PauseTiming();
    RefreshScheduler s;
    Fill(s, w);
    state.ResumeTiming();
    std::vector<std::string> ids =
        s.TakeDue(kT0 + std::chrono::hours(25), std::numeric_limits<std::size_t>::max());
    benchmark::DoNotOptimize(ids.data());
    state.PauseTiming();
    if (ids.size() != static_cast<std::size_t>(kConnections)) state.SkipWithError("TakeDue lost entries");
    ids = {};
    s = RefreshScheduler();
    state.ResumeTiming();
  }
  SetPerConnection(state);
}
BENCHMARK(BM_TakeDueAll100k)->Unit(benchmark::kMillisecond);

// The dispatcher's access pattern: NextDue, then TakeDue(next, 64) (64 = a generous
// worker-pool size), repeated until 100k connections have come due one time at a time.
void BM_TakeDueBatches100k(benchmark::State& state) {
  const Workload& w = GetWorkload();
  for (auto _ : state) {
    state.PauseTiming();
    RefreshScheduler s;
    Fill(s, w);
    state.ResumeTiming();
    std::size_t taken = 0;
    while (auto next = s.NextDue()) taken += s.TakeDue(*next, 64).size();
    state.PauseTiming();
    if (taken != static_cast<std::size_t>(kConnections)) state.SkipWithError("TakeDue lost entries");
    s = RefreshScheduler();
    state.ResumeTiming();
  }
  SetPerConnection(state);
}
BENCHMARK(BM_TakeDueBatches100k)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace latchkey::scheduler

BENCHMARK_MAIN();
