#include "builder/build.hpp"

#include <algorithm>
#include <cstring>

#include "builder/bootstrap_builder.hpp"
#include "builder/file_tree.hpp"
#include "format/bootstrap_writer.hpp"
#include "format/file.hpp"
#include "format/layout.hpp"

namespace rafs::builder {

namespace {

class FileSink final : public BlobSink {
public:
  explicit FileSink(AtomicFile& f) : m_file(f) {}
  Result<void> write(Bytes data) override { return m_file.write(data); }

private:
  AtomicFile& m_file;
};

// Cuts a file's blocks into chunk-size chunks and submits them in order.
// Chunks no block touches are holes: all zeros, not hashed again.
Result<void> chunk_file(DataReader& reader, FileData& data, std::uint32_t chunk_size,
                        BlobWriter& writer, const std::string& path) {
  const std::uint8_t* block = nullptr;
  std::size_t block_len = 0;
  std::uint64_t block_off = 0;
  RAFS_TRY_ASSIGN(bool have, reader.next_block(block, block_len, block_off));
  for (std::uint64_t start = 0; start < data.size; start += chunk_size) {
    const std::uint64_t end = std::min<std::uint64_t>(data.size, start + chunk_size);
    std::vector<std::uint8_t> chunk; // allocated when a block touches it
    auto ensure_chunk = [&] {
      if (chunk.empty()) {
        chunk.assign(end - start, 0);
      }
    };
    while (have) {
      if (block_len == 0 || block_off + block_len <= start) {
        RAFS_TRY_ASSIGN(have, reader.next_block(block, block_len, block_off));
        continue;
      }
      if (block_off + block_len > data.size) {
        return make_error(Errc::corrupted, path + ": data beyond the declared size");
      }
      if (block_off >= end) {
        break;
      }
      const std::uint64_t from = std::max(start, block_off);
      const std::uint64_t to = std::min(end, block_off + block_len);
      ensure_chunk();
      std::memcpy(chunk.data() + (from - start), block + (from - block_off), to - from);
      if (block_off + block_len > end) {
        break; // the rest of this block belongs to the next chunk
      }
      RAFS_TRY_ASSIGN(have, reader.next_block(block, block_len, block_off));
    }
    auto slot = chunk.empty() ? writer.submit_zero(static_cast<std::uint32_t>(end - start))
                              : writer.submit(std::move(chunk));
    if (!slot) {
      return std::move(slot).error();
    }
    data.chunk_slots.push_back(*slot);
  }
  while (have) { // drain: libarchive may report a final empty block
    if (block_len != 0) {
      return make_error(Errc::corrupted, path + ": data beyond the declared size");
    }
    RAFS_TRY_ASSIGN(have, reader.next_block(block, block_len, block_off));
  }
  return {};
}

Result<void> read_source(Source& source, FileTree& tree, BlobWriter& writer,
                         const BuildOptions& options, const BuildOutputs& outputs,
                         BuildResult& result) {
  SourceEntry entry;
  for (;;) {
    RAFS_TRY_ASSIGN(bool more, source.next(entry));
    if (!more) {
      return {};
    }
    result.entries += 1;
    auto inserted = tree.insert(entry);
    if (!inserted) {
      return inserted.error().with_context(source.name());
    }
    Node* node = *inserted;
    if (entry.kind == EntryKind::regular) {
      RAFS_TRY(chunk_file(source.data(), *node->data, options.chunk_size, writer,
                          source.name() + ": " + entry.path));
      result.file_bytes += entry.size;
    }
    if (outputs.progress) {
      outputs.progress(BuildProgress{source.bytes_read(), result.entries});
    }
  }
}

} // namespace

Result<BuildResult> build(Source& source, const BuildOptions& options, const BuildOutputs& outputs) {
  BuildResult result;
  const std::filesystem::path blob_target =
      !outputs.blob.empty() ? outputs.blob : outputs.blob_dir / "blob";
  RAFS_TRY_ASSIGN(AtomicFile blob_file, AtomicFile::create(blob_target));
  FileSink sink(blob_file);
  FileTree tree;
  BlobWriter writer(options, sink);
  Result<void> read = read_source(source, tree, writer, options, outputs, result);
  Result<void> written = writer.finish();
  RAFS_TRY(read);
  RAFS_TRY(written);
  result.warnings = source.take_warnings();
  result.blob_stats = writer.stats();

  BootstrapInputs in;
  in.tree = &tree;
  in.chunk = [&](std::uint32_t slot) { return writer.chunk(slot); };
  if (writer.stats().chunks_stored > 0) {
    result.blob_id = writer.blob_id();
    v5::BlobInfo blob;
    blob.id = result.blob_id;
    blob.chunk_count = static_cast<std::uint32_t>(writer.stats().chunks_stored);
    blob.features = v5::k_blob_cap_tar_toc;
    blob.compressed_size = writer.stats().compressed_size;
    blob.uncompressed_size = writer.stats().uncompressed_size;
    in.blobs.push_back(blob);
  }
  std::vector<std::uint8_t> boot = v5::encode_bootstrap(make_bootstrap(in, options));

  result.bootstrap = outputs.bootstrap;
  if (result.bootstrap.empty()) {
    Sha256 h;
    h.update(boot);
    result.bootstrap = outputs.blob_dir / to_hex(h.finalize());
  }
  RAFS_TRY_ASSIGN(AtomicFile boot_file, AtomicFile::create(result.bootstrap));
  RAFS_TRY(boot_file.write(boot));
  if (!result.blob_id.empty()) {
    result.blob = !outputs.blob.empty() ? outputs.blob : outputs.blob_dir / result.blob_id;
    RAFS_TRY(blob_file.commit_as(result.blob));
  }
  RAFS_TRY(boot_file.commit());
  return result;
}

} // namespace rafs::builder
