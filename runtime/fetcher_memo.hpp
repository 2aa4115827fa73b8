// The few chunks fetched last for blobs the cache does not hold, so reads
// smaller than a chunk (FUSE asks for 128 KiB at a time, chunks are often
// 1 MiB) do not fetch and decompress the same chunk over and over. Bounded
// in bytes; the least recently used chunk goes first. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace rafs::runtime {

class ChunkMemo {
public:
  using Data = std::shared_ptr<const std::vector<std::uint8_t>>;

  explicit ChunkMemo(std::uint64_t max_bytes) : m_max(max_bytes) {}

  // The chunk under `key`, or null.
  Data find(std::uint64_t key);
  // Keeps `data` (a chunk larger than the bound is not kept).
  void put(std::uint64_t key, Data data);

private:
  std::mutex m_mutex;
  std::list<std::pair<std::uint64_t, Data>> m_lru; // most recent first
  std::uint64_t m_bytes = 0;
  const std::uint64_t m_max;
};

} // namespace rafs::runtime
