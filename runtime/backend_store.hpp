// A chunk store over any BlobBackend, with the knobs tests need (where the
// problem lines go, how often the cache commits). open_chunk_store() is
// this with the localfs backend of the config and the defaults.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "runtime/blob_backend.hpp"
#include "runtime/chunk_cache.hpp"
#include "runtime/chunk_store.hpp"

namespace rafs::runtime {

struct StoreOptions {
  LogSink log;                                    // empty: one line each to stderr
  std::size_t commit_batch = 64;                  // cache group commit: chunks...
  std::chrono::milliseconds commit_interval{100}; // ...or time, whichever first
};

// `boot` must outlive the store.
[[nodiscard]] Result<std::unique_ptr<ChunkStore>>
open_chunk_store(const v5::Bootstrap& boot, const RuntimeConfig& config,
                 std::unique_ptr<BlobBackend> backend, StoreOptions options = {});

} // namespace rafs::runtime
