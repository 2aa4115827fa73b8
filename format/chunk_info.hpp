// The 80-byte v5 chunk record: where one chunk of a regular file lives.
#pragma once

#include <cstdint>

#include "format/bytes.hpp"
#include "format/digest.hpp"

namespace rafs::v5 {

struct ChunkRecord {
  std::array<std::uint8_t, 32> block_id;
  le32 blob_index;
  le32 flags;
  le32 compressed_size;
  le32 uncompressed_size;
  le64 compressed_offset;
  le64 uncompressed_offset;
  le64 file_offset;
  le32 index;
  le32 crc32;
};
static_assert(sizeof(ChunkRecord) == 80);
static_assert(alignof(ChunkRecord) == 1);
static_assert(std::is_trivially_copyable_v<ChunkRecord>);

struct ChunkInfo {
  Digest block_id{}; // H(uncompressed bytes)
  std::uint32_t blob_index = 0;
  std::uint32_t flags = 0;
  std::uint32_t compressed_size = 0;
  std::uint32_t uncompressed_size = 0;
  std::uint64_t compressed_offset = 0;
  std::uint64_t uncompressed_offset = 0;
  std::uint64_t file_offset = 0;
  std::uint32_t index = 0;
  std::uint32_t crc32 = 0;

  bool operator==(const ChunkInfo&) const = default;
  bool compressed() const noexcept;
};

ChunkInfo decode(const ChunkRecord& r) noexcept;
ChunkRecord encode(const ChunkInfo& c) noexcept;

} // namespace rafs::v5
