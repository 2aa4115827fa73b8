#include "runtime/prefetch.hpp"

#include <algorithm>

namespace rafs::runtime {

namespace {

struct Planner {
  const v5::Bootstrap& boot;
  const std::vector<BlobLayout>& layouts;
  const ChunkCache& cache;
  std::vector<std::vector<bool>> queued; // by blob, by slot
  std::vector<bool> seen;                // inode indexes visited
  std::vector<PrefetchItem> plan;

  void add(std::uint32_t blob, std::uint32_t slot) {
    if (!queued[blob][slot]) {
      queued[blob][slot] = true;
      plan.push_back({blob, slot});
    }
  }

  void add_file(std::uint32_t index) {
    const std::uint32_t count = boot.chunk_count(index);
    for (std::uint32_t k = 0; k < count; ++k) {
      const v5::ChunkInfo c = boot.chunk(index, k);
      if (!cache.enabled(c.blob_index)) {
        continue;
      }
      const std::int64_t slot = layouts[c.blob_index].slot_of(c.index);
      if (slot >= 0) {
        add(c.blob_index, static_cast<std::uint32_t>(slot));
      }
    }
  }

  void add_tree(std::uint32_t top) {
    std::vector<std::uint32_t> stack{top};
    while (!stack.empty()) {
      const std::uint32_t i = stack.back();
      stack.pop_back();
      if (seen[i]) {
        continue;
      }
      seen[i] = true;
      const v5::Inode& n = boot.inode(i);
      if (n.is_reg()) {
        add_file(i);
      } else if (n.is_dir()) {
        // Reversed, so the children come off the stack in order.
        for (std::uint32_t c = boot.child_end(i); c > boot.child_begin(i); --c) {
          stack.push_back(c - 1);
        }
      }
    }
  }

  void add_all() {
    for (std::uint32_t b = 0; b < layouts.size(); ++b) {
      if (!cache.enabled(b)) {
        continue;
      }
      for (std::uint32_t s : layouts[b].by_offset) {
        add(b, s);
      }
    }
  }
};

} // namespace

std::vector<PrefetchItem> plan_prefetch(const v5::Bootstrap& boot,
                                        const std::vector<BlobLayout>& layouts,
                                        const ChunkCache& cache,
                                        std::span<const std::uint32_t> indexes, bool all) {
  Planner p{boot, layouts, cache, {}, std::vector<bool>(boot.inode_count() + std::size_t{1}), {}};
  for (const BlobLayout& layout : layouts) {
    p.queued.emplace_back(layout.slots.size());
  }
  const bool only_root = indexes.size() == 1 && indexes[0] == v5::Bootstrap::k_root;
  if (!only_root) {
    for (std::uint32_t i : indexes) {
      if (i >= 1 && i <= boot.inode_count()) {
        p.add_tree(i);
      }
    }
  }
  if (all || only_root) {
    p.add_all();
  }
  return std::move(p.plan);
}

namespace {

std::uint64_t effective_rate(const PrefetchConfig& config, std::uint32_t chunk_size) {
  if (config.bandwidth_rate == 0) {
    return 0;
  }
  return std::max<std::uint64_t>(config.bandwidth_rate, chunk_size);
}

} // namespace

Prefetcher::Prefetcher(const v5::Bootstrap& boot, const std::vector<BlobLayout>& layouts,
                       Fetcher& fetcher, ChunkCache* cache, BlobBackend& backend,
                       const PrefetchConfig& config)
    : m_boot(boot), m_layouts(layouts), m_fetcher(fetcher), m_cache(cache), m_backend(backend),
      m_config(config), m_merge_limit(std::min(config.merging_size, Fetcher::k_max_merge)),
      m_limiter(effective_rate(config, boot.chunk_size()),
                std::max<std::uint64_t>(boot.chunk_size(),
                                        effective_rate(config, boot.chunk_size()) / 10)) {}

Prefetcher::~Prefetcher() { stop(); }

void Prefetcher::start(std::vector<std::uint32_t> indexes) {
  std::lock_guard lock(m_start_mutex);
  if (m_started || m_stop.load()) {
    return;
  }
  m_started = true;
  m_done.store(false, std::memory_order_release);
  m_coordinator =
      std::thread([this, list = std::move(indexes)]() mutable { coordinate(std::move(list)); });
}

void Prefetcher::stop() {
  m_stop.store(true);
  m_limiter.interrupt();
  std::lock_guard lock(m_start_mutex);
  if (m_coordinator.joinable()) {
    m_coordinator.join();
  }
}

void Prefetcher::coordinate(std::vector<std::uint32_t> indexes) {
  try {
    for (std::uint32_t b = 0; b < m_boot.blobs().size() && !m_stop.load(); ++b) {
      const v5::BlobInfo& blob = m_boot.blobs()[b];
      if (blob.readahead_size > 0) {
        m_backend.readahead(b, blob.readahead_offset, blob.readahead_size);
      }
    }
    if (m_cache != nullptr && !m_stop.load()) {
      auto plan = plan_prefetch(m_boot, m_layouts, *m_cache, indexes, m_config.prefetch_all);
      {
        std::lock_guard lock(m_plan_mutex);
        m_plan = std::move(plan);
      }
      const unsigned n = std::max(1U, m_config.threads_count);
      std::vector<std::thread> workers;
      for (unsigned i = 1; i < n && !m_stop.load(); ++i) {
        workers.emplace_back([this] { work(); });
      }
      work();
      for (auto& t : workers) {
        t.join();
      }
    }
  } catch (...) {
    // Prefetch is an optimisation: on failure (memory) reads still fetch.
  }
  m_done.store(true, std::memory_order_release);
}

std::vector<PrefetchItem> Prefetcher::next_run(std::uint64_t& bytes) {
  std::vector<PrefetchItem> run;
  bytes = 0;
  std::lock_guard lock(m_plan_mutex);
  while (m_cursor < m_plan.size() &&
         m_cache->present(m_plan[m_cursor].blob, m_plan[m_cursor].slot)) {
    ++m_cursor;
  }
  while (m_cursor < m_plan.size()) {
    const PrefetchItem item = m_plan[m_cursor];
    const ChunkSlot& s = m_layouts[item.blob].slots[item.slot];
    if (!run.empty()) {
      const ChunkSlot& prev = m_layouts[run.back().blob].slots[run.back().slot];
      if (item.blob != run.back().blob ||
          s.compressed_offset != prev.compressed_offset + prev.compressed_size ||
          bytes + s.compressed_size > m_merge_limit) {
        break;
      }
    }
    run.push_back(item);
    bytes += s.compressed_size;
    ++m_cursor;
  }
  return run;
}

void Prefetcher::work() {
  try {
    while (!m_stop.load()) {
      std::uint64_t bytes = 0;
      std::vector<PrefetchItem> run = next_run(bytes);
      if (run.empty() || !m_limiter.acquire(bytes)) {
        return;
      }
      std::vector<std::uint32_t> slots;
      slots.reserve(run.size());
      for (const PrefetchItem& item : run) {
        slots.push_back(item.slot);
      }
      m_fetcher.prefetch(run.front().blob, slots, m_merge_limit);
    }
  } catch (...) {
    // As in coordinate(): give up prefetching, never the process.
  }
}

} // namespace rafs::runtime
