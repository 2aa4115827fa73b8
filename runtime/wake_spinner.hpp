// Keeps one CPU from going idle for a while after each FUSE request, so the
// next request is answered without waking a halted CPU.
//
// Why: a FUSE round trip is two wake-ups (the daemon's worker, then the
// requester). When another CPU is idle, the kernel wakes the worker there;
// in a VM that CPU is halted and waking it costs an exit to the host. On the
// 2-core CI VM that made a warm `import pandas` (~1,050 FUSE IOCTLs from
// Python's isatty()) 1.3x slower than on the plain directory; with both
// processes pinned to one CPU, or with this spinner, it is ~1.05x.
//
// The spinner is one thread at nice 19: it runs only while nothing else
// wants its CPU, and for at most `window` after the last touch(); then it
// sleeps until the next touch(). The thread is named "rafs-spin". It helps where a busy CPU leaves no idle
// one to wake (few CPUs); it costs up to one CPU during request bursts, so
// it is off unless asked for (`rafs mount --busy-poll-us`).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <thread>

namespace rafs::runtime {

class WakeSpinner {
public:
  explicit WakeSpinner(std::chrono::microseconds window);
  ~WakeSpinner();
  WakeSpinner(const WakeSpinner&) = delete;
  WakeSpinner& operator=(const WakeSpinner&) = delete;

  // A request arrived: spin until `window` after now. Cheap: two atomic
  // operations, and a futex wake only when the spinner sleeps.
  void touch() noexcept;
  // Whether the spinner's thread is asleep (waiting for a touch).
  bool sleeping() const noexcept { return m_sleeping.load(); }
  // Spin periods begun: touches that found the spinner idle (or asleep).
  std::uint64_t periods() const noexcept { return m_periods.load(std::memory_order_relaxed); }

private:
  void run();
  static std::int64_t now_ns() noexcept;

  const std::int64_t m_window_ns;
  std::atomic<std::int64_t> m_last{std::numeric_limits<std::int64_t>::min() / 2}; // long ago
  std::atomic<bool> m_sleeping{true};
  std::atomic<std::uint32_t> m_generation{0}; // the futex the spinner sleeps on
  std::atomic<bool> m_stop{false};
  std::atomic<std::uint64_t> m_periods{0};
  std::thread m_thread;
};

} // namespace rafs::runtime
