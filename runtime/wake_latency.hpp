// Asks the kernel to keep idle CPUs polling instead of halting while FUSE
// requests arrive, and for `linger` after the last one.
//
// Why: a FUSE round trip is two wake-ups (the daemon's worker, then the
// requester). In a VM, waking a halted CPU is an exit to the host: tens of
// µs per wake-up. A warm `import pandas` (~1,050 IOCTLs from Python's
// isatty()) took 1.3x the plain directory's time on the 2-core CI VM, and a
// cold full read waited on the same wake-ups between its chunk fetches.
//
// How: a PM QoS request through /dev/cpu_dma_latency (see the kernel's
// Documentation/power/pm_qos_interface.rst): writing a 32-bit 0 and keeping
// the file open asks every CPU for a wake-up latency of 0 µs, so the
// cpuidle governor picks its polling state; closing the file drops the
// request. A polling CPU runs nothing else and takes no time from other
// threads (unlike WakeSpinner, a thread that spins), but it does not rest:
// it costs power, or a VM's host CPU time, while requests flow. Needs
// write access to the device (root); without it this does nothing.
//
// One thread named "rafs-qos": asleep until a touch(), then it opens the
// device, and closes it once `linger` has passed with no touch.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

namespace rafs::runtime {

class WakeLatencyHold {
public:
  // `device`: the PM QoS file (tests pass a file of their own).
  explicit WakeLatencyHold(std::chrono::milliseconds linger,
                           std::filesystem::path device = "/dev/cpu_dma_latency");
  ~WakeLatencyHold();
  WakeLatencyHold(const WakeLatencyHold&) = delete;
  WakeLatencyHold& operator=(const WakeLatencyHold&) = delete;

  // A request arrived. Cheap: an atomic store and load, and a futex wake
  // only when nothing is held.
  void touch() noexcept;

  // Whether the request is in force now (the device is open).
  bool held() const noexcept { return m_held.load(); }
  // Holds begun so far.
  std::uint64_t holds() const noexcept { return m_holds.load(); }
  // Set when the device could not be opened or written: the errno, after
  // which touches do nothing.
  int failed_errno() const noexcept { return m_failed.load(); }

private:
  void run();

  const std::int64_t m_linger_ns;
  const std::filesystem::path m_device;
  std::atomic<std::int64_t> m_last{std::numeric_limits<std::int64_t>::min() / 2}; // long ago
  std::atomic<bool> m_idle{true};              // no hold: touch() must wake the thread
  std::atomic<std::uint32_t> m_generation{0};  // the futex the idle thread sleeps on
  std::atomic<bool> m_held{false};
  std::atomic<std::uint64_t> m_holds{0};
  std::atomic<int> m_failed{0};
  std::mutex m_mutex; // with m_stop_cv: ends the linger wait early at stop
  std::condition_variable m_stop_cv;
  bool m_stop = false;
  std::thread m_thread;
};

} // namespace rafs::runtime
