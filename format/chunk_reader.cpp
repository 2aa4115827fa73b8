#include "format/chunk_reader.hpp"

#include <algorithm>
#include <cstring>

namespace rafs::v5 {

ChunkReader::ChunkReader(const Bootstrap& image, std::filesystem::path blob_dir)
    : m_image(image), m_dir(std::move(blob_dir)), m_blobs(image.blobs().size()) {}

Result<const RandomAccessFile*> ChunkReader::blob(std::uint32_t blob_index) {
  if (blob_index >= m_blobs.size()) {
    return make_error(Errc::out_of_range, "blob index " + std::to_string(blob_index));
  }
  if (!m_blobs[blob_index]) {
    const std::string& id = m_image.blobs()[blob_index].id;
    auto f = RandomAccessFile::open(m_dir / id);
    if (!f) {
      return f.error().with_context("blob " + id);
    }
    m_blobs[blob_index] = std::make_unique<RandomAccessFile>(std::move(*f));
  }
  return m_blobs[blob_index].get();
}

Result<void> ChunkReader::read_chunk(const ChunkInfo& c, MutableBytes out, bool verify) {
  RAFS_TRY_ASSIGN(const RandomAccessFile* file, blob(c.blob_index));
  auto where = [&] {
    return file->name() + ": chunk at offset " + std::to_string(c.compressed_offset);
  };
  if (out.size() != c.uncompressed_size) {
    return make_error(Errc::internal, where() + ": output buffer size mismatch");
  }
  if (c.compressed()) {
    m_compressed.resize(c.compressed_size);
    if (auto r = file->read_at(c.compressed_offset, m_compressed); !r) {
      return r.error();
    }
    if (auto r = m_decompressor.decompress(m_image.compressor(), m_compressed, out); !r) {
      return r.error().with_context(where());
    }
  } else if (auto r = file->read_at(c.compressed_offset, out); !r) {
    return r.error();
  }
  if (verify) {
    Digest d = digest_of(m_image.digester(), out);
    if (d != c.block_id) {
      return make_error(Errc::corrupted, where() + ": digest mismatch: expected " +
                                             to_hex(c.block_id) + ", found " + to_hex(d));
    }
  }
  return {};
}

Result<void> ChunkReader::read_file(std::uint32_t index, std::uint64_t offset, MutableBytes out,
                                    bool verify) {
  std::fill(out.begin(), out.end(), 0);
  auto [first, last] = m_image.chunks_covering(index, offset, out.size());
  for (std::uint32_t k = first; k < last; ++k) {
    ChunkInfo c = m_image.chunk(index, k);
    m_chunk.resize(c.uncompressed_size);
    RAFS_TRY(read_chunk(c, m_chunk, verify));
    std::uint64_t from = std::max(offset, c.file_offset);
    std::uint64_t to = std::min(offset + out.size(), c.file_offset + c.uncompressed_size);
    if (from < to) {
      std::memcpy(out.data() + (from - offset), m_chunk.data() + (from - c.file_offset), to - from);
    }
  }
  return {};
}

} // namespace rafs::v5
