#include "builder/blob_writer.hpp"

#include <cstring>

#include "format/codec.hpp"
#include "format/layout.hpp"

namespace rafs::builder {

namespace {
constexpr std::size_t k_batch_bytes = 1 << 20;
constexpr std::size_t k_batch_jobs = 1024;
} // namespace

BlobWriter::BlobWriter(const BuildOptions& options, BlobSink& sink, const ChunkIndex* known,
                       std::filesystem::path scratch_dir)
    : m_options(options), m_sink(sink), m_known(known), m_scratch_dir(std::move(scratch_dir)),
      m_max_in_flight(2 * std::size_t{std::max(1u, options.threads)} + 4) {
  for (unsigned i = 0; i < std::max(1u, options.threads); ++i) {
    m_workers.emplace_back([this] { work(); });
  }
  m_writer = std::thread([this] { write_loop(); });
}

BlobWriter::~BlobWriter() {
  {
    std::lock_guard lock(m_mutex);
    m_closing = true;
    // Abandoned mid-way: stop the threads instead of finishing the work.
    m_failed = m_failed || m_batches_written != m_batches_sent || !m_open.jobs.empty();
  }
  m_job_ready.notify_all();
  m_done_ready.notify_all();
  m_space.notify_all();
  for (auto& t : m_workers) {
    if (t.joinable()) {
      t.join();
    }
  }
  if (m_writer.joinable()) {
    m_writer.join();
  }
}

void BlobWriter::fail(Error e) {
  std::lock_guard lock(m_mutex);
  if (!m_failed) {
    m_failed = true;
    m_error = std::move(e);
  }
  m_job_ready.notify_all();
  m_done_ready.notify_all();
  m_space.notify_all();
}

Result<std::uint32_t> BlobWriter::submit(ByteBuffer data, bool prefetch) {
  return enqueue(Job{0, prefetch, {std::move(data), {}, {}}});
}

Result<std::uint32_t> BlobWriter::submit_view(Bytes data, std::shared_ptr<const void> owner,
                                              bool prefetch) {
  return enqueue(Job{0, prefetch, {{}, data, std::move(owner)}});
}

Result<std::uint32_t> BlobWriter::submit_zero(std::uint32_t size, bool prefetch) {
  return enqueue(Job{size, prefetch, {}});
}

Result<std::uint32_t> BlobWriter::enqueue(Job job) {
  const std::size_t bytes = job.data.bytes().size();
  if (!m_open.jobs.empty() &&
      (m_open.bytes + bytes > k_batch_bytes || m_open.jobs.size() >= k_batch_jobs)) {
    RAFS_TRY(dispatch());
  }
  m_open.jobs.push_back(std::move(job));
  m_open.bytes += bytes;
  m_stats.chunks_submitted += 1;
  return m_next_submit++;
}

// Hands the open batch to the workers, waiting while too many are in flight.
Result<void> BlobWriter::dispatch() {
  std::unique_lock lock(m_mutex);
  m_space.wait(lock, [&] { return m_failed || m_batches_sent - m_batches_written < m_max_in_flight; });
  if (m_failed) {
    return m_error;
  }
  m_open.seq = m_batches_sent++;
  m_queue.push_back(std::move(m_open));
  m_open = Batch{};
  m_job_ready.notify_one();
  return {};
}

void BlobWriter::work() {
  ChunkCompressor compressor(m_options.compressor, m_options.compression_level);
  std::map<std::uint32_t, Done> zero_chunks; // holes: hashed and compressed once per size
  std::vector<std::size_t> unhashed;          // of the batch's jobs, and their inputs
  std::vector<Bytes> inputs;
  std::vector<Digest> digests;
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(m_mutex);
      m_job_ready.wait(lock, [&] { return m_failed || m_closing || !m_queue.empty(); });
      if (m_failed || m_queue.empty()) {
        return;
      }
      batch = std::move(m_queue.front());
      m_queue.pop_front();
    }
    std::vector<Done> results(batch.jobs.size());
    // Hashed after the whole batch is compressed: the codec's sequential
    // pass brings each input into the cache (BLAKE3 reading from memory
    // stalled), and BLAKE3 then hashes the batch's small chunks side by
    // side (digest_many), where one at a time most SIMD lanes sat idle.
    unhashed.clear();
    inputs.clear();
    for (std::size_t k = 0; k < batch.jobs.size(); ++k) {
      Job& job = batch.jobs[k];
      Done& done = results[k];
      const bool hole = job.zero_size > 0;
      const auto size = hole ? job.zero_size : static_cast<std::uint32_t>(job.data.bytes().size());
      auto cached = hole ? zero_chunks.find(size) : zero_chunks.end();
      if (cached != zero_chunks.end()) {
        done = cached->second;
      } else {
        if (hole) {
          job.data.own.assign(size, 0); // first hole of this size for this worker
        }
        const Bytes input = job.data.bytes();
        done.size = size;
        auto room = compressor.bound(input.size());
        if (!room) {
          fail(room.error());
          return;
        }
        done.payload.own.resize(*room); // not zeroed: ByteBuffer
        auto compressed = compressor.compress_into(input, done.payload.own);
        if (!compressed) {
          fail(compressed.error());
          return;
        }
        if (hole) {
          done.digest = digest_of(m_options.digester, input); // cached below with it
        } else {
          unhashed.push_back(k);
          inputs.push_back(input); // the bytes stay put if the job's buffer moves to done
        }
        done.compressed = *compressed > 0;
        if (done.compressed) {
          done.payload.own.resize(*compressed);
        } else {
          done.payload = std::move(job.data);
        }
        if (hole) {
          zero_chunks.emplace(size, done);
        }
      }
      done.prefetch = job.prefetch;
    }
    digests.resize(inputs.size());
    digest_many(m_options.digester, inputs, digests);
    for (std::size_t i = 0; i < unhashed.size(); ++i) {
      results[unhashed[i]].digest = digests[i];
    }
    {
      std::lock_guard lock(m_mutex);
      m_done.emplace(batch.seq, std::move(results));
    }
    m_done_ready.notify_one(); // only the writer waits for it
  }
}

void BlobWriter::write_loop() {
  for (;;) {
    std::vector<Done> batch;
    {
      std::unique_lock lock(m_mutex);
      m_done_ready.wait(lock, [&] {
        return m_failed || m_done.count(m_batches_written) != 0 ||
               (m_closing && m_batches_written == m_batches_sent);
      });
      if (m_failed || m_done.count(m_batches_written) == 0) {
        return;
      }
      batch = std::move(m_done.extract(m_batches_written).mapped());
    }
    for (Done& done : batch) {
      if (auto r = store(done); !r) {
        fail(r.error());
        return;
      }
      done = Done{}; // frees the payload now; may unmap a window of the input
    }
    {
      std::lock_guard lock(m_mutex);
      ++m_batches_written;
    }
    m_space.notify_all();
  }
}

Result<void> BlobWriter::store(Done& done) {
  const ChunkKey key{done.digest, done.size};
  const Bytes payload = done.payload.bytes();
  Slot record;
  bool hit = true;
  auto region = m_region_ids.find(key);
  auto local = done.prefetch ? m_stored.end() : m_stored.find(key);
  const v5::ChunkInfo* other =
      m_known == nullptr ? nullptr : m_known->find(key, /*region_only=*/done.prefetch);
  if (region != m_region_ids.end()) {
    record.place = Place::region;
    record.region_id = region->second;
  } else if (local != m_stored.end()) {
    record.info = local->second;
  } else if (other != nullptr) {
    record.info = *other;
    record.place = Place::external;
    m_stats.external_hits += 1;
  } else {
    hit = false;
    v5::ChunkInfo info;
    info.block_id = done.digest;
    info.flags = done.compressed ? v5::k_chunk_compressed : 0;
    info.compressed_size = static_cast<std::uint32_t>(payload.size());
    info.uncompressed_size = done.size;
    if (done.prefetch) { // waits in the scratch file for close()
      if (!m_scratch) {
        RAFS_TRY_ASSIGN(ScratchFile f, ScratchFile::create(m_scratch_dir));
        m_scratch.emplace(std::move(f));
      }
      RAFS_TRY_ASSIGN(info.compressed_offset, m_scratch->append(payload));
      record.place = Place::region;
      record.region_id = static_cast<std::uint32_t>(m_region.size());
      m_region.push_back(RegionChunk{info, false});
      m_region_ids.emplace(key, record.region_id);
    } else {
      m_blob_hash.update(payload); // first: the sink's copy then reads cached bytes
      RAFS_TRY(m_sink.write(payload));
      info.compressed_offset = m_stats.compressed_size;
      info.uncompressed_offset = m_stats.uncompressed_size;
      info.index = static_cast<std::uint32_t>(m_stats.chunks_stored);
      m_stats.chunks_stored += 1;
      m_stats.compressed_size += payload.size();
      m_stats.uncompressed_size += done.size;
      m_stored.emplace(key, info);
      record.info = info;
    }
  }
  if (hit) {
    m_stats.dedup_hits += 1;
    m_stats.dedup_bytes += done.size;
  }
  m_slots.push_back(record); // slots arrive in order: this is slot m_slots.size() - 1
  return {};
}

Result<void> BlobWriter::finish() {
  if (!m_open.jobs.empty()) {
    RAFS_TRY(dispatch());
  }
  {
    std::unique_lock lock(m_mutex);
    m_closing = true;
    m_job_ready.notify_all();
    m_done_ready.notify_all();
    m_space.wait(lock, [&] { return m_failed || m_batches_written == m_batches_sent; });
    if (m_failed) {
      return m_error;
    }
  }
  return {};
}

Result<void> BlobWriter::close(const std::vector<std::uint32_t>& order, std::size_t listed) {
  m_region_offset = m_stats.compressed_size;
  ByteBuffer payload; // read back, then written: never needs zeroing
  std::unordered_map<std::uint64_t, std::uint32_t> copied; // main offset -> region id
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::uint32_t slot = order[k];
    if (k < listed && m_slots[slot].place == Place::main) {
      const v5::ChunkInfo main = m_slots[slot].info;
      auto [it, fresh] = copied.emplace(main.compressed_offset, 0);
      if (fresh) {
        payload.resize(main.compressed_size);
        RAFS_TRY(m_sink.read_at(main.compressed_offset, payload));
        if (!m_scratch) {
          RAFS_TRY_ASSIGN(ScratchFile f, ScratchFile::create(m_scratch_dir));
          m_scratch.emplace(std::move(f));
        }
        v5::ChunkInfo copy = main;
        RAFS_TRY_ASSIGN(copy.compressed_offset, m_scratch->append(payload));
        it->second = static_cast<std::uint32_t>(m_region.size());
        m_region.push_back(RegionChunk{copy, false});
      }
      m_slots[slot].place = Place::region;
      m_slots[slot].region_id = it->second;
    }
    if (m_slots[slot].place != Place::region) {
      continue;
    }
    RegionChunk& r = m_region[m_slots[slot].region_id];
    if (r.placed) {
      continue;
    }
    payload.resize(r.info.compressed_size);
    RAFS_TRY(m_scratch->read_at(r.info.compressed_offset, payload));
    m_blob_hash.update(payload);
    RAFS_TRY(m_sink.write(payload));
    r.info.compressed_offset = m_stats.compressed_size;
    r.info.uncompressed_offset = m_stats.uncompressed_size;
    r.info.index = static_cast<std::uint32_t>(m_stats.chunks_stored);
    r.placed = true;
    m_stats.chunks_stored += 1;
    m_stats.compressed_size += payload.size();
    m_stats.uncompressed_size += r.info.uncompressed_size;
  }
  m_region_size = m_stats.compressed_size - m_region_offset;
  RAFS_TRY(m_sink.flush());
  for (Slot& s : m_slots) {
    if (s.place == Place::region) {
      s.info = m_region[s.region_id].info; // unplaced ones are referenced by no live slot
    }
  }
  m_blob_id = to_hex(m_blob_hash.finalize());
  return {};
}

StoredChunks BlobWriter::take_stored() {
  StoredChunks out;
  out.main = std::move(m_stored);
  for (const auto& r : m_region) {
    if (r.placed) {
      out.region.push_back(r.info);
    }
  }
  return out;
}

} // namespace rafs::builder
