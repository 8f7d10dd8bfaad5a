#include "gateway/refusal_streaks.h"

namespace latchkey::gateway {

int RefusalStreaks::Add(std::string_view connection) {
  std::lock_guard lock(mu_);
  auto it = streaks_.find(connection);
  if (it == streaks_.end()) it = streaks_.emplace(std::string(connection), 0).first;
  open_.store(streaks_.size(), std::memory_order_relaxed);
  return ++it->second;
}

void RefusalStreaks::Clear(std::string_view connection) {
  if (open_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(mu_);
  if (auto it = streaks_.find(connection); it != streaks_.end()) streaks_.erase(it);
  open_.store(streaks_.size(), std::memory_order_relaxed);
}

}  // namespace latchkey::gateway
