#include "scheduler/refresh_scheduler.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <utility>

namespace latchkey::scheduler {
namespace {

// Compaction waits until the heap has this many entries beyond twice the live count,
// so small schedulers do not rebuild on every reschedule.
constexpr std::size_t kCompactionSlack = 1024;

}  // namespace

void RefreshScheduler::Schedule(std::string connection_id, TimePoint due) {
  const std::uint64_t generation = next_generation_++;
  auto it = index_.find(std::string_view(connection_id));
  std::uint32_t slot;
  if (it != index_.end()) {
    slot = it->second;
  } else {
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      assert(slots_.size() < std::numeric_limits<std::uint32_t>::max());
      slot = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    it = index_.emplace(std::move(connection_id), slot).first;
    slots_[slot].id = &it->first;
  }
  slots_[slot].generation = generation;
  slots_[slot].due = due;
  heap_.push_back(HeapEntry{due, generation, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  CompactIfMostlyStale();
}

bool RefreshScheduler::Cancel(std::string_view connection_id) {
  auto it = index_.find(connection_id);
  if (it == index_.end()) return false;
  const std::uint32_t slot = it->second;
  index_.erase(it);
  FreeSlot(slot);
  return true;
}

std::vector<std::string> RefreshScheduler::TakeDue(TimePoint now, std::size_t max) {
  std::vector<DueItem> items = TakeDueItems(now, max);
  std::vector<std::string> ids;
  ids.reserve(items.size());
  for (DueItem& item : items) ids.push_back(std::move(item.connection_id));
  return ids;
}

std::vector<DueItem> RefreshScheduler::TakeDueItems(TimePoint now, std::size_t max) {
  std::vector<DueItem> taken;
  while (taken.size() < max) {
    DropStaleTop();
    if (heap_.empty() || heap_.front().due > now) break;
    const HeapEntry top = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
    // Move the key out of its node instead of copying it.
    auto node = index_.extract(*slots_[top.slot].id);
    taken.push_back(DueItem{std::move(node.key()), top.due});
    FreeSlot(top.slot);
  }
  return taken;
}

std::optional<TimePoint> RefreshScheduler::NextDue() {
  DropStaleTop();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due;
}

std::optional<TimePoint> RefreshScheduler::DueTime(std::string_view connection_id) const {
  auto it = index_.find(connection_id);
  if (it == index_.end()) return std::nullopt;
  return slots_[it->second].due;
}

std::size_t RefreshScheduler::ApproximateMemoryBytes() const {
  // libstdc++ hash node: next pointer + value + cached hash code.
  constexpr std::size_t kNodeBytes =
      sizeof(void*) + sizeof(std::pair<const std::string, std::uint32_t>) + sizeof(std::size_t);
  constexpr std::size_t kSmallStringCapacity = 15;
  std::size_t bytes = slots_.capacity() * sizeof(Slot) + free_slots_.capacity() * sizeof(std::uint32_t) +
                      heap_.capacity() * sizeof(HeapEntry) + index_.bucket_count() * sizeof(void*) +
                      index_.size() * kNodeBytes;
  for (const auto& [id, slot] : index_) {
    if (id.capacity() > kSmallStringCapacity) bytes += id.capacity() + 1;
  }
  return bytes;
}

void RefreshScheduler::FreeSlot(std::uint32_t slot) {
  slots_[slot] = Slot{};
  free_slots_.push_back(slot);
}

void RefreshScheduler::DropStaleTop() {
  while (!heap_.empty() && !IsLive(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
}

void RefreshScheduler::CompactIfMostlyStale() {
  if (heap_.size() <= 2 * index_.size() + kCompactionSlack) return;
  std::erase_if(heap_, [this](const HeapEntry& e) { return !IsLive(e); });
  std::make_heap(heap_.begin(), heap_.end(), Later{});
}

}  // namespace latchkey::scheduler
