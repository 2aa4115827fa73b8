#include "builder/image_builder.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_set>
#include <utility>

#include "builder/bootstrap_builder.hpp"
#include "builder/bootstrap_tree.hpp"
#include "builder/overlay.hpp"
#include "format/bootstrap_writer.hpp"
#include "format/file.hpp"
#include "format/layout.hpp"

namespace rafs::builder {

namespace {

// Collects the writer's many small appends into few large writes.
class FileSink final : public BlobSink {
public:
  // `name`: the file named in write errors.
  FileSink(AtomicFile& f, std::string name) : m_file(f), m_name(std::move(name)) {
    m_buffer.reserve(k_capacity);
  }
  Result<void> write(Bytes data) override {
    // Large payloads (most chunks) go straight to the file: a copy into the
    // buffer would cost more than the write it saves.
    if (data.size() >= k_direct || m_buffer.size() + data.size() > k_capacity) {
      RAFS_TRY(flush());
      if (data.size() >= k_direct) {
        return named(m_file.write(data));
      }
    }
    m_buffer.insert(m_buffer.end(), data.begin(), data.end());
    return {};
  }
  Result<void> read_at(std::uint64_t offset, MutableBytes out) override {
    RAFS_TRY(flush());
    return pread_full(m_file.fd(), offset, out, m_file.temp_path().string());
  }
  Result<void> flush() override {
    if (m_buffer.empty()) {
      return {};
    }
    auto r = m_file.write(m_buffer);
    m_buffer.clear();
    return named(std::move(r));
  }

private:
  Result<void> named(Result<void> r) const {
    if (r || r.error().sys_errno == 0) {
      return r;
    }
    const int err = r.error().sys_errno;
    return Error{Errc::io, "write " + m_name + ": " + std::strerror(err), err};
  }

  // Small enough that the kernel's copy into the page cache reads bytes still
  // in the CPU's cache (with 4 MiB, a 100k-small-files layer took 15% longer).
  static constexpr std::size_t k_capacity = 256 << 10;
  static constexpr std::size_t k_direct = 256 << 10;
  AtomicFile& m_file;
  std::string m_name;
  std::vector<std::uint8_t> m_buffer;
};

// Cuts a file's blocks into chunk-size chunks and submits them in order.
// Chunks no block touches are holes: all zeros, not hashed again.
Result<void> chunk_file(DataReader& reader, FileData& data, std::uint32_t chunk_size, bool prefetch,
                        BlobWriter& writer, const std::string& path) {
  // A sparse entry may declare any size: its holes cost no input, so the
  // chunk count is capped before the loop, not by the data.
  const std::uint64_t chunks = data.size / chunk_size + (data.size % chunk_size != 0 ? 1 : 0);
  const std::uint64_t used = std::min(writer.stats().chunks_submitted, v5::k_max_chunk_records);
  if (chunks > v5::k_max_chunk_records - used) {
    return make_error(Errc::overflow, path + ": size " + std::to_string(data.size) + " needs " +
                                          std::to_string(chunks) + " chunk records, beyond the " +
                                          std::to_string(v5::k_max_chunk_records) +
                                          " a bootstrap can hold (" + std::to_string(used) +
                                          " used by the layer's earlier files)");
  }
  const std::uint8_t* block = nullptr;
  std::size_t block_len = 0;
  std::uint64_t block_off = 0;
  RAFS_TRY_ASSIGN(bool have, reader.next_block(block, block_len, block_off));
  for (std::uint64_t start = 0; start < data.size; start += chunk_size) {
    const std::uint64_t end = std::min<std::uint64_t>(data.size, start + chunk_size);
    // Filled front to back: bytes are appended as blocks arrive (no zeroing
    // first); a gap before a block (a hole inside the chunk) becomes zeros.
    // A chunk inside one block of a mapped input is not copied at all.
    ByteBuffer chunk;
    Bytes view;
    std::shared_ptr<const void> view_owner;
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
      if (view_owner || from - start < chunk.size()) {
        return make_error(Errc::corrupted, path + ": overlapping data blocks");
      }
      if (from == start && to == end && chunk.capacity() == 0) {
        view_owner = reader.block_owner();
        view = Bytes(block + (from - block_off), to - from);
      }
      if (!view_owner) {
        if (chunk.capacity() == 0) {
          chunk.reserve(end - start);
        }
        chunk.resize(from - start, 0); // zeros for a hole before this block
        // resize + memcpy: a ByteBuffer's insert() would copy byte by byte
        // through its allocator's construct().
        const std::size_t at = chunk.size();
        chunk.resize(at + (to - from));
        std::memcpy(chunk.data() + at, block + (from - block_off), to - from);
      }
      if (block_off + block_len > end) {
        break; // the rest of this block belongs to the next chunk
      }
      RAFS_TRY_ASSIGN(have, reader.next_block(block, block_len, block_off));
    }
    if (!chunk.empty()) {
      chunk.resize(end - start, 0); // zeros for a hole at the end of the chunk
    }
    auto slot = view_owner     ? writer.submit_view(view, std::move(view_owner), prefetch)
                : chunk.empty() ? writer.submit_zero(static_cast<std::uint32_t>(end - start), prefetch)
                                : writer.submit(std::move(chunk), prefetch);
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

// Regular files of a subtree in name order (iterative: trees can be deep).
template <typename N, typename F> void for_each_file(N& top, F&& f) {
  std::vector<N*> stack{&top};
  while (!stack.empty()) {
    N* n = stack.back();
    stack.pop_back();
    if (n->is_reg()) {
      f(*n->data);
    }
    for (auto it = n->children.rbegin(); it != n->children.rend(); ++it) {
      stack.push_back(it->second.get());
    }
  }
}

// Slots in the order the prefetch region is laid out: the listed paths'
// files in list order (their count in `listed`), then every other file
// (their chunks may share a region chunk with a file replaced later in the
// layer).
std::vector<std::uint32_t> region_order(const FileTree& layer, const PrefetchList& list,
                                        std::size_t& listed) {
  std::vector<std::uint32_t> order;
  std::unordered_set<const FileData*> seen;
  auto add = [&](const FileData& d) {
    if (seen.insert(&d).second) {
      order.insert(order.end(), d.chunk_slots.begin(), d.chunk_slots.end());
    }
  };
  for (const auto& path : list.paths()) {
    if (const Node* n = layer.find(path); n != nullptr) {
      for_each_file(*n, add);
    }
  }
  listed = order.size();
  for_each_file(layer.root(), add);
  return order;
}

// Slot ids -> chunk records, once per FileData (hard links share one: the
// first visit empties its slots, so later ones, and data of lower layers,
// have none left).
void resolve_chunks(FileTree& layer, const BlobWriter& writer, std::uint32_t blob_number,
                    std::uint32_t chunk_size) {
  for_each_file(layer.root(), [&](FileData& d) {
    if (d.chunk_slots.empty()) {
      return;
    }
    d.chunks.reserve(d.chunk_slots.size());
    for (std::size_t k = 0; k < d.chunk_slots.size(); ++k) {
      v5::ChunkInfo c = writer.chunk(d.chunk_slots[k]);
      if (!writer.external(d.chunk_slots[k])) {
        c.blob_index = blob_number;
      }
      c.file_offset = std::uint64_t{k} * chunk_size;
      d.chunks.push_back(c);
    }
    d.chunk_slots = {};
  });
}

Result<void> same_codecs(const v5::Bootstrap& b, const BuildOptions& o, std::string_view role) {
  if (b.digester() != o.digester) {
    return make_error(Errc::invalid_argument,
                      b.name() + ": " + std::string(role) + " uses digester " +
                          std::string(digest_algo_name(b.digester())) + ", this image uses " +
                          std::string(digest_algo_name(o.digester)));
  }
  if (b.compressor() != o.compressor) {
    return make_error(Errc::invalid_argument,
                      b.name() + ": " + std::string(role) + " uses compressor " +
                          std::string(compressor_name(b.compressor())) + ", this image uses " +
                          std::string(compressor_name(o.compressor)) +
                          " (a v5 image has one compressor)");
  }
  return {};
}

} // namespace

ImageBuilder::ImageBuilder(const BuildOptions& options, PrefetchList prefetch)
    : m_options(options), m_prefetch(std::move(prefetch)) {
  if (m_options.prefetch_policy == PrefetchPolicy::none) {
    m_prefetch = PrefetchList();
  }
}

Result<std::uint32_t> ImageBuilder::register_blob(const v5::BlobInfo& info, std::filesystem::path file,
                                                  bool from_chunk_dict) {
  const auto describe = [](const v5::BlobInfo& b) {
    return std::to_string(b.chunk_count) + " chunks, " + std::to_string(b.compressed_size) + " bytes (" +
           std::to_string(b.uncompressed_size) + " uncompressed)";
  };
  for (std::uint32_t i = 0; i < m_blobs.size(); ++i) {
    const v5::BlobInfo& seen = m_blobs[i].info;
    if (seen.id != info.id) {
      continue;
    }
    if (seen.chunk_count != info.chunk_count || seen.compressed_size != info.compressed_size ||
        seen.uncompressed_size != info.uncompressed_size) {
      return make_error(Errc::corrupted, "blob " + info.id + " is described twice differently: " +
                                             describe(seen) + ", then " + describe(info));
    }
    return i;
  }
  m_blobs.push_back(ImageBlob{info, std::move(file), from_chunk_dict});
  m_region_built.push_back(false);
  return static_cast<std::uint32_t>(m_blobs.size() - 1);
}

void ImageBuilder::index_pending_chunks() {
  StoredChunks pending = std::exchange(m_pending_known, {});
  m_known.reserve(m_known.size() + pending.main.size() + pending.region.size());
  for (auto [key, chunk] : pending.main) {
    chunk.blob_index = m_pending_blob;
    m_known.add(chunk, false);
  }
  for (v5::ChunkInfo chunk : pending.region) {
    chunk.blob_index = m_pending_blob;
    m_known.add(chunk, true);
  }
}

Result<void> ImageBuilder::add_chunk_dict(const v5::Bootstrap& dict,
                                          const std::filesystem::path& blob_dir) {
  index_pending_chunks();
  RAFS_TRY(same_codecs(dict, m_options, "the chunk dict"));
  std::vector<std::uint32_t> numbers;
  for (const auto& blob : dict.blobs()) {
    v5::BlobInfo info = blob;
    info.readahead_offset = 0;
    info.readahead_size = 0;
    auto number = register_blob(info, blob_dir / blob.id, true);
    if (!number) {
      return number.error().with_context(dict.name());
    }
    numbers.push_back(*number);
  }
  for (std::uint32_t i = 1; i <= dict.inode_count(); ++i) {
    if (!dict.inode(i).is_reg() || dict.ino_index(i) != i) {
      continue;
    }
    for (std::uint32_t k = 0; k < dict.chunk_count(i); ++k) {
      v5::ChunkInfo c = dict.chunk(i, k);
      c.blob_index = numbers[c.blob_index];
      c.file_offset = 0;
      m_known.add(c, false);
    }
  }
  return {};
}

Result<LayerReport> ImageBuilder::add_layer(Source& source, const LayerOutputs& outputs,
                                            bool apply_whiteouts) {
  index_pending_chunks();
  LayerReport report;
  const std::filesystem::path blob_target =
      !outputs.blob.empty() ? outputs.blob : outputs.blob_dir / "blob";
  RAFS_TRY_ASSIGN(AtomicFile blob_file, AtomicFile::create(blob_target));
  // The blob's final name is its digest, known only at the end: a write
  // error in a blob dir names the temporary file being written.
  FileSink sink(blob_file, !outputs.blob.empty() ? outputs.blob.string() : blob_file.temp_path().string());
  FileTree layer;
  BlobWriter writer(m_options, sink, &m_known, blob_target.parent_path());

  auto read = [&]() -> Result<void> {
    SourceEntry entry;
    for (;;) {
      RAFS_TRY_ASSIGN(bool more, source.next(entry));
      if (!more) {
        return {};
      }
      report.entries += 1;
      auto inserted = layer.insert(entry, &m_tree);
      if (!inserted) {
        return inserted.error().with_context(source.name());
      }
      if (entry.kind == EntryKind::regular) {
        const bool prefetch = m_prefetch.position_of(entry.path).has_value();
        RAFS_TRY(chunk_file(source.data(), *(*inserted)->data, m_options.chunk_size, prefetch,
                            writer, source.name() + ": " + entry.path));
        report.file_bytes += entry.size;
      }
      if (outputs.progress) {
        outputs.progress(BuildProgress{source.bytes_read(), report.entries});
      }
    }
  };
  Result<void> r = read();
  Result<void> written = writer.finish();
  RAFS_TRY(r);
  RAFS_TRY(written);
  std::size_t listed = 0;
  std::vector<std::uint32_t> order;
  if (!m_prefetch.empty()) {
    order = region_order(layer, m_prefetch, listed);
  }
  RAFS_TRY(writer.close(order, listed));
  if (outputs.defer_commit && writer.stats().chunks_stored > 0) {
    blob_file.sync_in_background(); // while the bootstrap is made
  }
  report.warnings = source.take_warnings();
  report.bytes_in = source.bytes_read();
  report.blob_stats = writer.stats();
  report.region_offset = writer.region_offset();
  report.region_size = writer.region_size();

  const auto number = static_cast<std::uint32_t>(m_blobs.size());
  resolve_chunks(layer, writer, number, m_options.chunk_size);
  if (writer.stats().chunks_stored > 0) {
    v5::BlobInfo info;
    info.id = writer.blob_id();
    info.chunk_count = static_cast<std::uint32_t>(writer.stats().chunks_stored);
    info.features = v5::k_blob_cap_tar_toc;
    info.compressed_size = writer.stats().compressed_size;
    info.uncompressed_size = writer.stats().uncompressed_size;
    if (m_options.prefetch_policy == PrefetchPolicy::blob && report.region_size > 0) {
      if (report.region_offset + report.region_size > UINT32_MAX) {
        return make_error(Errc::unsupported,
                          source.name() + ": the prefetch region ends beyond 4 GiB in its blob; "
                                          "the v5 readahead range is 32-bit (use --prefetch-policy fs)");
      }
      info.readahead_offset = static_cast<std::uint32_t>(report.region_offset);
      info.readahead_size = static_cast<std::uint32_t>(report.region_size);
    }
    report.blob_id = info.id;
    report.blob = !outputs.blob.empty() ? outputs.blob : outputs.blob_dir / info.id;
    if (outputs.defer_commit) {
      report.pending_blob.emplace(std::move(blob_file));
    } else {
      RAFS_TRY(blob_file.commit_as(report.blob));
    }
    m_blobs.push_back(ImageBlob{info, report.blob, false});
    m_region_built.push_back(true);
    m_pending_known = writer.take_stored();
    m_pending_blob = number;
  }
  overlay(m_tree, layer, apply_whiteouts ? m_options.whiteout_spec : WhiteoutSpec::none);
  return report;
}

Result<void> ImageBuilder::add_bootstrap(const v5::Bootstrap& layer) {
  RAFS_TRY(same_codecs(layer, m_options, "bootstrap"));
  if (layer.chunk_size() != m_options.chunk_size) {
    return make_error(Errc::invalid_argument,
                      layer.name() + ": chunk size " + hex_number(layer.chunk_size()) +
                          " differs from the image's " + hex_number(m_options.chunk_size));
  }
  std::vector<std::uint32_t> numbers;
  for (const auto& blob : layer.blobs()) {
    auto number = register_blob(blob, {}, false);
    if (!number) {
      return number.error().with_context(layer.name());
    }
    numbers.push_back(*number);
  }
  RAFS_TRY_ASSIGN(FileTree tree, tree_from_bootstrap(layer, numbers));
  overlay(m_tree, tree, m_options.whiteout_spec);
  return {};
}

Result<BuiltImage> ImageBuilder::finish() {
  BuiltImage image;
  BootstrapInputs in;
  in.tree = &m_tree;
  for (const auto& b : m_blobs) {
    in.blobs.push_back(b.info);
  }
  for (const auto& path : m_prefetch.paths()) {
    if (m_tree.find(path) == nullptr) {
      image.warnings.push_back("prefetch list: /" + path + " is not in the image");
    }
  }
  if (m_options.prefetch_policy == PrefetchPolicy::fs) {
    in.prefetch = m_prefetch.paths();
  }
  if (m_options.prefetch_policy == PrefetchPolicy::blob) {
    // Blobs not built here (rafs merge): the range covering the listed files' chunks.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> range(m_blobs.size(),
                                                               {UINT64_MAX, 0});
    for (const auto& path : m_prefetch.paths()) {
      if (const Node* n = m_tree.find(path); n != nullptr) {
        for_each_file(*n, [&](const FileData& d) {
          for (const auto& c : d.chunks) {
            auto& [lo, hi] = range[c.blob_index];
            lo = std::min(lo, c.compressed_offset);
            hi = std::max(hi, c.compressed_offset + c.compressed_size);
          }
        });
      }
    }
    for (std::size_t b = 0; b < m_blobs.size(); ++b) {
      auto& info = in.blobs[b];
      if (m_region_built[b] || m_blobs[b].from_chunk_dict) {
        continue;
      }
      info.readahead_offset = 0;
      info.readahead_size = 0;
      const auto [lo, hi] = range[b];
      if (lo < hi && hi <= UINT32_MAX) {
        info.readahead_offset = static_cast<std::uint32_t>(lo);
        info.readahead_size = static_cast<std::uint32_t>(hi - lo);
      }
    }
  } else {
    for (auto& info : in.blobs) {
      info.readahead_offset = 0;
      info.readahead_size = 0;
    }
  }
  BootstrapPlan plan = make_bootstrap(in, m_options);
  image.bootstrap = v5::encode_bootstrap(plan.spec);
  for (std::size_t t = 0; t < plan.blob_numbers.size(); ++t) {
    ImageBlob blob = m_blobs[plan.blob_numbers[t]];
    blob.info = plan.spec.blobs[t];
    image.blobs.push_back(std::move(blob));
  }
  return image;
}

} // namespace rafs::builder
