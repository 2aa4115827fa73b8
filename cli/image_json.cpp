#include "cli/image_json.hpp"

#include <vector>

#include "cli/text.hpp"
#include "format/layout.hpp"

namespace rafs::cli {

void for_each_in_tree(const v5::Bootstrap& b, const std::function<void(std::uint32_t)>& visit) {
  std::vector<std::uint32_t> stack{v5::Bootstrap::k_root};
  while (!stack.empty()) {
    std::uint32_t i = stack.back();
    stack.pop_back();
    visit(i);
    if (b.inode(i).is_dir()) {
      for (std::uint32_t c = b.child_end(i); c > b.child_begin(i); --c) {
        stack.push_back(c - 1);
      }
    }
  }
}

namespace {

// JSON strings must be UTF-8: raw bytes that are not get a lossy string plus
// an exact hex copy under "<key>_hex".
void put_name(nlohmann::json& j, const char* key, std::string_view s) {
  j[key] = std::string(s);
  if (!is_utf8(s)) {
    j[std::string(key) + "_hex"] =
        to_hex(Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  }
}

nlohmann::json blob_json(const v5::BlobInfo& blob, std::size_t index) {
  return {{"index", index},
          {"id", blob.id},
          {"compressed_size", blob.compressed_size},
          {"uncompressed_size", blob.uncompressed_size},
          {"chunk_count", blob.chunk_count},
          {"features", v5::blob_feature_names(blob.features)},
          {"readahead_offset", blob.readahead_offset},
          {"readahead_size", blob.readahead_size}};
}

nlohmann::json chunk_json(const v5::ChunkInfo& c) {
  return {{"block_id", to_hex(c.block_id)},
          {"blob_index", c.blob_index},
          {"flags", c.flags},
          {"compressed", c.compressed()},
          {"compressed_offset", c.compressed_offset},
          {"compressed_size", c.compressed_size},
          {"uncompressed_offset", c.uncompressed_offset},
          {"uncompressed_size", c.uncompressed_size},
          {"file_offset", c.file_offset},
          {"index", c.index}};
}

nlohmann::json inode_json(const v5::Bootstrap& b, std::uint32_t i, bool with_chunks) {
  const v5::Inode& n = b.inode(i);
  nlohmann::json j;
  put_name(j, "path", b.path(i));
  j["index"] = i;
  j["ino"] = n.ino;
  j["type"] = v5::file_type_name(n.mode);
  j["mode"] = perm_string(n.mode);
  j["uid"] = n.uid;
  j["gid"] = n.gid;
  j["size"] = n.size;
  j["nlink"] = n.nlink;
  j["mtime"] = n.mtime;
  j["mtime_nsec"] = n.mtime_nsec;
  j["rdev"] = n.rdev;
  j["flags"] = n.flags;
  j["digest"] = to_hex(n.digest);
  j["chunk_count"] = b.chunk_count(i);
  if (n.is_symlink()) {
    put_name(j, "symlink", b.symlink_target(i));
  }
  if (n.ino != i) {
    j["hardlink_to"] = b.path(static_cast<std::uint32_t>(n.ino));
  }
  nlohmann::json names = nlohmann::json::array();
  for (const auto& x : b.xattrs(i)) {
    names.push_back(x.name);
  }
  j["xattrs"] = names;
  if (with_chunks) {
    nlohmann::json chunks = nlohmann::json::array();
    for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
      chunks.push_back(chunk_json(b.chunk(i, k)));
    }
    j["chunks"] = chunks;
  }
  return j;
}

} // namespace

nlohmann::json dump_json(const v5::Bootstrap& b, bool with_chunks) {
  const v5::SuperBlock& sb = b.super_block();
  nlohmann::json j;
  j["bootstrap"] = b.name();
  j["fs_version"] = "5";
  j["superblock"] = {{"magic", sb.magic},
                     {"version", sb.fs_version},
                     {"flags", sb.flags},
                     {"flag_names", v5::super_flag_names(sb.flags)},
                     {"chunk_size", sb.block_size},
                     {"compressor", compressor_name(b.compressor())},
                     {"digester", digest_algo_name(b.digester())},
                     {"inodes_count", sb.inodes_count},
                     {"inode_table_entries", sb.inode_table_entries},
                     {"prefetch_table_entries", sb.prefetch_table_entries},
                     {"extended_blob_table", b.has_ext_blob_table()}};
  nlohmann::json blobs = nlohmann::json::array();
  for (std::size_t i = 0; i < b.blobs().size(); ++i) {
    blobs.push_back(blob_json(b.blobs()[i], i));
  }
  j["blobs"] = blobs;
  nlohmann::json prefetch = nlohmann::json::array();
  for (std::uint32_t ino : b.prefetch_table()) {
    nlohmann::json p{{"ino", ino}};
    put_name(p, "path", b.path(ino));
    prefetch.push_back(p);
  }
  j["prefetch"] = prefetch;
  nlohmann::json inodes = nlohmann::json::array();
  for_each_in_tree(b, [&](std::uint32_t i) { inodes.push_back(inode_json(b, i, with_chunks)); });
  j["inodes"] = inodes;
  return j;
}

} // namespace rafs::cli
