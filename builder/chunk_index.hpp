// Chunks already stored in other blobs of the image (lower layers, a chunk
// dictionary), found by (digest, uncompressed size): a layer's writer
// references them instead of storing them again.
#pragma once

#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "format/chunk_info.hpp"
#include "format/digest.hpp"

namespace rafs::builder {

struct ChunkKey {
  Digest digest{};
  std::uint32_t size = 0;
  bool operator==(const ChunkKey&) const = default;
};

struct ChunkKeyHash {
  std::size_t operator()(const ChunkKey& k) const noexcept {
    std::uint64_t h = 0;
    std::memcpy(&h, k.digest.data(), sizeof h);
    return static_cast<std::size_t>(h ^ k.size);
  }
};

// The chunks one blob stored, as its BlobWriter kept them (blob_index not
// yet set): handed over whole when the layer ends, walked only if a later
// layer needs them in the image's ChunkIndex.
struct StoredChunks {
  std::unordered_map<ChunkKey, v5::ChunkInfo, ChunkKeyHash> main; // the blob's main part
  std::vector<v5::ChunkInfo> region;                               // its prefetch region
};

class ChunkIndex {
public:
  // `info.blob_index` is the image-wide blob number. `in_region`: the chunk
  // lies in its blob's prefetch region. The first chunk added for a key wins.
  void add(const v5::ChunkInfo& info, bool in_region) {
    const ChunkKey key{info.block_id, info.uncompressed_size};
    m_any.emplace(key, info);
    if (in_region) {
      m_region.emplace(key, info);
    }
  }
  // A stored chunk with these bytes; `region_only`: only one inside a
  // prefetch region (a prefetched file must not point outside one).
  const v5::ChunkInfo* find(const ChunkKey& key, bool region_only) const {
    const auto& map = region_only ? m_region : m_any;
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
  }
  std::size_t size() const noexcept { return m_any.size(); }
  void reserve(std::size_t n) { m_any.reserve(n); }

private:
  std::unordered_map<ChunkKey, v5::ChunkInfo, ChunkKeyHash> m_any;
  std::unordered_map<ChunkKey, v5::ChunkInfo, ChunkKeyHash> m_region;
};

} // namespace rafs::builder
