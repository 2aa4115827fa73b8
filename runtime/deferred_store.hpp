// A ChunkStore opened on its own thread while the mount goes live. Metadata
// (lookup, getattr, readdir) needs only the bootstrap, so a mount answers
// them before the store has laid out its blobs and opened its cache; a read
// waits for the open, and fails with its error if the open failed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "runtime/chunk_store.hpp"

namespace rafs::runtime {

class DeferredStore final : public ChunkStore {
public:
  using Opener = std::function<Result<std::unique_ptr<ChunkStore>>()>;
  // Runs `open` on a new thread at once, at the lowest priority (nice 19).
  explicit DeferredStore(Opener open);
  ~DeferredStore() override; // waits for the open, then shuts the store down
  DeferredStore(const DeferredStore&) = delete;
  DeferredStore& operator=(const DeferredStore&) = delete;

  // Waits until the open finished: its error if it failed.
  [[nodiscard]] Result<void> wait() const;

  Result<std::size_t> read_file(std::uint32_t index, std::uint64_t offset, MutableBytes out) override;
  void start_prefetch(std::vector<std::uint32_t> indexes) override; // once open; nothing if it failed
  void shutdown() override;
  StoreStats stats() const override; // zeros until open

private:
  // The opened store, published once the open finished: reads after that
  // take no lock. Null until then, and for good if the open failed.
  ChunkStore* opened() const { return m_opened.load(std::memory_order_acquire); }

  std::atomic<ChunkStore*> m_opened{nullptr};
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_done;
  bool m_finished = false;
  std::unique_ptr<ChunkStore> m_store;
  std::optional<Error> m_error;
  std::thread m_thread;
};

} // namespace rafs::runtime
