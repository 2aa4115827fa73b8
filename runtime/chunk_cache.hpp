// The local chunk cache (nydusd's blobcache/filecache, in our own format).
//
// Per blob, in the cache directory:
//   <blob id>.rafs-data    decompressed chunk data, each chunk at its
//                          uncompressed_offset (a sparse file of the blob's
//                          uncompressed size); also the lock (flock, held
//                          until the cache is destroyed) that keeps a second
//                          store, in this process or another, off this
//                          blob's cache: that one runs the blob uncached
//   <blob id>.rafs-record  which chunks the data file holds (CacheRecord)
// (Ids longer than 200 bytes are replaced by the hex BLAKE3 of the id.)
//
// store() writes the data and makes the chunk readable at once (readers
// pread the page cache); a flusher thread then commits in groups (every
// `commit_batch` chunks, or `commit_interval` after the first uncommitted
// one; with nothing stored it sleeps): fdatasync of the data file, then the
// record claims. close() commits what is pending and syncs the
// records. A blob whose cache cannot be opened or written (in use by another
// process, I/O error) runs uncached, with one log line; the store goes on.
//
// Thread-safe. present() and read() take no lock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "format/bootstrap.hpp"
#include "format/error.hpp"
#include "runtime/chunk_cache_layout.hpp"

namespace rafs::runtime {

// Where the store's problem lines go ("rafs mount: ..."), one per call.
using LogSink = std::function<void(const std::string&)>;

struct ChunkCacheOptions {
  std::filesystem::path dir; // created if missing
  std::size_t commit_batch = 64;
  std::chrono::milliseconds commit_interval{100};
};

class ChunkCache {
public:
  // Fails only when the directory cannot be created; per-blob problems
  // leave that blob uncached. `boot` and `layouts` must outlive the cache.
  [[nodiscard]] static Result<std::unique_ptr<ChunkCache>>
  open(const v5::Bootstrap& boot, const std::vector<BlobLayout>& layouts,
       const ChunkCacheOptions& options, LogSink log);
  ~ChunkCache();
  ChunkCache(const ChunkCache&) = delete;
  ChunkCache& operator=(const ChunkCache&) = delete;

  bool enabled(std::uint32_t blob) const noexcept;
  // The data of slot `slot` is in the data file (readable now).
  bool present(std::uint32_t blob, std::uint32_t slot) const noexcept;
  // Bytes [from, from + out.size()) of a present chunk.
  [[nodiscard]] Result<void> read(std::uint32_t blob, std::uint32_t slot, std::uint64_t from,
                                  MutableBytes out) const;
  // Writes a whole chunk (data.size() == its uncompressed size), marks it
  // present and queues its claim. A failed write leaves it absent.
  [[nodiscard]] Result<void> store(std::uint32_t blob, std::uint32_t slot, Bytes data);
  // The cached data is bad: absent again, and a tombstone in the record.
  void forget(std::uint32_t blob, std::uint32_t slot);
  // Commits now (what the flusher would do next).
  void commit();
  // Stops the flusher, commits everything pending, syncs the records. Later
  // stores are not recorded. Idempotent.
  void close();

  // Present chunks of a blob (tests and stats).
  std::uint64_t present_count(std::uint32_t blob) const;
  // The flusher's passes so far: it wakes only once something was stored.
  std::uint64_t flusher_passes() const noexcept { return m_passes.load(std::memory_order_relaxed); }

  struct Blob; // one blob's files and state (chunk_cache.cpp)

private:
  ChunkCache(LogSink log, ChunkCacheOptions options);
  void flusher();
  void commit_blob(Blob& b);

  LogSink m_log;
  ChunkCacheOptions m_options;
  std::vector<std::unique_ptr<Blob>> m_blobs; // null: uncached blob
  std::mutex m_mutex;                         // guards the fields below
  std::condition_variable m_cv;
  std::size_t m_pending = 0;
  bool m_stop = false;
  bool m_closed = false;
  std::atomic<std::uint64_t> m_passes{0};
  std::thread m_flusher;
};

} // namespace rafs::runtime
