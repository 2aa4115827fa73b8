#include "format/bootstrap_writer.hpp"

#include <cstring>

#include "format/layout.hpp"
#include "format/superblock.hpp"

namespace rafs::v5 {

namespace {

// The bytes of one inode's record: inode, name, target, xattrs, chunks.
std::uint64_t record_size(const InodeSpec& spec) {
  const std::uint64_t xattr_bytes = spec.xattrs.empty() ? 0 : 8 + align8(xattr_total(spec.xattrs));
  return sizeof(InodeRecord) + align8(spec.name.size()) + align8(spec.symlink.size()) + xattr_bytes +
         spec.chunks.size() * sizeof(ChunkRecord);
}

std::uint8_t* put(std::uint8_t* p, const void* data, std::size_t n) {
  if (n != 0) {
    std::memcpy(p, data, n);
  }
  return p + n;
}

// Writes the record at `p` (record_size(spec) zeroed bytes); returns its end.
std::uint8_t* encode_record(const InodeSpec& spec, std::uint8_t* p) {
  Inode n = spec.inode;
  n.name_size = static_cast<std::uint16_t>(spec.name.size());
  n.symlink_size = static_cast<std::uint16_t>(spec.symlink.size());
  n.flags = spec.xattrs.empty() ? (n.flags & ~std::uint64_t{k_inode_xattr})
                                : (n.flags | k_inode_xattr);
  const InodeRecord r = encode(n);
  p = put(p, &r, sizeof r);
  p = put(p, spec.name.data(), spec.name.size()) + (align8(spec.name.size()) - spec.name.size());
  p = put(p, spec.symlink.data(), spec.symlink.size()) +
      (align8(spec.symlink.size()) - spec.symlink.size());
  if (!spec.xattrs.empty()) {
    const std::vector<std::uint8_t> x = encode_xattrs(spec.xattrs);
    p = put(p, x.data(), x.size());
  }
  for (const ChunkInfo& c : spec.chunks) {
    const ChunkRecord cr = encode(c);
    p = put(p, &cr, sizeof cr);
  }
  return p;
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

  // Sized once and filled in place: a bootstrap of 100,000 files is ~23 MB.
  std::uint64_t total = records_at;
  for (const InodeSpec& spec_inode : spec.inodes) {
    total += record_size(spec_inode);
  }
  std::vector<std::uint8_t> out(total, 0); // the padding stays zero
  SuperBlockRecord sbr = encode(sb);
  store_record(out.data(), sbr);

  std::uint8_t* slot = out.data() + sb.inode_table_offset;
  std::uint8_t* record = out.data() + records_at;
  for (const InodeSpec& spec_inode : spec.inodes) {
    store_le<std::uint32_t>(slot, static_cast<std::uint32_t>((record - out.data()) >> 3));
    slot += 4;
    record = encode_record(spec_inode, record);
  }
  std::uint8_t* p = out.data() + sb.prefetch_table_offset;
  for (std::uint32_t ino : spec.prefetch) {
    store_le<std::uint32_t>(p, ino);
    p += 4;
  }
  p = put(out.data() + sb.blob_table_offset, blob_table.data(), blob_table.size());
  put(p, ext_table.data(), ext_table.size());
  return out;
}

} // namespace rafs::v5
