#include "format/chunk_info.hpp"

#include "format/layout.hpp"

namespace rafs::v5 {

bool ChunkInfo::compressed() const noexcept { return (flags & k_chunk_compressed) != 0; }

ChunkInfo decode(const ChunkRecord& r) noexcept {
  ChunkInfo c;
  c.block_id = r.block_id;
  c.blob_index = r.blob_index.get();
  c.flags = r.flags.get();
  c.compressed_size = r.compressed_size.get();
  c.uncompressed_size = r.uncompressed_size.get();
  c.compressed_offset = r.compressed_offset.get();
  c.uncompressed_offset = r.uncompressed_offset.get();
  c.file_offset = r.file_offset.get();
  c.index = r.index.get();
  c.crc32 = r.crc32.get();
  return c;
}

ChunkRecord encode(const ChunkInfo& c) noexcept {
  ChunkRecord r{};
  r.block_id = c.block_id;
  r.blob_index = c.blob_index;
  r.flags = c.flags;
  r.compressed_size = c.compressed_size;
  r.uncompressed_size = c.uncompressed_size;
  r.compressed_offset = c.compressed_offset;
  r.uncompressed_offset = c.uncompressed_offset;
  r.file_offset = c.file_offset;
  r.index = c.index;
  r.crc32 = c.crc32;
  return r;
}

} // namespace rafs::v5
