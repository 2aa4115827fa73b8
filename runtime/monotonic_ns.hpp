// Nanoseconds on the monotonic clock (CLOCK_MONOTONIC), for threads that
// keep a request's time in an atomic.
#pragma once

#include <chrono>
#include <cstdint>

namespace rafs::runtime {

inline std::int64_t monotonic_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace rafs::runtime
