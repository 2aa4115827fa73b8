// A token bucket shared by the prefetch workers.
//
// `rate` bytes per second flow into a bucket holding at most `burst` bytes
// (it starts full). acquire(n) takes n bytes in pieces of at most `burst`,
// each waiting until the bucket holds it, so N bytes take at least
// (N - burst) / rate seconds, whatever the number of threads. interrupt()
// wakes every waiter for good: acquire() then returns false at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace rafs::runtime {

class RateLimiter {
public:
  // rate 0: unlimited (acquire never waits). burst is raised to 1.
  RateLimiter(std::uint64_t rate, std::uint64_t burst);

  // false when interrupted (the bytes may have been partly taken).
  [[nodiscard]] bool acquire(std::uint64_t n);
  void interrupt();

private:
  using Clock = std::chrono::steady_clock;
  void refill(Clock::time_point now);

  const std::uint64_t m_rate;
  const std::uint64_t m_burst;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  double m_tokens;
  Clock::time_point m_last;
  bool m_stopped = false;
};

} // namespace rafs::runtime
