// The wait between two tries of a transaction that the database refused for contention
// (SQLITE_BUSY, a PostgreSQL serialization failure or deadlock), shared by both pools:
// randomized exponential backoff, 1, 2, 4 ... 32 ms, each scaled into [0.5, 1.5), so
// writers that collided do not collide again in step.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#include "common/random.h"

namespace latchkey::store::sql {

inline void BackoffBeforeRetry(int attempt) {
  const int64_t base_us = int64_t{1000} << std::min(attempt, 5);
  const auto jitter = static_cast<int64_t>(SystemRandom::Instance().Uniform(static_cast<uint64_t>(base_us)));
  std::this_thread::sleep_for(std::chrono::microseconds(base_us / 2 + jitter));
}

}  // namespace latchkey::store::sql
