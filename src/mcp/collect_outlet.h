// CollectOutlet: an mcp::Outlet that keeps every message sent to it, for tests that drive
// a Session directly.
#pragma once

#include <mutex>
#include <utility>
#include <vector>

#include "mcp/session.h"

namespace latchkey::mcp {

class CollectOutlet final : public Outlet {
 public:
  void Send(json message) override {
    std::lock_guard lock(mu_);
    messages_.push_back(std::move(message));
  }
  // The messages sent since the last Take.
  std::vector<json> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(messages_, {});
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return messages_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<json> messages_;
};

}  // namespace latchkey::mcp
