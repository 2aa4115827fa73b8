#include "runtime/wake_spinner.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>


#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RAFS_CPU_RELAX() _mm_pause()
#else
#define RAFS_CPU_RELAX() ((void)0)
#endif

#include "runtime/monotonic_ns.hpp"

namespace rafs::runtime {

WakeSpinner::WakeSpinner(std::chrono::microseconds window)
    : m_window_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(window).count()) {
  m_thread = std::thread([this] { run(); });
}

WakeSpinner::~WakeSpinner() {
  m_stop.store(true);
  m_generation.fetch_add(1);
  m_generation.notify_one();
  m_thread.join();
}

void WakeSpinner::touch() noexcept {
  const std::int64_t now = monotonic_ns();
  // A touch after the last one's window begins a spin period (counted here,
  // not when the spinner's thread next runs: at nice 19 on a busy CPU that
  // may be after the window).
  if (now - m_last.exchange(now) > m_window_ns) {
    m_periods.fetch_add(1, std::memory_order_relaxed);
  }
  // Pairs with run(): it sets m_sleeping, then reads m_last again before it
  // waits, so either it sees this touch or this sees it sleeping.
  if (m_sleeping.load()) {
    m_generation.fetch_add(1);
    m_generation.notify_one();
  }
}

void WakeSpinner::run() {
  // nice 19: any other runnable thread on this CPU (the application, the
  // daemon's own workers) preempts the spinner at once.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
  (void)::pthread_setname_np(::pthread_self(), "rafs-spin");
  // Awake from here on until it waits: a touch before this thread first
  // ran (m_sleeping starts true) leaves it spinning, not "asleep".
  m_sleeping.store(false);
  while (!m_stop.load(std::memory_order_relaxed)) {
    if (monotonic_ns() - m_last.load() <= m_window_ns) {
      for (int i = 0; i < 64; ++i) {
        RAFS_CPU_RELAX();
      }
      continue;
    }
    const std::uint32_t generation = m_generation.load();
    m_sleeping.store(true);
    if (monotonic_ns() - m_last.load() > m_window_ns && !m_stop.load()) {
      m_generation.wait(generation);
    }
    m_sleeping.store(false);
  }
}

} // namespace rafs::runtime
