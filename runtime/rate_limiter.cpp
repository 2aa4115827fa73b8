#include "runtime/rate_limiter.hpp"

#include <algorithm>

namespace rafs::runtime {

RateLimiter::RateLimiter(std::uint64_t rate, std::uint64_t burst)
    : m_rate(rate), m_burst(std::max<std::uint64_t>(burst, 1)),
      m_tokens(static_cast<double>(m_burst)), m_last(Clock::now()) {}

void RateLimiter::refill(Clock::time_point now) {
  const std::chrono::duration<double> elapsed = now - m_last;
  m_last = now;
  m_tokens = std::min(static_cast<double>(m_burst),
                      m_tokens + elapsed.count() * static_cast<double>(m_rate));
}

bool RateLimiter::acquire(std::uint64_t n) {
  std::unique_lock lock(m_mutex);
  if (m_rate == 0) {
    return !m_stopped;
  }
  while (n > 0) {
    const std::uint64_t piece = std::min(n, m_burst);
    for (;;) {
      if (m_stopped) {
        return false;
      }
      refill(Clock::now());
      const auto want = static_cast<double>(piece);
      if (m_tokens >= want) {
        m_tokens -= want;
        break;
      }
      const std::chrono::duration<double> wait((want - m_tokens) / static_cast<double>(m_rate));
      m_cv.wait_for(lock, std::chrono::duration_cast<Clock::duration>(wait) +
                              std::chrono::microseconds(100));
    }
    n -= piece;
  }
  return true;
}

void RateLimiter::interrupt() {
  {
    std::lock_guard lock(m_mutex);
    m_stopped = true;
  }
  m_cv.notify_all();
}

} // namespace rafs::runtime
