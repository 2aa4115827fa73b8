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
// The spinner is one thread named "rafs-spin", at nice 19, spinning for at
// most `window` after the last touch(), then asleep until the next one.
// Other threads preempt it, but it still takes its small share of a busy
// CPU and the switches cost them: a warm full read through the mount (tar
// and wc keep both CPUs busy) ran 23% slower with it. It helps where no
// other CPU is idle (few CPUs), so it is off unless asked for
// (`rafs mount --busy-poll-us`). The mount's default way to the same end is
// WakeLatencyHold (wake_latency.hpp): idle CPUs poll, and no thread spins.
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
  // Spin periods begun: touches that came after the last one's window.
  std::uint64_t periods() const noexcept { return m_periods.load(std::memory_order_relaxed); }

private:
  void run();

  const std::int64_t m_window_ns;
  std::atomic<std::int64_t> m_last{std::numeric_limits<std::int64_t>::min() / 2}; // long ago
  std::atomic<bool> m_sleeping{true};
  std::atomic<std::uint32_t> m_generation{0}; // the futex the spinner sleeps on
  std::atomic<bool> m_stop{false};
  std::atomic<std::uint64_t> m_periods{0};
  std::thread m_thread;
};

} // namespace rafs::runtime
