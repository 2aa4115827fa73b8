#include "runtime/chunk_cache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "format/file.hpp"
#include "runtime/cache_record.hpp"

namespace rafs::runtime {

struct ChunkCache::Blob {
  const BlobLayout* layout = nullptr;
  std::string id;
  UniqueFd data_fd;
  UniqueFd record_fd;
  std::string data_name;
  std::unique_ptr<CacheRecord> record;
  std::unique_ptr<std::atomic<std::uint8_t>[]> present;

  std::mutex pending_mutex;
  std::vector<std::uint32_t> pending; // stored, not yet claimed

  std::mutex commit_mutex; // serializes record writes; guards `broken`
  bool broken = false;     // a sync or record write failed: record no more
};

namespace {

std::string file_stem(const std::string& id) {
  if (id.size() <= 200) {
    return id;
  }
  return to_hex(digest_of(DigestAlgo::blake3,
                          Bytes(reinterpret_cast<const std::uint8_t*>(id.data()), id.size())));
}

Result<UniqueFd> open_rw(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) {
    return sys_error(path.string());
  }
  return fd;
}

Result<void> pwrite_full(int fd, std::uint64_t offset, Bytes data, const std::string& name) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_error(name + ": write at offset " + std::to_string(offset + done));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

// Empties the record (synced) before the data file is cut back to a sparse
// file of the right size, then writes a new header: at no point does a
// record claim data of the old contents.
Result<void> reset(ChunkCache::Blob& b) {
  RAFS_TRY(b.record->clear());
  if (::ftruncate(b.data_fd.get(), 0) != 0 ||
      ::ftruncate(b.data_fd.get(), static_cast<off_t>(b.layout->data_size)) != 0) {
    return sys_error(b.data_name + ": truncate");
  }
  return b.record->write_header();
}

Result<std::unique_ptr<ChunkCache::Blob>> open_blob(const std::filesystem::path& dir,
                                                    const std::string& id, const BlobLayout& layout,
                                                    const LogSink& log) {
  auto b = std::make_unique<ChunkCache::Blob>();
  b->layout = &layout;
  b->id = id;
  const std::string stem = file_stem(id);
  const std::filesystem::path data_path = dir / (stem + ".rafs-data");
  const std::filesystem::path record_path = dir / (stem + ".rafs-record");
  b->data_name = data_path.string();
  RAFS_TRY_ASSIGN(b->data_fd, open_rw(data_path));
  // A filesystem without flock (some network filesystems) goes unlocked.
  if (::flock(b->data_fd.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    return make_error(Errc::io, b->data_name + ": in use by another process");
  }
  RAFS_TRY_ASSIGN(b->record_fd, open_rw(record_path));
  b->record = std::make_unique<CacheRecord>(b->record_fd.get(), record_path.string(), layout);
  RAFS_TRY_ASSIGN(LoadedRecord loaded, b->record->load());
  struct stat st {};
  if (::fstat(b->data_fd.get(), &st) != 0) {
    return sys_error(b->data_name);
  }
  const std::size_t n = layout.slots.size();
  b->present = std::make_unique<std::atomic<std::uint8_t>[]>(n);
  const bool size_ok = static_cast<std::uint64_t>(st.st_size) == layout.data_size;
  if (!loaded.header_ok || !size_ok) {
    if (loaded.problem != "new cache") {
      log("rafs mount: blob " + id +
          ": cache reset: " + (loaded.header_ok ? "data file has the wrong size" : loaded.problem));
    }
    RAFS_TRY(reset(*b));
    return b;
  }
  for (std::size_t s = 0; s < n; ++s) {
    b->present[s].store(loaded.present[s], std::memory_order_relaxed);
  }
  if (loaded.bad_entries > 0 || loaded.entries > 2 * n + 1024) {
    RAFS_TRY(b->record->rewrite(loaded.present));
  }
  return b;
}

} // namespace

ChunkCache::ChunkCache(LogSink log, ChunkCacheOptions options)
    : m_log(std::move(log)), m_options(std::move(options)) {}

Result<std::unique_ptr<ChunkCache>> ChunkCache::open(const v5::Bootstrap& boot,
                                                     const std::vector<BlobLayout>& layouts,
                                                     const ChunkCacheOptions& options,
                                                     LogSink log) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec && !std::filesystem::is_directory(options.dir)) {
    return make_error(Errc::io, "cache directory " + options.dir.string() + ": " + ec.message());
  }
  std::unique_ptr<ChunkCache> cache(new ChunkCache(std::move(log), options));
  for (std::uint32_t i = 0; i < boot.blobs().size(); ++i) {
    const BlobLayout& layout = layouts[i];
    const std::string& id = boot.blobs()[i].id;
    if (!layout.consistent) {
      cache->m_log("rafs mount: blob " + id +
                   ": chunk records disagree; the blob is read uncached");
    }
    if (!layout.consistent || layout.slots.empty()) {
      cache->m_blobs.emplace_back();
      continue;
    }
    auto blob = open_blob(options.dir, id, layout, cache->m_log);
    if (!blob) {
      cache->m_log("rafs mount: blob " + id + ": cache disabled: " + blob.error().message);
      cache->m_blobs.emplace_back();
      continue;
    }
    cache->m_blobs.push_back(std::move(*blob));
  }
  cache->m_flusher = std::thread([c = cache.get()] { c->flusher(); });
  return cache;
}

ChunkCache::~ChunkCache() { close(); }

bool ChunkCache::enabled(std::uint32_t blob) const noexcept {
  return blob < m_blobs.size() && m_blobs[blob] != nullptr;
}

bool ChunkCache::present(std::uint32_t blob, std::uint32_t slot) const noexcept {
  return enabled(blob) && m_blobs[blob]->present[slot].load(std::memory_order_acquire) != 0;
}

Result<void> ChunkCache::read(std::uint32_t blob, std::uint32_t slot, std::uint64_t from,
                              MutableBytes out) const {
  const Blob& b = *m_blobs[blob];
  const ChunkSlot& s = b.layout->slots[slot];
  return pread_full(b.data_fd.get(), s.uncompressed_offset + from, out, b.data_name);
}

Result<void> ChunkCache::store(std::uint32_t blob, std::uint32_t slot, Bytes data) {
  Blob& b = *m_blobs[blob];
  const ChunkSlot& s = b.layout->slots[slot];
  if (data.size() != s.uncompressed_size) {
    return make_error(Errc::internal, "cache store: chunk size mismatch");
  }
  RAFS_TRY(pwrite_full(b.data_fd.get(), s.uncompressed_offset, data, b.data_name));
  b.present[slot].store(1, std::memory_order_release);
  std::lock_guard lock(m_mutex);
  if (m_closed) {
    return {}; // readable now, not recorded: fetched again after a restart
  }
  {
    std::lock_guard pending_lock(b.pending_mutex);
    b.pending.push_back(slot);
  }
  // The flusher sleeps while nothing is pending: the first claim wakes it
  // (then it commits at the interval), a full batch at once.
  if (const std::size_t n = ++m_pending; n == 1 || n >= m_options.commit_batch) {
    m_cv.notify_one();
  }
  return {};
}

void ChunkCache::forget(std::uint32_t blob, std::uint32_t slot) {
  Blob& b = *m_blobs[blob];
  b.present[slot].store(0, std::memory_order_release);
  {
    std::lock_guard lock(b.pending_mutex);
    b.pending.erase(std::remove(b.pending.begin(), b.pending.end(), slot), b.pending.end());
  }
  std::lock_guard lock(b.commit_mutex);
  if (b.broken) {
    return;
  }
  // Synced at once (rare): a claim of bad data must not come back after a
  // power loss.
  const std::uint32_t one[1] = {slot};
  auto r = b.record->append(one, true);
  if (r) {
    r = b.record->sync();
  }
  if (!r) {
    b.broken = true;
    m_log("rafs mount: blob " + b.id + ": cache record: " + r.error().message +
          "; no longer recorded");
  }
}

void ChunkCache::commit_blob(Blob& b) {
  std::lock_guard commit_lock(b.commit_mutex);
  std::vector<std::uint32_t> claims;
  {
    std::lock_guard lock(b.pending_mutex);
    claims.swap(b.pending);
  }
  if (claims.empty() || b.broken) {
    return;
  }
  // The data first, durable; only then the claims that name it.
  if (::fdatasync(b.data_fd.get()) != 0) {
    b.broken = true;
    m_log("rafs mount: blob " + b.id +
          ": cache: " + sys_error(b.data_name + ": fdatasync").message + "; no longer recorded");
    return;
  }
  if (auto r = b.record->append(claims, false); !r) {
    b.broken = true;
    m_log("rafs mount: blob " + b.id + ": cache record: " + r.error().message +
          "; no longer recorded");
  }
}

void ChunkCache::commit() {
  for (auto& b : m_blobs) {
    if (b) {
      commit_blob(*b);
    }
  }
}

void ChunkCache::flusher() {
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    m_cv.wait(lock, [&] { return m_stop || m_pending > 0; }); // idle: no timer
    m_cv.wait_for(lock, m_options.commit_interval,
                  [&] { return m_stop || m_pending >= m_options.commit_batch; });
    m_pending = 0;
    m_passes.fetch_add(1, std::memory_order_relaxed);
    lock.unlock();
    commit();
    lock.lock();
  }
}

void ChunkCache::close() {
  {
    std::lock_guard lock(m_mutex);
    if (m_closed) {
      return;
    }
    m_closed = true;
    m_stop = true;
  }
  m_cv.notify_all();
  if (m_flusher.joinable()) {
    m_flusher.join();
  }
  commit();
  for (auto& b : m_blobs) {
    if (!b) {
      continue;
    }
    std::lock_guard lock(b->commit_mutex);
    if (b->broken) {
      continue;
    }
    if (auto r = b->record->sync(); !r) {
      m_log("rafs mount: blob " + b->id + ": cache record: " + r.error().message);
    }
  }
}

std::uint64_t ChunkCache::present_count(std::uint32_t blob) const {
  if (!enabled(blob)) {
    return 0;
  }
  const Blob& b = *m_blobs[blob];
  std::uint64_t n = 0;
  for (std::size_t s = 0; s < b.layout->slots.size(); ++s) {
    n += b.present[s].load(std::memory_order_relaxed);
  }
  return n;
}

} // namespace rafs::runtime
