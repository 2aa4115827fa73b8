#include "format/bootstrap.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "format/file.hpp"
#include "format/layout.hpp"

namespace rafs::v5 {

namespace {

// Raw-byte name order: memcmp of the common length, then shorter first.
bool name_less(std::string_view a, std::string_view b) noexcept {
  return a < b; // std::string_view compares as unsigned char_traits<char>::compare
}

bool valid_name(std::string_view n) noexcept {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string_view::npos &&
         n.find('\0') == std::string_view::npos;
}

} // namespace

Result<Bootstrap> Bootstrap::open(const std::filesystem::path& path) {
  auto bytes = read_whole_file_huge(path, k_max_bootstrap_size);
  if (!bytes) {
    return std::move(bytes).error();
  }
  return from_buffer(std::move(*bytes), path.string());
}

Result<Bootstrap> Bootstrap::from_bytes(std::vector<std::uint8_t> bytes, std::string name) {
  HugeBuffer copy(bytes.size());
  std::copy(bytes.begin(), bytes.end(), copy.data());
  return from_buffer(std::move(copy), std::move(name));
}

Result<Bootstrap> Bootstrap::from_buffer(HugeBuffer bytes, std::string name) {
  Bootstrap b;
  b.m_name = std::move(name);
  b.m_bytes = std::move(bytes);
  if (auto r = b.load(); !r) {
    return r.error().with_context(b.m_name);
  }
  return b;
}

Compressor Bootstrap::compressor() const noexcept { return compressor_of(m_sb.flags); }
DigestAlgo Bootstrap::digester() const noexcept { return digester_of(m_sb.flags); }

Error Bootstrap::fail(std::uint32_t index, std::string what) const {
  std::string where = "inode " + std::to_string(index);
  if (index >= 1 && index <= m_entries.size() && entry(index).offset != 0) {
    where += " at offset " + hex_number(entry(index).offset);
  }
  return make_error(Errc::corrupted, where + ": " + std::move(what));
}

Result<void> Bootstrap::load() {
  if (m_bytes.size() < k_sb_size) {
    return make_error(Errc::corrupted, "file of " + std::to_string(m_bytes.size()) +
                                          " bytes is shorter than the 8192-byte superblock");
  }
  m_sb = decode(load_record<SuperBlockRecord>(m_bytes.data()));
  Bytes all = bytes();
  RAFS_TRY(validate(m_sb, m_bytes.size(),
                    all.subspan(sizeof(SuperBlockRecord), k_sb_size - sizeof(SuperBlockRecord))));
  RAFS_TRY(load_tables());
  for (std::uint32_t i = 1; i <= inode_count(); ++i) {
    RAFS_TRY(load_inode(i));
  }
  RAFS_TRY(check_tree());
  return {};
}

Result<void> Bootstrap::load_tables() {
  Bytes all = bytes();
  auto blobs = decode_blob_table(all.subspan(m_sb.blob_table_offset, m_sb.blob_table_size));
  if (!blobs) {
    return std::move(blobs).error().with_context("blob table at offset " + hex_number(m_sb.blob_table_offset));
  }
  m_blobs = std::move(*blobs);
  if (m_sb.extended_blob_table_entries > 0) {
    auto ext = all.subspan(m_sb.extended_blob_table_offset,
                           std::uint64_t{m_sb.extended_blob_table_entries} * sizeof(ExtBlobRecord));
    if (auto r = decode_ext_blob_table(ext, m_blobs); !r) {
      return r.error().with_context("at offset " + hex_number(m_sb.extended_blob_table_offset));
    }
  }
  for (std::uint32_t i = 0; i < m_sb.prefetch_table_entries; ++i) {
    std::uint32_t ino = load_le<std::uint32_t>(m_bytes.data() + m_sb.prefetch_table_offset + 4 * i);
    if (ino == 0) {
      break; // a zero entry ends the list
    }
    if (ino > m_sb.inode_table_entries) {
      return make_error(Errc::corrupted, "prefetch table entry " + std::to_string(i) + " at offset " +
                                             hex_number(m_sb.prefetch_table_offset + 4 * i) + ": inode " +
                                             std::to_string(ino) + " does not exist");
    }
    m_prefetch.push_back(ino);
  }
  // Each inode needs a table slot and a record of at least 136 bytes: this
  // bounds the allocation below by the file size.
  std::uint64_t min_bytes = std::uint64_t{m_sb.inode_table_entries} * (4 + sizeof(InodeRecord) + 8);
  if (min_bytes > m_bytes.size()) {
    return make_error(Errc::corrupted, "superblock: " + std::to_string(m_sb.inode_table_entries) +
                                           " inodes cannot fit in " +
                                           std::to_string(m_bytes.size()) + " bytes");
  }
  m_entries.resize(m_sb.inode_table_entries);
  return {};
}

Result<void> Bootstrap::load_inode(std::uint32_t index) {
  const std::uint64_t slot_at = m_sb.inode_table_offset + 4 * std::uint64_t{index - 1};
  const std::uint32_t slot = load_le<std::uint32_t>(m_bytes.data() + slot_at);
  const std::uint64_t off = std::uint64_t{slot} << 3;
  if (slot <= (k_sb_size >> 3) || slot >= (1u << 29) || off + sizeof(InodeRecord) > m_bytes.size()) {
    return make_error(Errc::corrupted, "inode table slot " + std::to_string(index) + " at offset " +
                                          hex_number(slot_at) + ": record offset " + hex_number(off) +
                                          " is outside the file");
  }
  Entry& e = m_entries[index - 1];
  e.offset = off;
  e.inode = decode(load_record<InodeRecord>(m_bytes.data() + off));
  const Inode& n = e.inode;
  const std::uint32_t count = inode_count();

  if (!valid_file_type(n.mode)) {
    return fail(index, "mode " + hex_number(n.mode) + " has no valid file type");
  }
  if ((n.flags & ~k_inode_known_flags) != 0) {
    return fail(index, "undefined flag bits " + hex_number(n.flags & ~k_inode_known_flags));
  }
  if (n.ino == 0 || n.ino > count) {
    return fail(index, "ino " + std::to_string(n.ino) + " is outside 1.." + std::to_string(count));
  }
  if (n.nlink == 0) {
    return fail(index, "nlink is 0");
  }
  if (n.name_size == 0 || n.name_size > k_max_name_size) {
    return fail(index, "name size " + std::to_string(n.name_size) + " is outside 1..255");
  }
  if (n.is_symlink() != (n.symlink_size > 0)) {
    return fail(index, n.is_symlink() ? "symlink has an empty target"
                                      : "non-symlink has a symlink target");
  }
  if (n.symlink_size > k_max_symlink_size) {
    return fail(index, "symlink target of " + std::to_string(n.symlink_size) +
                           " bytes is longer than 4096 (PATH_MAX)");
  }
  if (index == k_root) {
    if (!n.is_dir() || n.ino != k_root || n.parent != 0) {
      return fail(index, "root is not a directory with ino 1 and parent 0");
    }
  } else {
    if (n.parent == 0) {
      return fail(index, "parent is 0 for a non-root inode");
    }
    if (!n.is_hardlink() && n.ino != index) {
      return fail(index, "ino " + std::to_string(n.ino) + " differs from its index");
    }
    if (!n.is_hardlink() && n.parent >= n.ino) {
      return fail(index, "parent " + std::to_string(n.parent) + " is not below ino " +
                             std::to_string(n.ino));
    }
  }
  if (n.is_dir() && n.child_count > 0) {
    if (n.child_index <= index || n.child_count >= count ||
        std::uint64_t{n.child_index} + n.child_count - 1 > count) {
      return fail(index, "child range " + std::to_string(n.child_index) + "+" +
                             std::to_string(n.child_count) + " is invalid");
    }
  }
  // Extent: record, name, target, xattrs, chunks all inside the file.
  std::uint64_t pos = off + sizeof(InodeRecord) + align8(n.name_size) + align8(n.symlink_size);
  if (pos > m_bytes.size()) {
    return fail(index, "name or symlink target runs past the end of the file");
  }
  if (n.has_xattr()) {
    auto size = xattr_block_size(bytes().subspan(pos));
    if (!size) {
      return fail(index, size.error().message);
    }
    auto decoded = decode_xattrs(bytes().subspan(pos, *size));
    if (!decoded) {
      return fail(index, decoded.error().message);
    }
    e.xattr_offset = pos;
    pos += *size;
  }
  e.chunk_offset = pos;
  if (n.is_reg()) {
    RAFS_TRY(check_chunks(index));
  }
  return {};
}

Result<void> Bootstrap::check_chunks(std::uint32_t index) {
  const Entry& e = entry(index);
  const Inode& n = e.inode;
  const std::uint64_t cs = m_sb.block_size;
  const std::uint64_t expected = n.size / cs + (n.size % cs != 0 ? 1 : 0);
  const bool hole = (n.flags & k_inode_has_hole) != 0;
  if (hole ? n.child_count > expected : n.child_count != expected) {
    return fail(index, std::to_string(n.child_count) + " chunk records for a file of " +
                           std::to_string(n.size) + " bytes (expected " + std::to_string(expected) +
                           ")");
  }
  if (std::uint64_t{n.child_count} * sizeof(ChunkRecord) > m_bytes.size() - e.chunk_offset) {
    return fail(index, "chunk array runs past the end of the file");
  }
  std::uint64_t prev_end = 0;
  for (std::uint32_t k = 0; k < n.child_count; ++k) {
    ChunkInfo c = chunk(index, k);
    auto where = [k] { return "chunk " + std::to_string(k) + ": "; }; // only on an error
    if (c.blob_index >= m_blobs.size()) {
      return fail(index, where() + "blob index " + std::to_string(c.blob_index) + " beyond " +
                             std::to_string(m_blobs.size()) + " blobs");
    }
    if (c.file_offset % cs != 0 || c.file_offset >= n.size || c.file_offset < prev_end ||
        (!hole && c.file_offset != k * cs)) {
      return fail(index, where() + "file offset " + std::to_string(c.file_offset) + " is invalid");
    }
    std::uint64_t want = std::min(cs, n.size - c.file_offset);
    if (c.uncompressed_size != want) {
      return fail(index, where() + "uncompressed size " + std::to_string(c.uncompressed_size) +
                             " != " + std::to_string(want));
    }
    prev_end = c.file_offset + c.uncompressed_size;
    if (c.compressed_size == 0 || (!c.compressed() && c.compressed_size != c.uncompressed_size) ||
        c.compressed_size > 2 * cs + 4096) {
      return fail(index, where() + "compressed size " + std::to_string(c.compressed_size) +
                             " is invalid");
    }
    const BlobInfo& blob = m_blobs[c.blob_index];
    if (c.compressed_offset > UINT64_MAX - c.compressed_size ||
        (blob.compressed_size > 0 && c.compressed_offset + c.compressed_size > blob.compressed_size)) {
      return fail(index, where() + "compressed range " + std::to_string(c.compressed_offset) + "+" +
                             std::to_string(c.compressed_size) + " beyond blob " + blob.id);
    }
    if (blob.chunk_count > 0 && c.index >= blob.chunk_count) {
      return fail(index, where() + "chunk index " + std::to_string(c.index) + " beyond the blob's " +
                             std::to_string(blob.chunk_count) + " chunks");
    }
  }
  return {};
}

Result<void> Bootstrap::check_tree() {
  const std::uint32_t count = inode_count();
  // Every non-root index must be claimed by exactly one directory range.
  for (std::uint32_t i = 1; i <= count; ++i) {
    const Inode& dir = inode(i);
    if (!dir.is_dir()) {
      continue;
    }
    std::string_view prev;
    for (std::uint32_t c = child_begin(i); c < child_end(i); ++c) {
      Entry& child = m_entries[c - 1];
      if (child.parent_index != 0) {
        return fail(c, "claimed by two directories (" + std::to_string(child.parent_index) +
                           " and " + std::to_string(i) + ")");
      }
      child.parent_index = i;
      if (child.inode.parent != dir.ino) {
        return fail(c, "parent " + std::to_string(child.inode.parent) + " but listed in directory " +
                           std::to_string(dir.ino));
      }
      std::string_view n = name(c);
      if (!valid_name(n)) {
        return fail(c, "invalid name");
      }
      if (c > child_begin(i) && !name_less(prev, n)) {
        return fail(c, "children of directory " + std::to_string(i) + " are not sorted");
      }
      prev = n;
    }
  }
  for (std::uint32_t i = 2; i <= count; ++i) {
    const Entry& e = entry(i);
    if (e.parent_index == 0) {
      return fail(i, "not listed in any directory");
    }
    if (e.inode.is_hardlink() && e.inode.ino != i) {
      const Inode& first = inode(static_cast<std::uint32_t>(e.inode.ino));
      if (!first.is_reg() || first.ino != e.inode.ino || first.nlink != e.inode.nlink ||
          first.size != e.inode.size) {
        return fail(i, "hard link to inode " + std::to_string(e.inode.ino) +
                           " which is not the matching first link");
      }
    }
  }
  return {};
}

std::string_view Bootstrap::name(std::uint32_t index) const {
  const Entry& e = entry(index);
  return {reinterpret_cast<const char*>(m_bytes.data() + e.offset + sizeof(InodeRecord)),
          e.inode.name_size};
}

std::string_view Bootstrap::symlink_target(std::uint32_t index) const {
  const Entry& e = entry(index);
  std::uint64_t at = e.offset + sizeof(InodeRecord) + align8(e.inode.name_size);
  return {reinterpret_cast<const char*>(m_bytes.data() + at), e.inode.symlink_size};
}

std::vector<Xattr> Bootstrap::xattrs(std::uint32_t index) const {
  const Entry& e = entry(index);
  if (e.xattr_offset == 0) {
    return {};
  }
  auto r = decode_xattrs(bytes().subspan(e.xattr_offset, e.chunk_offset - e.xattr_offset));
  return r ? std::move(*r) : std::vector<Xattr>{}; // validated at open
}

std::uint32_t Bootstrap::ino_index(std::uint32_t index) const {
  return static_cast<std::uint32_t>(inode(index).ino);
}

std::string Bootstrap::path(std::uint32_t index) const {
  if (index == k_root) {
    return "/";
  }
  std::vector<std::string_view> parts;
  for (std::uint32_t i = index; i != k_root; i = parent_index(i)) {
    parts.push_back(name(i));
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    out += '/';
    out += *it;
  }
  return out;
}

std::uint32_t Bootstrap::chunk_count(std::uint32_t index) const {
  const Inode& n = inode(index);
  return n.is_reg() ? n.child_count : 0;
}

ChunkInfo Bootstrap::chunk(std::uint32_t index, std::uint32_t k) const {
  return decode(load_record<ChunkRecord>(m_bytes.data() + entry(index).chunk_offset +
                                         std::uint64_t{k} * sizeof(ChunkRecord)));
}

std::pair<std::uint32_t, std::uint32_t> Bootstrap::chunks_covering(std::uint32_t index,
                                                                   std::uint64_t offset,
                                                                   std::uint64_t len) const {
  const Inode& n = inode(index);
  const std::uint32_t count = chunk_count(index);
  if (len == 0 || offset >= n.size || count == 0) {
    return {0, 0};
  }
  std::uint64_t end = std::min(n.size, offset + std::min(len, n.size));
  if ((n.flags & k_inode_has_hole) == 0) {
    auto first = static_cast<std::uint32_t>(offset / m_sb.block_size);
    auto last = static_cast<std::uint32_t>((end + m_sb.block_size - 1) / m_sb.block_size);
    return {first, std::min(last, count)};
  }
  std::uint32_t first = count;
  std::uint32_t last = 0;
  for (std::uint32_t k = 0; k < count; ++k) {
    ChunkInfo c = chunk(index, k);
    if (c.file_offset < end && c.file_offset + c.uncompressed_size > offset) {
      first = std::min(first, k);
      last = k + 1;
    }
  }
  return first < last ? std::pair{first, last} : std::pair{0u, 0u};
}

std::uint32_t Bootstrap::child_end(std::uint32_t index) const {
  const Inode& n = inode(index);
  return n.is_dir() && n.child_count > 0 ? n.child_index + n.child_count : n.child_index;
}

std::optional<std::uint32_t> Bootstrap::lookup_child(std::uint32_t dir, std::string_view n) const {
  std::uint32_t lo = child_begin(dir);
  std::uint32_t hi = child_end(dir);
  while (lo < hi) {
    std::uint32_t mid = lo + (hi - lo) / 2;
    std::string_view m = name(mid);
    if (m == n) {
      return mid;
    }
    if (name_less(m, n)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return std::nullopt;
}

Result<std::uint32_t> Bootstrap::lookup(std::string_view p) const {
  std::uint32_t cur = k_root;
  std::size_t pos = 0;
  while (pos < p.size()) {
    std::size_t slash = p.find('/', pos);
    std::string_view part = p.substr(pos, slash == std::string_view::npos ? p.npos : slash - pos);
    pos = slash == std::string_view::npos ? p.size() : slash + 1;
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      cur = cur == k_root ? k_root : parent_index(cur);
      continue;
    }
    if (!inode(cur).is_dir()) {
      return make_error(Errc::not_found, std::string(p) + ": not a directory on the way");
    }
    auto next = lookup_child(cur, part);
    if (!next) {
      return make_error(Errc::not_found, std::string(p) + ": no such file in " + m_name);
    }
    cur = *next;
  }
  return cur;
}

} // namespace rafs::v5
