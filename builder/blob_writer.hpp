// Chunks in, one data blob out. The stages run on their own threads:
//   caller (reader)  submit() chunks in file order, blocking when the
//                    pipeline holds `2 * threads + 4` chunks (bounded memory)
//   workers          digest and compress each chunk (one codec per worker)
//   writer           in submission order: dedup by (digest, size), append new
//                    payloads to the sink, hash the blob, record each chunk
// Output depends only on the submitted chunks, never on thread timing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "builder/options.hpp"
#include "format/chunk_info.hpp"
#include "format/digest.hpp"
#include "format/error.hpp"

namespace rafs::builder {

// Where blob bytes go (a file, or memory in tests).
class BlobSink {
public:
  virtual ~BlobSink() = default;
  [[nodiscard]] virtual Result<void> write(Bytes data) = 0;
};

struct BlobStats {
  std::uint64_t chunks_submitted = 0;
  std::uint64_t chunks_stored = 0;
  std::uint64_t dedup_hits = 0;
  std::uint64_t dedup_bytes = 0;        // uncompressed bytes not stored again
  std::uint64_t uncompressed_size = 0;  // of stored chunks
  std::uint64_t compressed_size = 0;    // bytes written to the blob
};

class BlobWriter {
public:
  BlobWriter(const BuildOptions& options, BlobSink& sink);
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Queues one chunk (at most chunk_size bytes). Returns the slot id that
  // chunk() answers for after finish(). Fails once the pipeline has failed.
  [[nodiscard]] Result<std::uint32_t> submit(std::vector<std::uint8_t> data);
  // Queues a chunk of `size` zero bytes (a hole) without a buffer: each
  // worker hashes and compresses zeros once per size.
  [[nodiscard]] Result<std::uint32_t> submit_zero(std::uint32_t size);
  // Waits for every chunk to be written. Call once.
  [[nodiscard]] Result<void> finish();

  // After finish(): the record of a slot (blob_index 0, file_offset 0).
  const v5::ChunkInfo& chunk(std::uint32_t slot) const { return m_slots[slot]; }
  const BlobStats& stats() const noexcept { return m_stats; }
  // After finish(): lowercase hex sha256 of every byte written.
  const std::string& blob_id() const noexcept { return m_blob_id; }

private:
  struct Job {
    std::uint32_t slot;
    std::vector<std::uint8_t> data; // empty for a hole
    std::uint32_t zero_size;        // > 0 for a hole
  };
  struct Done {
    Digest digest{};
    std::uint32_t size = 0;
    bool compressed = false;
    std::vector<std::uint8_t> payload;
  };
  struct DigestKey {
    Digest digest;
    std::uint32_t size;
    bool operator==(const DigestKey&) const = default;
  };
  struct DigestKeyHash {
    std::size_t operator()(const DigestKey& k) const noexcept;
  };

  Result<std::uint32_t> enqueue(std::vector<std::uint8_t> data, std::uint32_t zero_size);
  void work();
  void write_loop();
  Result<void> store(std::uint32_t slot, Done& done);
  void fail(Error e);

  const BuildOptions m_options;
  BlobSink& m_sink;
  const std::size_t m_max_in_flight;

  std::mutex m_mutex;
  std::condition_variable m_job_ready;
  std::condition_variable m_done_ready;
  std::condition_variable m_space;
  std::deque<Job> m_jobs;
  std::map<std::uint32_t, Done> m_done;
  std::uint32_t m_next_submit = 0;
  std::uint32_t m_next_write = 0;
  bool m_closing = false;
  bool m_failed = false;
  Error m_error;

  // Writer thread state.
  std::unordered_map<DigestKey, v5::ChunkInfo, DigestKeyHash> m_stored;
  std::deque<v5::ChunkInfo> m_slots; // guarded by m_mutex while running
  Sha256 m_blob_hash;
  BlobStats m_stats;
  std::string m_blob_id;

  std::vector<std::thread> m_workers;
  std::thread m_writer;
};

} // namespace rafs::builder
