// Reads chunk data of an image from its blob files in a directory
// (`DIR/<blob id>`, as nydusd's localfs backend does): positioned read of the
// payload, decompression to exactly uncompressed_size, optional digest check.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "format/bootstrap.hpp"
#include "format/codec.hpp"
#include "format/file.hpp"

namespace rafs::v5 {

// Not thread-safe: one per thread (it owns a decompression context).
class ChunkReader {
public:
  // `image` must outlive the reader.
  ChunkReader(const Bootstrap& image, std::filesystem::path blob_dir);

  // The blob file of a blob index, opened on first use.
  [[nodiscard]] Result<const RandomAccessFile*> blob(std::uint32_t blob_index);
  // Fills `out` (exactly c.uncompressed_size bytes). With `verify`, checks the
  // data against c.block_id. Errors name the blob and the offset.
  [[nodiscard]] Result<void> read_chunk(const ChunkInfo& c, MutableBytes out, bool verify);
  // Fills `out` with file bytes of a regular file from `offset`; holes and
  // bytes past the end of the file read as zeros.
  [[nodiscard]] Result<void> read_file(std::uint32_t index, std::uint64_t offset, MutableBytes out,
                                       bool verify);

private:
  const Bootstrap& m_image;
  std::filesystem::path m_dir;
  std::vector<std::unique_ptr<RandomAccessFile>> m_blobs;
  ChunkDecompressor m_decompressor;
  std::vector<std::uint8_t> m_compressed;
  std::vector<std::uint8_t> m_chunk;
};

} // namespace rafs::v5
