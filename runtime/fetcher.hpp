// Gets chunk data: from the cache when present (on the caller's thread, no
// hand-off), else from the backend, with in-flight deduplication.
//
// - A miss claims the chunk in the in-flight table (key: blob, chunk index).
//   A concurrent miss on a claimed chunk waits for that one fetch instead of
//   reading the backend again. A thread completes every chunk it claimed
//   before it waits on anyone else's, so waits never form a cycle.
// - The claimed chunks of one request that are adjacent in the blob's
//   compressed space are fetched in one backend read, up to the merge limit
//   (a read that fails is retried chunk by chunk, so one bad range spoils
//   only its own chunks).
// - A chunk is decompressed (one decompressor per thread) and, with
//   digest_validate, checked against its block_id; then stored in the cache
//   (before its claim is released, so a later miss finds it there); for a
//   blob the cache does not hold, kept in a small memo of recent chunks.
// - A chunk that fails gives "blob ID chunk N: why" (Errc::io for backend
//   failures, Errc::corrupted for bad data), is logged once and counted once
//   in bad_chunks, is never cached, and is tried again by the next read.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "format/bootstrap.hpp"
#include "runtime/blob_backend.hpp"
#include "runtime/chunk_cache.hpp"
#include "runtime/chunk_cache_layout.hpp"
#include "runtime/config.hpp"
#include "runtime/fetcher_memo.hpp"

namespace rafs::runtime {

struct StoreCounters {
  std::atomic<std::uint64_t> backend_reads{0};
  std::atomic<std::uint64_t> backend_bytes{0};
  std::atomic<std::uint64_t> cache_hits{0};
  std::atomic<std::uint64_t> chunks_fetched{0};
  std::atomic<std::uint64_t> bad_chunks{0};
  std::atomic<std::uint64_t> prefetch_chunks{0};
};

// Bytes [from, from + dst.size()) of one chunk, wanted in `dst`.
struct ChunkPart {
  v5::ChunkInfo chunk;
  std::uint64_t from = 0;
  MutableBytes dst;
};

class Fetcher {
public:
  // Largest merged backend read, whatever amplify_io or merging_size say
  // (both accept up to 256 MiB): memory stays bounded per request.
  static constexpr std::uint64_t k_max_merge = 16 << 20;
  // Recently fetched chunks kept for uncached blobs (at least two chunks).
  static constexpr std::uint64_t k_memo_bytes = 8 << 20;

  // Everything passed must outlive the fetcher; `cache` may be null.
  Fetcher(const v5::Bootstrap& boot, BlobBackend& backend, ChunkCache* cache,
          const std::vector<BlobLayout>& layouts, const RuntimeConfig& config,
          StoreCounters& counters, LogSink log);
  ~Fetcher();

  // Fills every part; misses adjacent in a blob merge up to `merge_limit`
  // bytes per backend read. Returns the first failure (the other parts are
  // still filled where they could be).
  [[nodiscard]] Result<void> read(std::span<ChunkPart> parts, std::uint64_t merge_limit);

  // Brings slots of one blob into the cache, skipping chunks present or in
  // flight; neighbours merge up to `merge_limit`. Returns how many chunks
  // it fetched. Failures are logged and counted, not returned.
  std::size_t prefetch(std::uint32_t blob, std::span<const std::uint32_t> slots,
                       std::uint64_t merge_limit);

  struct InFlight;
  struct Owned;
  using ChunkData = std::shared_ptr<const std::vector<std::uint8_t>>;

private:
  class Claims;

  std::int64_t slot_of(const v5::ChunkInfo& c) const;
  bool read_cached(const ChunkPart& part, std::uint32_t slot);
  // The chunk's in-flight entry (someone else's, or `mine` if new), or null
  // when it turned out to be in the cache.
  std::shared_ptr<InFlight> claim(const v5::ChunkInfo& c, std::uint32_t slot, bool& mine);
  // Fetches claimed chunks in runs, completes them and fills their parts;
  // returns how many succeeded.
  std::size_t fetch_claimed(std::vector<Owned>& owned, std::uint64_t merge_limit,
                            std::span<ChunkPart> parts, Result<void>& first_error);
  // One backend read for a run of adjacent chunks; done(k, result) for each
  // chunk in order, as soon as it is decoded.
  using ChunkDone = std::function<void(std::size_t, const Result<ChunkData>&)>;
  void fetch_run(std::span<Owned> run, const ChunkDone& done);
  Result<ChunkData> decode(const v5::ChunkInfo& c, Bytes stored) const;
  Result<void> backend_read(std::uint32_t blob, std::uint64_t offset, MutableBytes out);
  // Caches a good chunk, logs a bad one, then finishes and releases its claim.
  void complete(Owned& o, const Result<ChunkData>& result);
  void release(const Owned& o);
  void note_bad(const v5::ChunkInfo& c, const Error& e);
  Error chunk_error(const v5::ChunkInfo& c, Errc code, const std::string& why) const;

  const v5::Bootstrap& m_boot;
  BlobBackend& m_backend;
  ChunkCache* m_cache;
  const std::vector<BlobLayout>& m_layouts;
  const RuntimeConfig& m_config;
  StoreCounters& m_counters;
  LogSink m_log;

  std::mutex m_flight_mutex;
  std::unordered_map<std::uint64_t, std::shared_ptr<InFlight>> m_flights;
  std::mutex m_bad_mutex;
  std::unordered_set<std::uint64_t> m_bad;          // chunks already logged
  std::unordered_set<std::uint32_t> m_cache_errors; // blobs whose cache write failed (logged)
  ChunkMemo m_memo;
};

} // namespace rafs::runtime
