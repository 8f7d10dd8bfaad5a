// RefreshScheduler: the due times of every connection's next refresh, in one min-heap
// keyed by due time, so hundreds of thousands of connections need no thread or timer
// each. It owns copies of the connection ids. Not synchronized: one owner at a time
// (RefreshRunner wraps it in a mutex); it never reads a clock, callers pass `now`.
//
//   RefreshScheduler s;
//   s.Schedule("work-gmail", ProactiveRefreshAt(obtained, expires, random));
//   for (const std::string& id : s.TakeDue(clock.Now(), 64)) Refresh(id);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"

namespace latchkey::scheduler {

struct DueItem {
  std::string connection_id;
  TimePoint due;
};

class RefreshScheduler {
 public:
  RefreshScheduler() = default;
  RefreshScheduler(const RefreshScheduler&) = delete;
  RefreshScheduler& operator=(const RefreshScheduler&) = delete;
  RefreshScheduler(RefreshScheduler&&) = default;
  RefreshScheduler& operator=(RefreshScheduler&&) = default;

  // Sets the connection's due time; an earlier due time for it is replaced, not kept.
  // Amortized O(log n).
  void Schedule(std::string connection_id, TimePoint due);

  // Forgets the connection. False if it was not scheduled. O(1); its heap entry is
  // dropped lazily.
  bool Cancel(std::string_view connection_id);

  // Removes and returns up to `max` connections whose due time is <= now, earliest
  // first (equal due times in the order they were scheduled). A returned connection is
  // no longer scheduled until someone calls Schedule for it again.
  std::vector<std::string> TakeDue(TimePoint now, std::size_t max);
  // The same, with each connection's due time.
  std::vector<DueItem> TakeDueItems(TimePoint now, std::size_t max);

  // The earliest due time, or nullopt when nothing is scheduled. Not const: it drops
  // stale heap entries it finds on top.
  std::optional<TimePoint> NextDue();

  // The connection's due time, or nullopt when it is not scheduled.
  std::optional<TimePoint> DueTime(std::string_view connection_id) const;

  // Number of scheduled connections (stale heap entries are not counted).
  std::size_t size() const { return index_.size(); }
  bool empty() const { return index_.empty(); }

  // Bytes held by the containers, computed from their capacities plus an estimate of
  // one hash-node per id (libstdc++ layout) and any id longer than the small-string
  // buffer. For the benchmark's bytes-per-entry figure.
  std::size_t ApproximateMemoryBytes() const;

 private:
  // One per scheduled connection; reused through `free_slots_`.
  struct Slot {
    const std::string* id = nullptr;  // the key in `index_` (node-based: stable address)
    std::uint64_t generation = 0;     // 0 = free; otherwise matches the live heap entry
    TimePoint due{};
  };
  struct HeapEntry {
    TimePoint due;
    std::uint64_t generation;  // stale unless equal to slots_[slot].generation
    std::uint32_t slot;
  };
  struct Later {
    bool operator()(const HeapEntry& a, const HeapEntry& b) const {
      return a.due != b.due ? a.due > b.due : a.generation > b.generation;
    }
  };
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  bool IsLive(const HeapEntry& e) const { return slots_[e.slot].generation == e.generation; }
  void FreeSlot(std::uint32_t slot);
  void DropStaleTop();
  // Rebuilds the heap from the live slots when stale entries outnumber live ones, so
  // rescheduling forever does not grow memory.
  void CompactIfMostlyStale();

  std::unordered_map<std::string, std::uint32_t, IdHash, std::equal_to<>> index_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<HeapEntry> heap_;  // min-heap by (due, generation) via Later
  std::uint64_t next_generation_ = 1;
};

}  // namespace latchkey::scheduler
