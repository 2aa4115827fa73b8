// The distinct chunks of each blob, by chunk index, gathered once from the
// bootstrap's chunk records: what the cache and prefetch work on.
//
// Several records may name one stored chunk (hard links, identical files);
// they must agree on everything. A blob whose records disagree, or whose
// chunks overlap in the uncompressed address space, is marked inconsistent: it is then read
// straight from the backend and never cached (a cache slot must mean one thing only).
#pragma once

#include <cstdint>
#include <vector>

#include "format/bootstrap.hpp"
#include "format/chunk_info.hpp"
#include "format/digest.hpp"

namespace rafs::runtime {

struct ChunkSlot {
  Digest block_id{};
  std::uint64_t compressed_offset = 0;
  std::uint64_t uncompressed_offset = 0;
  std::uint32_t compressed_size = 0;
  std::uint32_t uncompressed_size = 0;
  std::uint32_t flags = 0;

  bool operator==(const ChunkSlot&) const = default;
};

// Slots are numbered 0..n-1 in chunk-index order: memory follows the chunks
// the image uses, not the (untrusted) index values.
struct BlobLayout {
  bool consistent = true;
  std::vector<std::uint32_t> indexes; // chunk index of each slot, ascending
  std::vector<ChunkSlot> slots;       // parallel to `indexes`
  std::uint64_t data_size = 0;        // end of the last slot in uncompressed space
  // H(blob id, digester, every slot): names this exact chunk layout.
  Digest fingerprint{};
  // Slot numbers in compressed-offset order (the order of the blob).
  std::vector<std::uint32_t> by_offset;

  // The slot of a chunk index, or -1 when no record names it.
  std::int64_t slot_of(std::uint32_t chunk_index) const noexcept;
  // The chunk of a slot as a chunk record (file_offset 0), for the fetcher.
  v5::ChunkInfo chunk(std::uint32_t blob_index, std::uint32_t slot) const;
};

// One layout per blob-table entry. Fingerprints (only the cache needs them)
// are computed when `fingerprints` is set.
std::vector<BlobLayout> build_blob_layouts(const v5::Bootstrap& boot, bool fingerprints = true);

} // namespace rafs::runtime
