#include "runtime/fetcher.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>

#include "format/codec.hpp"
#include "format/digest.hpp"

namespace rafs::runtime {

// One chunk being fetched: its fetcher finishes it once; waiters take a
// reference and wait.
struct Fetcher::InFlight {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  Result<ChunkData> result = ChunkData{};

  void finish(const Result<ChunkData>& r) {
    {
      std::lock_guard lock(mutex);
      result = r;
      done = true;
    }
    cv.notify_all();
  }
  Result<ChunkData> wait() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return done; });
    return result;
  }
};

// A chunk this call fetches.
struct Fetcher::Owned {
  v5::ChunkInfo chunk;
  std::int64_t slot = -1;           // -1: its blob is read uncached
  std::shared_ptr<InFlight> flight; // null: fetched without dedup
  std::vector<std::size_t> parts;   // the parts of the request it fills
  bool finished = false;
};

// The chunks one call claimed. Whatever happens (an exception on the way),
// every claim is finished when this goes, so no waiter waits forever.
class Fetcher::Claims {
public:
  explicit Claims(Fetcher& f) : m_fetcher(f) {}
  ~Claims() {
    for (Owned& o : items) {
      if (!o.finished && o.flight) {
        o.flight->finish(Error{Errc::internal, "chunk fetch abandoned", 0});
        m_fetcher.release(o);
      }
    }
  }
  Claims(const Claims&) = delete;
  Claims& operator=(const Claims&) = delete;

  std::vector<Owned> items;

private:
  Fetcher& m_fetcher;
};

namespace {

std::uint64_t key_of(const v5::ChunkInfo& c) {
  return (std::uint64_t{c.blob_index} << 32) | c.index;
}

bool adjacent(const v5::ChunkInfo& a, const v5::ChunkInfo& b) {
  return a.blob_index == b.blob_index &&
         b.compressed_offset == a.compressed_offset + a.compressed_size;
}

void copy_part(const std::vector<std::uint8_t>& data, const ChunkPart& p) {
  if (!p.dst.empty()) {
    std::memcpy(p.dst.data(), data.data() + p.from, p.dst.size());
  }
}

} // namespace

Fetcher::Fetcher(const v5::Bootstrap& boot, BlobBackend& backend, ChunkCache* cache,
                 const std::vector<BlobLayout>& layouts, const RuntimeConfig& config,
                 StoreCounters& counters, LogSink log)
    : m_boot(boot), m_backend(backend), m_cache(cache), m_layouts(layouts), m_config(config),
      m_counters(counters), m_log(std::move(log)),
      m_memo(std::max<std::uint64_t>(k_memo_bytes, 2 * std::uint64_t{boot.chunk_size()})) {}

Fetcher::~Fetcher() = default;

std::int64_t Fetcher::slot_of(const v5::ChunkInfo& c) const {
  const BlobLayout& layout = m_layouts[c.blob_index];
  return layout.consistent ? layout.slot_of(c.index) : -1;
}

Error Fetcher::chunk_error(const v5::ChunkInfo& c, Errc code, const std::string& why) const {
  return Error{code,
               "blob " + m_boot.blobs()[c.blob_index].id + " chunk " + std::to_string(c.index) +
                   ": " + why,
               0};
}

void Fetcher::note_bad(const v5::ChunkInfo& c, const Error& e) {
  {
    std::lock_guard lock(m_bad_mutex);
    if (!m_bad.insert(key_of(c)).second) {
      return;
    }
  }
  m_counters.bad_chunks.fetch_add(1, std::memory_order_relaxed);
  m_log("rafs mount: " + e.message);
}

bool Fetcher::read_cached(const ChunkPart& part, std::uint32_t slot) {
  const v5::ChunkInfo& c = part.chunk;
  auto drop = [&](const std::string& why) {
    m_log("rafs mount: blob " + m_boot.blobs()[c.blob_index].id + " chunk " +
          std::to_string(c.index) + ": cache: " + why + "; fetching it again");
    m_cache->forget(c.blob_index, slot);
    return false;
  };
  if (!m_config.cache_validate) {
    auto r = m_cache->read(c.blob_index, slot, part.from, part.dst);
    return r ? true : drop(r.error().message);
  }
  std::vector<std::uint8_t> whole(c.uncompressed_size);
  if (auto r = m_cache->read(c.blob_index, slot, 0, whole); !r) {
    return drop(r.error().message);
  }
  if (digest_of(m_boot.digester(), whole) != c.block_id) {
    return drop("cached data does not match the chunk digest");
  }
  copy_part(whole, part);
  return true;
}

std::shared_ptr<Fetcher::InFlight> Fetcher::claim(const v5::ChunkInfo& c, std::uint32_t slot,
                                                  bool& mine) {
  mine = false;
  std::lock_guard lock(m_flight_mutex);
  auto it = m_flights.find(key_of(c));
  if (it != m_flights.end()) {
    return it->second;
  }
  // A fetcher stores into the cache before it releases its claim, so a
  // chunk neither claimed nor present here really is missing.
  if (m_cache != nullptr && m_cache->present(c.blob_index, slot)) {
    return nullptr;
  }
  auto flight = std::make_shared<InFlight>();
  m_flights.emplace(key_of(c), flight);
  mine = true;
  return flight;
}

void Fetcher::release(const Owned& o) {
  std::lock_guard lock(m_flight_mutex);
  auto it = m_flights.find(key_of(o.chunk));
  if (it != m_flights.end() && it->second == o.flight) {
    m_flights.erase(it);
  }
}

Result<void> Fetcher::backend_read(std::uint32_t blob, std::uint64_t offset, MutableBytes out) {
  m_counters.backend_reads.fetch_add(1, std::memory_order_relaxed);
  m_counters.backend_bytes.fetch_add(out.size(), std::memory_order_relaxed);
  return m_backend.read(blob, offset, out);
}

Result<Fetcher::ChunkData> Fetcher::decode(const v5::ChunkInfo& c, Bytes stored) const {
  static thread_local ChunkDecompressor t_decompressor;
  auto data = std::make_shared<std::vector<std::uint8_t>>(c.uncompressed_size);
  if (c.compressed()) {
    if (auto r = t_decompressor.decompress(m_boot.compressor(), stored, *data); !r) {
      return chunk_error(c, Errc::corrupted, r.error().message);
    }
  } else if (stored.size() != data->size()) {
    return chunk_error(c, Errc::corrupted, "stored size differs from the chunk size");
  } else {
    std::memcpy(data->data(), stored.data(), stored.size());
  }
  if (m_config.digest_validate) {
    Digest d = digest_of(m_boot.digester(), *data);
    if (d != c.block_id) {
      return chunk_error(c, Errc::corrupted,
                         "digest mismatch: expected " + to_hex(c.block_id) + ", found " +
                             to_hex(d));
    }
  }
  return ChunkData(std::move(data));
}

void Fetcher::fetch_run(std::span<Owned> run, const ChunkDone& done) {
  const v5::ChunkInfo& first = run.front().chunk;
  std::uint64_t total = 0;
  for (const Owned& o : run) {
    total += o.chunk.compressed_size;
  }
  std::vector<std::uint8_t> stored(total);
  if (auto r = backend_read(first.blob_index, first.compressed_offset, stored); !r) {
    if (run.size() == 1) {
      done(0, chunk_error(first, Errc::io, r.error().message));
      return;
    }
    // Find out which chunks the failure belongs to.
    std::vector<std::uint8_t>().swap(stored);
    for (std::size_t i = 0; i < run.size(); ++i) {
      fetch_run(run.subspan(i, 1), [&](std::size_t, const Result<ChunkData>& r1) { done(i, r1); });
    }
    return;
  }
  // One chunk decoded at a time: a run of well-compressed chunks may be
  // many times its compressed size.
  std::size_t pos = 0;
  for (std::size_t i = 0; i < run.size(); ++i) {
    const v5::ChunkInfo& c = run[i].chunk;
    done(i, decode(c, Bytes(stored).subspan(pos, c.compressed_size)));
    pos += c.compressed_size;
  }
}

void Fetcher::complete(Owned& o, const Result<ChunkData>& result) {
  const std::uint32_t blob = o.chunk.blob_index;
  if (result) {
    m_counters.chunks_fetched.fetch_add(1, std::memory_order_relaxed);
    if (o.slot >= 0 && (m_cache == nullptr || !m_cache->enabled(blob))) {
      m_memo.put(key_of(o.chunk), *result);
    } else if (o.slot >= 0) {
      auto stored = m_cache->store(blob, static_cast<std::uint32_t>(o.slot), **result);
      if (!stored) {
        std::unique_lock lock(m_bad_mutex);
        if (m_cache_errors.insert(blob).second) {
          lock.unlock();
          m_log("rafs mount: blob " + m_boot.blobs()[blob].id +
                ": cache write failed: " + stored.error().message);
        }
      }
    }
  } else {
    note_bad(o.chunk, result.error());
  }
  if (o.flight) {
    o.flight->finish(result);
    release(o);
  }
  o.finished = true;
}

std::size_t Fetcher::fetch_claimed(std::vector<Owned>& owned, std::uint64_t merge_limit,
                                   std::span<ChunkPart> parts, Result<void>& first_error) {
  std::size_t fetched = 0;
  std::size_t i = 0;
  while (i < owned.size()) {
    std::size_t j = i + 1;
    std::uint64_t total = owned[i].chunk.compressed_size;
    while (j < owned.size() && adjacent(owned[j - 1].chunk, owned[j].chunk) &&
           total + owned[j].chunk.compressed_size <= merge_limit) {
      total += owned[j].chunk.compressed_size;
      ++j;
    }
    fetch_run(std::span(owned).subspan(i, j - i), [&](std::size_t k, const Result<ChunkData>& r) {
      Owned& o = owned[i + k];
      complete(o, r);
      if (r) {
        ++fetched;
        for (std::size_t p : o.parts) {
          copy_part(**r, parts[p]);
        }
      } else if (first_error) {
        first_error = r.error();
      }
    });
    i = j;
  }
  return fetched;
}

Result<void> Fetcher::read(std::span<ChunkPart> parts, std::uint64_t merge_limit) {
  Claims claims(*this);
  std::unordered_map<const InFlight*, std::size_t> mine; // flight -> claims.items index
  std::vector<std::pair<std::size_t, std::shared_ptr<InFlight>>> waits;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const v5::ChunkInfo& c = parts[i].chunk;
    const std::int64_t slot = slot_of(c);
    if (slot < 0) {
      claims.items.push_back(Owned{c, -1, nullptr, {i}, false});
      continue;
    }
    const auto s = static_cast<std::uint32_t>(slot);
    if (m_cache == nullptr || !m_cache->enabled(c.blob_index)) {
      if (ChunkData data = m_memo.find(key_of(c))) {
        copy_part(*data, parts[i]);
        continue;
      }
    }
    std::shared_ptr<InFlight> flight;
    bool is_new = false;
    bool hit = false;
    // Present, claimed, or claimed by us now; a cache read that fails
    // forgets the chunk, so this settles after a few turns at most.
    for (int turn = 0; turn < 3 && !flight && !hit; ++turn) {
      if (m_cache != nullptr && m_cache->present(c.blob_index, s) && read_cached(parts[i], s)) {
        hit = true;
      } else {
        flight = claim(c, s, is_new);
      }
    }
    if (hit) {
      m_counters.cache_hits.fetch_add(1, std::memory_order_relaxed);
    } else if (!flight) {
      claims.items.push_back(Owned{c, slot, nullptr, {i}, false});
    } else if (is_new) {
      mine.emplace(flight.get(), claims.items.size());
      claims.items.push_back(Owned{c, slot, std::move(flight), {i}, false});
    } else if (auto it = mine.find(flight.get()); it != mine.end()) {
      claims.items[it->second].parts.push_back(i); // the same chunk twice in one request
    } else {
      waits.emplace_back(i, std::move(flight));
    }
  }
  Result<void> first_error;
  fetch_claimed(claims.items, merge_limit, parts, first_error);
  for (auto& [i, flight] : waits) {
    auto r = flight->wait();
    if (r) {
      copy_part(**r, parts[i]);
    } else if (first_error) {
      first_error = r.error();
    }
  }
  return first_error;
}

std::size_t Fetcher::prefetch(std::uint32_t blob, std::span<const std::uint32_t> slots,
                              std::uint64_t merge_limit) {
  if (m_cache == nullptr || !m_cache->enabled(blob)) {
    return 0;
  }
  Claims claims(*this);
  for (std::uint32_t s : slots) {
    if (m_cache->present(blob, s)) {
      continue;
    }
    v5::ChunkInfo c = m_layouts[blob].chunk(blob, s);
    bool is_new = false;
    auto flight = claim(c, s, is_new);
    if (flight && is_new) {
      claims.items.push_back(Owned{c, s, std::move(flight), {}, false});
    }
  }
  Result<void> ignored;
  const std::size_t n = fetch_claimed(claims.items, merge_limit, {}, ignored);
  m_counters.prefetch_chunks.fetch_add(n, std::memory_order_relaxed);
  return n;
}

} // namespace rafs::runtime
