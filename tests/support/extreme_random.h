// A Random for unit tests of jitter: always the smallest or always the largest allowed
// draw, so a test hits a jittered value's bounds exactly. Never for key material.
#pragma once

#include <cstdint>
#include <span>

#include "common/random.h"

namespace latchkey::testing {

class ExtremeRandom final : public Random {
 public:
  explicit ExtremeRandom(bool max) : max_(max) {}
  void Fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = max_ ? 0xff : 0;
  }
  std::uint64_t Uniform(std::uint64_t upper_bound) override { return max_ ? upper_bound - 1 : 0; }

 private:
  bool max_;
};

}  // namespace latchkey::testing
