#include "runtime/chunk_store.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "format/layout.hpp"
#include "runtime/backend_store.hpp"
#include "runtime/chunk_cache_layout.hpp"
#include "runtime/fetcher.hpp"
#include "runtime/prefetch.hpp"

namespace rafs::runtime {

namespace {

void log_to_stderr(const std::string& line) {
  std::string s = line + "\n";
  std::fwrite(s.data(), 1, s.size(), stderr);
}

class Store final : public ChunkStore {
public:
  Store(const v5::Bootstrap& boot, const RuntimeConfig& config,
        std::unique_ptr<BlobBackend> backend)
      : m_boot(boot), m_config(config), m_backend(std::move(backend)),
        m_layouts(build_blob_layouts(boot, config.cache_enabled)) {}
  ~Store() override { shutdown(); }
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Result<void> init(StoreOptions options) {
    LogSink log = options.log ? std::move(options.log) : LogSink(log_to_stderr);
    if (m_config.cache_enabled) {
      ChunkCacheOptions cache_options{m_config.cache_dir, options.commit_batch,
                                      options.commit_interval};
      RAFS_TRY_ASSIGN(m_cache, ChunkCache::open(m_boot, m_layouts, cache_options, log));
    }
    m_fetcher = std::make_unique<Fetcher>(m_boot, *m_backend, m_cache.get(), m_layouts, m_config,
                                          m_counters, log);
    if (m_config.prefetch.enable) {
      m_prefetcher = std::make_unique<Prefetcher>(m_boot, m_layouts, *m_fetcher, m_cache.get(),
                                                  *m_backend, m_config.prefetch);
    }
    return {};
  }

  Result<std::size_t> read_file(std::uint32_t index, std::uint64_t offset,
                                MutableBytes out) override {
    if (index < 1 || index > m_boot.inode_count() || !m_boot.inode(index).is_reg()) {
      return make_error(Errc::invalid_argument,
                        "inode index " + std::to_string(index) + " is not a regular file");
    }
    const v5::Inode& inode = m_boot.inode(index);
    if (offset >= inode.size || out.empty()) {
      return std::size_t{0};
    }
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), inode.size - offset));
    MutableBytes dst = out.first(n);
    if ((inode.flags & v5::k_inode_has_hole) != 0) {
      std::memset(dst.data(), 0, dst.size()); // bytes no chunk covers
    }
    auto [first, last] = m_boot.chunks_covering(index, offset, n);
    std::vector<ChunkPart> parts;
    parts.reserve(last - first);
    for (std::uint32_t k = first; k < last; ++k) {
      const v5::ChunkInfo c = m_boot.chunk(index, k);
      const std::uint64_t from = std::max(offset, c.file_offset);
      const std::uint64_t to = std::min(offset + n, c.file_offset + c.uncompressed_size);
      if (from < to) {
        parts.push_back(ChunkPart{c, from - c.file_offset,
                                  dst.subspan(static_cast<std::size_t>(from - offset),
                                              static_cast<std::size_t>(to - from))});
      }
    }
    RAFS_TRY(m_fetcher->read(parts, std::min(m_config.amplify_io, Fetcher::k_max_merge)));
    return n;
  }

  void start_prefetch(std::vector<std::uint32_t> indexes) override {
    std::lock_guard lock(m_mutex);
    if (m_prefetcher && !m_shut) {
      m_prefetcher->start(std::move(indexes));
    }
  }

  void shutdown() override {
    std::lock_guard lock(m_mutex);
    if (m_shut) {
      return;
    }
    m_shut = true;
    if (m_prefetcher) {
      m_prefetcher->stop();
    }
    if (m_cache) {
      m_cache->close();
    }
  }

  StoreStats stats() const override {
    StoreStats s;
    s.backend_reads = m_counters.backend_reads.load();
    s.backend_bytes = m_counters.backend_bytes.load();
    s.cache_hits = m_counters.cache_hits.load();
    s.chunks_fetched = m_counters.chunks_fetched.load();
    s.bad_chunks = m_counters.bad_chunks.load();
    s.prefetch_chunks = m_counters.prefetch_chunks.load();
    s.cache_flushes = m_cache ? m_cache->flusher_passes() : 0;
    s.prefetch_done = !m_prefetcher || m_prefetcher->done();
    if (const net::RegistryCounters* r = m_backend->registry_counters()) {
      s.registry_requests = r->requests.load();
      s.registry_bytes = r->bytes_received.load();
      s.registry_retries = r->retries.load();
    }
    return s;
  }

private:
  const v5::Bootstrap& m_boot;
  const RuntimeConfig m_config;
  std::unique_ptr<BlobBackend> m_backend;
  const std::vector<BlobLayout> m_layouts;
  StoreCounters m_counters;
  std::unique_ptr<ChunkCache> m_cache;
  std::unique_ptr<Fetcher> m_fetcher;
  std::unique_ptr<Prefetcher> m_prefetcher; // last: stopped first
  std::mutex m_mutex;                       // start_prefetch / shutdown
  bool m_shut = false;
};

} // namespace

Result<std::unique_ptr<ChunkStore>> open_chunk_store(const v5::Bootstrap& boot,
                                                     const RuntimeConfig& config,
                                                     std::unique_ptr<BlobBackend> backend,
                                                     StoreOptions options) {
  auto store = std::make_unique<Store>(boot, config, std::move(backend));
  RAFS_TRY(store->init(std::move(options)));
  return std::unique_ptr<ChunkStore>(std::move(store));
}

Result<std::unique_ptr<ChunkStore>> open_chunk_store(const v5::Bootstrap& boot,
                                                     const RuntimeConfig& config) {
  RAFS_TRY_ASSIGN(std::unique_ptr<BlobBackend> backend, open_blob_backend(boot, config));
  return open_chunk_store(boot, config, std::move(backend));
}

} // namespace rafs::runtime
