// Background prefetch into the cache (nydusd's fs_prefetch).
//
// start() returns at once; a coordinator thread then
//   1. calls backend.readahead() on each blob's readahead range (localfs:
//      readahead(2)), with or without a cache;
//   2. with a cache, plans the chunks to fetch (plan_prefetch) and runs
//      threads_count workers over the plan in order: each takes the next
//      run of neighbouring chunks (adjacent in the blob, up to merging_size
//      bytes), takes its bytes from the shared token bucket (bandwidth_rate,
//      raised to the chunk size; the bucket holds a tenth of a second, at
//      least one chunk), then fetches it through the Fetcher, which skips
//      chunks already cached or in flight. The bucket is taken before the
//      chunks are claimed, so a user read never waits behind the limiter.
// stop() interrupts the limiter and joins every thread; a worker finishes
// at most the one backend read it is in.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "format/bootstrap.hpp"
#include "runtime/blob_backend.hpp"
#include "runtime/chunk_cache.hpp"
#include "runtime/chunk_cache_layout.hpp"
#include "runtime/config.hpp"
#include "runtime/fetcher.hpp"
#include "runtime/rate_limiter.hpp"

namespace rafs::runtime {

struct PrefetchItem {
  std::uint32_t blob = 0;
  std::uint32_t slot = 0;
};

// The chunks to prefetch, in order, each once, only of blobs the cache
// holds: the chunks of `indexes` (regular files; directories: every file of
// their subtree, depth first in child order), then with `all` every other
// chunk, blob by blob in blob order. A list holding only the root means
// everything (in blob order). Indexes out of range are ignored.
std::vector<PrefetchItem> plan_prefetch(const v5::Bootstrap& boot,
                                        const std::vector<BlobLayout>& layouts,
                                        const ChunkCache& cache,
                                        std::span<const std::uint32_t> indexes, bool all);

class Prefetcher {
public:
  // Everything passed must outlive the prefetcher; `cache` may be null.
  Prefetcher(const v5::Bootstrap& boot, const std::vector<BlobLayout>& layouts, Fetcher& fetcher,
             ChunkCache* cache, BlobBackend& backend, const PrefetchConfig& config);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // Once; later calls are ignored.
  void start(std::vector<std::uint32_t> indexes);
  // Stops and joins the threads. Idempotent.
  void stop();
  // The threads have finished (or never ran).
  bool done() const noexcept { return m_done.load(std::memory_order_acquire); }

private:
  void coordinate(std::vector<std::uint32_t> indexes);
  void work();
  // The next run of the plan (empty at the end).
  std::vector<PrefetchItem> next_run(std::uint64_t& bytes);

  const v5::Bootstrap& m_boot;
  const std::vector<BlobLayout>& m_layouts;
  Fetcher& m_fetcher;
  ChunkCache* m_cache;
  BlobBackend& m_backend;
  const PrefetchConfig m_config;
  const std::uint64_t m_merge_limit;
  RateLimiter m_limiter;

  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_done{true};
  std::mutex m_start_mutex;
  bool m_started = false;
  std::thread m_coordinator;

  std::mutex m_plan_mutex;
  std::vector<PrefetchItem> m_plan;
  std::size_t m_cursor = 0;
};

} // namespace rafs::runtime
