// Chunks in, one data blob out. The stages run on their own threads:
//   caller (reader)  submit() chunks in file order; they travel in batches of
//                    up to 1 MiB (or 1024 chunks), so small files cost one
//                    thread hand-off per batch, not per chunk; it blocks when
//                    `2 * threads + 4` batches are in flight (bounded memory)
//   workers          digest and compress each chunk (one codec per worker)
//   writer           in submission order: dedup by (digest, size) against this
//                    blob and the image's other blobs (a ChunkIndex), append
//                    new payloads to the sink, hash the blob, record each chunk
// Chunks of prefetched files go to a scratch file instead; close() appends
// them to the blob as one contiguous region, in the order the caller gives
// (the prefetch list's), so the blob's readahead range can cover exactly it.
// Output depends only on the submitted chunks, never on thread timing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "builder/chunk_index.hpp"
#include "builder/options.hpp"
#include "builder/scratch_file.hpp"
#include "format/chunk_info.hpp"
#include "format/digest.hpp"
#include "format/error.hpp"

namespace rafs::builder {

// Where blob bytes go (a file, or memory in tests).
class BlobSink {
public:
  virtual ~BlobSink() = default;
  [[nodiscard]] virtual Result<void> write(Bytes data) = 0;
  // Reads back bytes written earlier (close() copies a chunk a listed file
  // shares with an earlier, unlisted one into the prefetch region).
  [[nodiscard]] virtual Result<void> read_at(std::uint64_t offset, MutableBytes out) = 0;
  // Called once by close() after the last write.
  [[nodiscard]] virtual Result<void> flush() { return {}; }
};

struct BlobStats {
  std::uint64_t chunks_submitted = 0;
  std::uint64_t chunks_stored = 0;
  std::uint64_t dedup_hits = 0;         // chunks not stored: found in this blob or another
  std::uint64_t dedup_bytes = 0;        // uncompressed bytes not stored again
  std::uint64_t external_hits = 0;      // of dedup_hits: found in another blob
  std::uint64_t uncompressed_size = 0;  // of stored chunks
  std::uint64_t compressed_size = 0;    // bytes written to the blob
};

class BlobWriter {
public:
  // `known`: chunks of the image's other blobs (may be null; must not
  // change while the writer runs). `scratch_dir`: where prefetch-region
  // chunks wait for close() (needed only when some are submitted).
  BlobWriter(const BuildOptions& options, BlobSink& sink, const ChunkIndex* known = nullptr,
             std::filesystem::path scratch_dir = {});
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Queues one chunk (at most chunk_size bytes). Returns the slot id that
  // chunk() answers for after finish(). Fails once the pipeline has failed.
  // `prefetch`: the chunk belongs to a prefetched file (prefetch region).
  [[nodiscard]] Result<std::uint32_t> submit(ByteBuffer data, bool prefetch = false);
  // Queues a chunk that is not copied: `data` stays valid while `owner` is
  // held (a window of a mapped input file), which the writer drops once the
  // chunk is written.
  [[nodiscard]] Result<std::uint32_t> submit_view(Bytes data, std::shared_ptr<const void> owner,
                                                  bool prefetch = false);
  // Queues a chunk of `size` zero bytes (a hole) without a buffer: each
  // worker hashes and compresses zeros once per size.
  [[nodiscard]] Result<std::uint32_t> submit_zero(std::uint32_t size, bool prefetch = false);
  // Waits for every chunk to be written. Call once.
  [[nodiscard]] Result<void> finish();
  // After finish(), once: appends the prefetch-region chunks that the slots
  // in `order` reference (each once, in that order; region chunks no slot
  // in `order` references are dropped), then seals the blob id. The first
  // `listed` slots belong to listed files: one of them that points into the
  // main part of this blob (its data came first under an unlisted name, e.g.
  // a hard link's first name) gets a copy of its chunk in the region.
  [[nodiscard]] Result<void> close(const std::vector<std::uint32_t>& order, std::size_t listed = 0);

  // After close(): the record of a slot (file_offset 0). blob_index is 0
  // for a chunk of this blob, or the image-wide blob number of another blob
  // when external(slot).
  const v5::ChunkInfo& chunk(std::uint32_t slot) const { return m_slots[slot].info; }
  bool external(std::uint32_t slot) const { return m_slots[slot].place == Place::external; }
  const BlobStats& stats() const noexcept { return m_stats; }
  // After close(): the compressed range of the prefetch region (size 0: none).
  std::uint64_t region_offset() const noexcept { return m_region_offset; }
  std::uint64_t region_size() const noexcept { return m_region_size; }
  // After close(): every chunk stored in this blob, moved out of the
  // writer (for the image's ChunkIndex, if another layer follows).
  StoredChunks take_stored();
  // After close(): lowercase hex sha256 of every byte written.
  const std::string& blob_id() const noexcept { return m_blob_id; }

private:
  // A chunk's bytes: its own buffer, or a view that `owner` keeps valid.
  struct ChunkBytes {
    ByteBuffer own;
    Bytes view;
    std::shared_ptr<const void> owner;
    Bytes bytes() const { return owner ? view : Bytes(own); }
  };
  struct Job {
    std::uint32_t zero_size; // > 0 for a hole (no bytes)
    bool prefetch;
    ChunkBytes data;
  };
  struct Done {
    Digest digest{};
    std::uint32_t size = 0;
    bool compressed = false;
    bool prefetch = false;
    ChunkBytes payload; // compressed into `own`, or the job's bytes stored raw
  };
  // Consecutive slots, handed between threads as one unit.
  struct Batch {
    std::uint64_t seq = 0;
    std::vector<Job> jobs;
    std::size_t bytes = 0;
  };
  enum class Place : std::uint8_t { main, region, external };
  struct Slot {
    v5::ChunkInfo info;
    Place place = Place::main;
    std::uint32_t region_id = 0; // Place::region: index into m_region
  };
  struct RegionChunk {
    v5::ChunkInfo info;           // compressed_offset: in the scratch file until placed
    bool placed = false;
  };

  Result<std::uint32_t> enqueue(Job job);
  Result<void> dispatch();
  void work();
  void write_loop();
  Result<void> store(Done& done);
  void fail(Error e);

  const BuildOptions m_options;
  BlobSink& m_sink;
  const ChunkIndex* m_known;
  const std::filesystem::path m_scratch_dir;
  const std::size_t m_max_in_flight;

  // Caller thread state.
  Batch m_open; // being filled by submit()
  std::uint32_t m_next_submit = 0;

  std::mutex m_mutex;
  std::condition_variable m_job_ready;
  std::condition_variable m_done_ready;
  std::condition_variable m_space;
  std::deque<Batch> m_queue;
  std::map<std::uint64_t, std::vector<Done>> m_done; // by batch seq
  std::uint64_t m_batches_sent = 0;
  std::uint64_t m_batches_written = 0;
  bool m_closing = false;
  bool m_failed = false;
  Error m_error;

  // Writer thread state.
  std::unordered_map<ChunkKey, v5::ChunkInfo, ChunkKeyHash> m_stored;
  std::unordered_map<ChunkKey, std::uint32_t, ChunkKeyHash> m_region_ids;
  std::vector<RegionChunk> m_region;
  std::optional<ScratchFile> m_scratch;
  std::vector<Slot> m_slots; // appended by the writer, in slot order
  std::uint64_t m_region_offset = 0;
  std::uint64_t m_region_size = 0;
  Sha256 m_blob_hash;
  BlobStats m_stats;
  std::string m_blob_id;

  std::vector<std::thread> m_workers;
  std::thread m_writer;
};

} // namespace rafs::builder
