#include "format/bootstrap_writer.hpp"

#include "format/layout.hpp"
#include "format/superblock.hpp"

namespace rafs::v5 {

namespace {

void append(std::vector<std::uint8_t>& out, const void* data, std::size_t n) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  out.insert(out.end(), p, p + n);
}

void pad8(std::vector<std::uint8_t>& out) { out.resize(align8(out.size()), 0); }

std::vector<std::uint8_t> encode_record(const InodeSpec& spec) {
  Inode n = spec.inode;
  n.name_size = static_cast<std::uint16_t>(spec.name.size());
  n.symlink_size = static_cast<std::uint16_t>(spec.symlink.size());
  n.flags = spec.xattrs.empty() ? (n.flags & ~std::uint64_t{k_inode_xattr})
                                : (n.flags | k_inode_xattr);
  std::vector<std::uint8_t> out;
  InodeRecord r = encode(n);
  append(out, &r, sizeof r);
  append(out, spec.name.data(), spec.name.size());
  pad8(out);
  append(out, spec.symlink.data(), spec.symlink.size());
  pad8(out);
  if (!spec.xattrs.empty()) {
    auto x = encode_xattrs(spec.xattrs);
    out.insert(out.end(), x.begin(), x.end());
  }
  for (const ChunkInfo& c : spec.chunks) {
    ChunkRecord cr = encode(c);
    append(out, &cr, sizeof cr);
  }
  return out;
}

} // namespace

std::vector<std::uint8_t> encode_bootstrap(const BootstrapSpec& spec) {
  const auto entries = static_cast<std::uint32_t>(spec.inodes.size());
  std::vector<std::uint8_t> blob_table = encode_blob_table(spec.blobs);
  std::vector<std::uint8_t> ext_table =
      spec.ext_blob_table ? encode_ext_blob_table(spec.blobs) : std::vector<std::uint8_t>{};

  SuperBlock sb;
  sb.magic = k_magic;
  sb.fs_version = k_fs_version;
  sb.sb_size = k_sb_size;
  sb.block_size = spec.chunk_size;
  sb.flags = spec.flags;
  sb.inodes_count = spec.inodes_count;
  sb.inode_table_offset = k_inode_table_offset;
  sb.inode_table_entries = entries;
  sb.prefetch_table_offset = sb.inode_table_offset + align8(std::uint64_t{entries} * 4);
  sb.prefetch_table_entries = static_cast<std::uint32_t>(spec.prefetch.size());
  sb.blob_table_offset = sb.prefetch_table_offset + align8(spec.prefetch.size() * 4);
  sb.blob_table_size = static_cast<std::uint32_t>(blob_table.size());
  sb.extended_blob_table_entries = spec.ext_blob_table ? static_cast<std::uint32_t>(spec.blobs.size()) : 0;
  sb.extended_blob_table_offset =
      spec.ext_blob_table ? sb.blob_table_offset + blob_table.size() : 0;
  const std::uint64_t records_at = sb.blob_table_offset + blob_table.size() + ext_table.size();

  std::vector<std::uint8_t> out(k_sb_size, 0);
  SuperBlockRecord sbr = encode(sb);
  store_record(out.data(), sbr);

  std::vector<std::uint8_t> records;
  std::vector<std::uint8_t> table;
  for (const InodeSpec& spec_inode : spec.inodes) {
    std::uint8_t slot[4];
    store_le<std::uint32_t>(slot, static_cast<std::uint32_t>((records_at + records.size()) >> 3));
    table.insert(table.end(), slot, slot + 4);
    auto rec = encode_record(spec_inode);
    records.insert(records.end(), rec.begin(), rec.end());
  }
  out.insert(out.end(), table.begin(), table.end());
  pad8(out);
  for (std::uint32_t ino : spec.prefetch) {
    std::uint8_t e[4];
    store_le<std::uint32_t>(e, ino);
    out.insert(out.end(), e, e + 4);
  }
  pad8(out);
  out.insert(out.end(), blob_table.begin(), blob_table.end());
  out.insert(out.end(), ext_table.begin(), ext_table.end());
  out.insert(out.end(), records.begin(), records.end());
  return out;
}

} // namespace rafs::v5
