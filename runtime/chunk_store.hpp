// The data side of a mount: regular files' bytes assembled from chunks,
// fetched lazily from the blob backend through a persistent local cache,
// with in-flight deduplication and background prefetch.
//
// - Backend (BlobBackend): byte ranges of blobs; localfs now, a registry or
//   object store later.
// - Cache (when enabled): one cache file per blob holding decompressed chunk
//   data at the chunk's uncompressed_offset, plus our own record of which
//   chunks are present (never SEEK_DATA): persisted across restarts, and a
//   crash never leaves it claiming a chunk whose data is not durable.
// - A read that hits the cache is served on the caller's thread. Concurrent
//   misses on one chunk cause one backend read; the others wait for it.
//   Adjacent missing chunks of one request are fetched in one backend read,
//   up to amplify_io bytes.
// - A chunk that fails (backend error, decompression error, digest mismatch
//   with digest_validate) fails the read with Errc::corrupted/io (the FUSE
//   layer answers EIO), is logged once, and never poisons other chunks.
// - Prefetch: threads_count workers fetch the chunks of the given inodes
//   (directories: their whole subtree) into the cache, merging neighbours up
//   to merging_size, under bandwidth_rate; user reads never wait behind it
//   (only for a chunk already in flight). For localfs, readahead(2) on each
//   blob's readahead range.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "format/bootstrap.hpp"
#include "format/error.hpp"
#include "runtime/config.hpp"

namespace rafs::runtime {

struct StoreStats {
  std::uint64_t backend_reads = 0;  // backend read calls
  std::uint64_t backend_bytes = 0;
  std::uint64_t cache_hits = 0;     // chunks served from the cache
  std::uint64_t chunks_fetched = 0; // chunks brought in from the backend
  std::uint64_t bad_chunks = 0;     // chunks that failed (distinct)
  std::uint64_t prefetch_chunks = 0;
  std::uint64_t cache_flushes = 0;  // the cache flusher's passes (none while idle)
  bool prefetch_done = false;       // the prefetch workers have finished (or none ran)
  // The registry backend's HTTP traffic (zero for local blobs).
  std::uint64_t registry_requests = 0;
  std::uint64_t registry_bytes = 0; // response bodies received
  std::uint64_t registry_retries = 0;
};

class ChunkStore {
public:
  virtual ~ChunkStore() = default;
  // Up to out.size() bytes of regular file `index` (a bootstrap inode index)
  // from `offset`; fewer only at the end of the file. Thread-safe.
  [[nodiscard]] virtual Result<std::size_t> read_file(std::uint32_t index, std::uint64_t offset,
                                                      MutableBytes out) = 0;
  // Starts the prefetch workers on these inode indexes (files or
  // directories), then, with prefetch_all, everything else. Returns at once.
  virtual void start_prefetch(std::vector<std::uint32_t> indexes) = 0;
  // Stops the workers and makes the cache record durable. Idempotent.
  virtual void shutdown() = 0;
  virtual StoreStats stats() const = 0;
};

// `boot` must outlive the store.
[[nodiscard]] Result<std::unique_ptr<ChunkStore>> open_chunk_store(const v5::Bootstrap& boot,
                                                                   const RuntimeConfig& config);

} // namespace rafs::runtime
