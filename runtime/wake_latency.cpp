#include "runtime/wake_latency.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>

#include "format/file.hpp"
#include "runtime/monotonic_ns.hpp"

namespace rafs::runtime {

WakeLatencyHold::WakeLatencyHold(std::chrono::milliseconds linger, std::filesystem::path device)
    : m_linger_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(linger).count()),
      m_device(std::move(device)) {
  m_thread = std::thread([this] { run(); });
}

WakeLatencyHold::~WakeLatencyHold() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_stop_cv.notify_all();
  m_generation.fetch_add(1);
  m_generation.notify_one();
  m_thread.join();
}

void WakeLatencyHold::touch() noexcept {
  m_last.store(monotonic_ns());
  // Pairs with run(): it sets m_idle, then reads m_last again before it
  // waits, so either it sees this touch or this sees it idle.
  if (m_idle.load() && m_failed.load(std::memory_order_relaxed) == 0) {
    m_generation.fetch_add(1);
    m_generation.notify_one();
  }
}

void WakeLatencyHold::run() {
  (void)::pthread_setname_np(::pthread_self(), "rafs-qos");
  auto stopping = [&] {
    std::lock_guard lock(m_mutex);
    return m_stop;
  };
  for (;;) {
    // Loaded before the stop check: a destructor that comes after the
    // check also changes the generation, so the wait below returns.
    const std::uint32_t generation = m_generation.load();
    if (stopping()) {
      return;
    }
    m_idle.store(true);
    if (monotonic_ns() - m_last.load() > m_linger_ns) {
      m_generation.wait(generation);
      continue;
    }
    m_idle.store(false);
    UniqueFd fd(::open(m_device.c_str(), O_WRONLY | O_CLOEXEC));
    const std::int32_t zero_us = 0;
    if (!fd || ::write(fd.get(), &zero_us, sizeof zero_us) != sizeof zero_us) {
      m_failed.store(errno != 0 ? errno : EIO);
      std::unique_lock lock(m_mutex);
      m_stop_cv.wait(lock, [&] { return m_stop; });
      return;
    }
    m_held.store(true);
    m_holds.fetch_add(1);
    // Held until `linger` after the last touch.
    std::unique_lock lock(m_mutex);
    for (;;) {
      const std::int64_t left = m_last.load() + m_linger_ns - monotonic_ns();
      if (left <= 0 || m_stop) {
        break;
      }
      m_stop_cv.wait_for(lock, std::chrono::nanoseconds(left));
    }
    lock.unlock();
    fd.reset(); // drops the request
    m_held.store(false);
  }
}

} // namespace rafs::runtime
