#include "format/blob_table.hpp"

#include <algorithm>

#include "format/layout.hpp"
#include "format/utf8.hpp"

namespace rafs::v5 {

std::vector<std::uint8_t> encode_blob_table(const std::vector<BlobInfo>& blobs) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    if (i > 0) {
      out.push_back(0);
    }
    std::uint8_t head[8];
    store_le<std::uint32_t>(head, blobs[i].readahead_offset);
    store_le<std::uint32_t>(head + 4, blobs[i].readahead_size);
    out.insert(out.end(), head, head + 8);
    out.insert(out.end(), blobs[i].id.begin(), blobs[i].id.end());
  }
  out.resize(align8(out.size()), 0);
  return out;
}

std::vector<std::uint8_t> encode_ext_blob_table(const std::vector<BlobInfo>& blobs) {
  std::vector<std::uint8_t> out(blobs.size() * sizeof(ExtBlobRecord), 0);
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    ExtBlobRecord r{};
    r.chunk_count = blobs[i].chunk_count;
    r.features = blobs[i].features;
    r.uncompressed_size = blobs[i].uncompressed_size;
    r.compressed_size = blobs[i].compressed_size;
    store_record(out.data() + i * sizeof(ExtBlobRecord), r);
  }
  return out;
}


Result<std::vector<BlobInfo>> decode_blob_table(Bytes table) {
  std::vector<BlobInfo> blobs;
  std::size_t pos = 0;
  while (table.size() - pos > 8) {
    BlobInfo b;
    b.readahead_offset = load_le<std::uint32_t>(table.data() + pos);
    b.readahead_size = load_le<std::uint32_t>(table.data() + pos + 4);
    pos += 8;
    auto end = std::find(table.begin() + static_cast<std::ptrdiff_t>(pos), table.end(), 0);
    auto id_end = static_cast<std::size_t>(end - table.begin());
    b.id.assign(reinterpret_cast<const char*>(table.data() + pos), id_end - pos);
    std::string where = "blob table entry " + std::to_string(blobs.size());
    if (b.id.empty()) {
      return make_error(Errc::corrupted, where + ": empty blob id");
    }
    if (b.id.size() > k_max_blob_id) {
      return make_error(Errc::corrupted, where + ": blob id longer than 255 bytes");
    }
    if (b.id == "." || b.id == ".." || b.id.find('/') != std::string::npos) {
      // The id names a file in the blob directory: it must not escape it.
      return make_error(Errc::corrupted, where + ": blob id '" + b.id + "' is not a file name");
    }
    if (!is_valid_utf8(b.id)) {
      return make_error(Errc::corrupted, where + ": blob id is not valid UTF-8");
    }
    blobs.push_back(std::move(b));
    pos = std::min(id_end + 1, table.size());
  }
  for (std::size_t i = pos; i < table.size(); ++i) {
    if (table[i] != 0) {
      return make_error(Errc::corrupted, "blob table: non-zero padding byte at table offset " +
                                             std::to_string(i));
    }
  }
  return blobs;
}

Result<void> decode_ext_blob_table(Bytes table, std::vector<BlobInfo>& blobs) {
  if (table.size() != blobs.size() * sizeof(ExtBlobRecord)) {
    return make_error(Errc::corrupted,
                      "extended blob table: " + std::to_string(table.size() / sizeof(ExtBlobRecord)) +
                          " entries for " + std::to_string(blobs.size()) + " blobs");
  }
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    auto r = load_record<ExtBlobRecord>(table.data() + i * sizeof(ExtBlobRecord));
    blobs[i].chunk_count = r.chunk_count.get();
    blobs[i].features = r.features.get();
    blobs[i].uncompressed_size = r.uncompressed_size.get();
    blobs[i].compressed_size = r.compressed_size.get();
    if (blobs[i].uncompressed_size > k_max_bootstrap_size * 1024 * 1024) {
      // 2^51 bytes: no chunk count of a valid bootstrap can address more.
      return make_error(Errc::corrupted, "extended blob table entry " + std::to_string(i) +
                                             ": uncompressed size out of range");
    }
  }
  return {};
}

std::vector<std::string> blob_feature_names(std::uint32_t features) {
  static constexpr std::pair<std::uint32_t, const char*> k_names[] = {
      {k_blob_aligned, "aligned"},
      {k_blob_batch, "batch"},
      {k_blob_cap_tar_toc, "cap_toc"},
      {k_blob_inlined_chunk_digest, "chunk-digest"},
      {k_blob_chunk_info_v2, "chunk-v2"},
      {k_blob_inlined_fs_meta, "fs-meta"},
      {k_blob_separate, "separate"},
      {k_blob_has_tar_header, "tar-header"},
      {k_blob_has_toc, "toc"},
      {k_blob_zran, "zran"},
      {k_blob_encrypted, "encrypted"},
      {k_blob_is_chunkdict_generated, "is-chunkdict-generated"},
      {k_blob_tarfs, "tarfs"},
      {k_blob_separated_with_prefetch, "separated-with-prefetch"},
      {k_blob_external, "external"},
  };
  std::vector<std::string> out;
  for (const auto& [bit, name] : k_names) {
    if ((features & bit) != 0) {
      out.emplace_back(name);
    }
  }
  return out;
}

} // namespace rafs::v5
