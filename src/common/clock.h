// Clock: the one source of time for everything that decides by time (expiry, backoff,
// pending authorizations). Production code gets SystemClock; tests get SimulatedClock
// and advance it instead of sleeping. Both are safe to call from any thread.
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

// Milliseconds since the Unix epoch: the form times take in the store.
int64_t ToUnixMillis(TimePoint t);
TimePoint FromUnixMillis(int64_t ms);
// RFC 3339 in UTC with seconds, e.g. "2026-11-29T16:04:05Z".
std::string FormatRfc3339(TimePoint t);

}  // namespace latchkey
