// Chunk codecs: how one chunk's bytes are stored in a data blob.
//
//   none      the raw bytes
//   lz4_block one raw LZ4 block (LZ4_compress_default), no frame, no size prefix
//   gzip      one gzip member per chunk (decode only: upstream readers accept it)
//   zstd      one zstd frame per chunk, content size in the frame header
//
// Decompression is told the exact uncompressed size and never writes past it;
// any other outcome (short output, trailing input, bad stream) is an error.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "format/bytes.hpp"
#include "format/error.hpp"

namespace rafs {

// Values are ours (v5 stores a superblock flag bit per algorithm).
enum class Compressor : std::uint8_t { none = 0, lz4_block = 1, gzip = 2, zstd = 3 };

std::string_view compressor_name(Compressor c) noexcept;
std::optional<Compressor> compressor_from_name(std::string_view name) noexcept;

// Compresses chunks one at a time, reusing its codec context. Not thread-safe:
// one per worker.
class ChunkCompressor {
public:
  // level: zstd level (default 3 when 0 is given); ignored by lz4_block/none.
  ChunkCompressor(Compressor algo, int level);
  ~ChunkCompressor();
  ChunkCompressor(ChunkCompressor&&) noexcept;
  ChunkCompressor& operator=(ChunkCompressor&&) noexcept;

  Compressor algo() const noexcept { return m_algo; }
  // The output room compress_into() needs for `n` input bytes (0 for none).
  // Fails for gzip (decode only) and inputs too large for the codec.
  [[nodiscard]] Result<std::size_t> bound(std::size_t n) const;
  // Compresses `in` into `out` (at least bound(in.size()) bytes). Returns
  // the compressed length, or 0 when the result would not be smaller than
  // the input (the caller then stores the chunk raw; `out` is unspecified).
  [[nodiscard]] Result<std::size_t> compress_into(Bytes in, MutableBytes out);
  // compress_into() with `out` resized to fit; false: store raw.
  [[nodiscard]] Result<bool> compress(Bytes in, std::vector<std::uint8_t>& out);

private:
  struct Impl;
  Compressor m_algo;
  int m_level;
  std::unique_ptr<Impl> m_impl;
};

// Decompresses chunks, reusing its codec context. Not thread-safe.
class ChunkDecompressor {
public:
  ChunkDecompressor();
  ~ChunkDecompressor();
  ChunkDecompressor(ChunkDecompressor&&) noexcept;
  ChunkDecompressor& operator=(ChunkDecompressor&&) noexcept;

  // Fills exactly out.size() bytes from the compressed `in`. Fails with
  // Errc::compression when `in` is not one valid stream of exactly that size.
  [[nodiscard]] Result<void> decompress(Compressor algo, Bytes in, MutableBytes out);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace rafs
