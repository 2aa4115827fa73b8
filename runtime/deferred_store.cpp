#include "runtime/deferred_store.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rafs::runtime {

DeferredStore::DeferredStore(Opener open) {
  m_thread = std::thread([this, open = std::move(open)] {
    // The lowest priority: the mount's first requests (metadata, answered
    // from the bootstrap) get the CPU before the open does. Measured on the
    // 17,000-file image: the first stat ~1 ms sooner (median of 31). The
    // thread ends with the open; the cache flusher it starts keeps it.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
    auto store = open();
    std::lock_guard lock(m_mutex);
    if (store) {
      m_store = std::move(*store);
      m_opened.store(m_store.get(), std::memory_order_release);
    } else {
      m_error = std::move(store).error();
    }
    m_finished = true;
    m_done.notify_all();
  });
}

DeferredStore::~DeferredStore() {
  shutdown();
}

Result<void> DeferredStore::wait() const {
  std::unique_lock lock(m_mutex);
  m_done.wait(lock, [&] { return m_finished; });
  if (m_error) {
    return *m_error;
  }
  return {};
}

Result<std::size_t> DeferredStore::read_file(std::uint32_t index, std::uint64_t offset, MutableBytes out) {
  if (ChunkStore* s = opened()) { // the usual case: no lock
    return s->read_file(index, offset, out);
  }
  RAFS_TRY(wait());
  return opened()->read_file(index, offset, out);
}

void DeferredStore::start_prefetch(std::vector<std::uint32_t> indexes) {
  if (wait()) {
    opened()->start_prefetch(std::move(indexes));
  }
}

void DeferredStore::shutdown() {
  if (m_thread.joinable()) {
    m_thread.join();
  }
  if (ChunkStore* s = opened()) {
    s->shutdown();
  }
}

StoreStats DeferredStore::stats() const {
  if (ChunkStore* s = opened()) {
    return s->stats();
  }
  return StoreStats{};
}

} // namespace rafs::runtime
