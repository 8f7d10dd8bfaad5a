// Clock: the one source of wall time for everything that decides by it (expiry, backoff,
// pending authorizations). MonotonicClock: the one source of time for intervals that must
// not jump when the wall clock is set (cache TTLs, idle sessions, grace periods).
// Production code gets SystemClock and SteadyClock; tests get SimulatedClock and
// SimulatedSteadyClock and advance them instead of sleeping. All are safe to call from
// any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace latchkey {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  // A process-wide instance for wiring code.
  static SystemClock& Instance();
};

class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(TimePoint start) : now_(start.time_since_epoch().count()) {}
  TimePoint Now() const override { return TimePoint(Duration(now_.load())); }
  void Advance(Duration d) { now_ += d.count(); }
  void Set(TimePoint t) { now_ = t.time_since_epoch().count(); }

 private:
  std::atomic<Duration::rep> now_;
};

using MonoTime = std::chrono::steady_clock::time_point;

class MonotonicClock {
 public:
  virtual ~MonotonicClock() = default;
  virtual MonoTime Now() const = 0;
};

class SteadyClock final : public MonotonicClock {
 public:
  MonoTime Now() const override { return std::chrono::steady_clock::now(); }
  // A process-wide instance for wiring code.
  static SteadyClock& Instance();
};

class SimulatedSteadyClock final : public MonotonicClock {
 public:
  // Starts an hour past the clock's epoch, so `Now() - ttl` stays a valid time point.
  SimulatedSteadyClock() : now_(std::chrono::steady_clock::duration(std::chrono::hours(1)).count()) {}
  MonoTime Now() const override { return MonoTime(std::chrono::steady_clock::duration(now_.load())); }
  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> d) {
    now_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(d).count();
  }

 private:
  std::atomic<std::chrono::steady_clock::rep> now_;
};

// Milliseconds since the Unix epoch: the form times take in the store.
int64_t ToUnixMillis(TimePoint t);
TimePoint FromUnixMillis(int64_t ms);
// RFC 3339 in UTC with seconds, e.g. "2026-11-29T16:04:05Z".
std::string FormatRfc3339(TimePoint t);

}  // namespace latchkey
