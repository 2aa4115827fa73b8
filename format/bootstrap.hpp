// A whole v5 bootstrap, validated once when opened, then read without checks.
//
// open() applies every rule of FORMAT.md "Validation" (superblock, table
// ranges, inode table slots, every inode record, names, sorted child
// ranges, hard-link groups, xattr blocks, chunk records, prefetch entries).
// A bad bootstrap gives one Error naming the file, the structure and its
// offset. Allocation is bounded by the file size, which is capped at 2 GiB.
// After open() succeeds every accessor below is total for indexes in
// [1, inode_count()].
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/blob_table.hpp"
#include "format/chunk_info.hpp"
#include "format/codec.hpp"
#include "format/digest.hpp"
#include "format/error.hpp"
#include "format/huge_pages.hpp"
#include "format/inode.hpp"
#include "format/superblock.hpp"
#include "format/xattr.hpp"

namespace rafs::v5 {

class Bootstrap {
public:
  static constexpr std::uint32_t k_root = 1;

  [[nodiscard]] static Result<Bootstrap> open(const std::filesystem::path& path);
  // `name` is used in error messages (normally the file's path).
  [[nodiscard]] static Result<Bootstrap> from_bytes(std::vector<std::uint8_t> bytes,
                                                    std::string name);
  // The same from memory already in huge pages (no copy).
  [[nodiscard]] static Result<Bootstrap> from_buffer(HugeBuffer bytes, std::string name);

  const std::string& name() const noexcept { return m_name; }
  Bytes bytes() const noexcept { return {m_bytes.data(), m_bytes.size()}; }
  const SuperBlock& super_block() const noexcept { return m_sb; }
  std::uint32_t chunk_size() const noexcept { return m_sb.block_size; }
  Compressor compressor() const noexcept;
  DigestAlgo digester() const noexcept;
  bool has_ext_blob_table() const noexcept { return m_sb.extended_blob_table_entries > 0; }
  const std::vector<BlobInfo>& blobs() const noexcept { return m_blobs; }
  // Inode numbers to prefetch, in order (the table up to its first 0).
  const std::vector<std::uint32_t>& prefetch_table() const noexcept { return m_prefetch; }

  // Inode-table entries: indexes run from 1 to this.
  std::uint32_t inode_count() const noexcept { return static_cast<std::uint32_t>(m_entries.size()); }
  const Inode& inode(std::uint32_t index) const { return entry(index).inode; }
  // File offset of the index's inode record.
  std::uint64_t record_offset(std::uint32_t index) const { return entry(index).offset; }
  std::string_view name(std::uint32_t index) const;
  std::string_view symlink_target(std::uint32_t index) const;
  std::vector<Xattr> xattrs(std::uint32_t index) const;
  // Index of the directory holding `index` (0 for the root).
  std::uint32_t parent_index(std::uint32_t index) const { return entry(index).parent_index; }
  // The index whose record carries this inode's ino (itself, or the first
  // link of its hard-link group).
  std::uint32_t ino_index(std::uint32_t index) const;
  // "/a/b" ("/" for the root); names are raw bytes.
  std::string path(std::uint32_t index) const;

  std::uint32_t chunk_count(std::uint32_t index) const;
  ChunkInfo chunk(std::uint32_t index, std::uint32_t k) const;
  // Chunks [first, last) of a regular file that overlap [offset, offset+len).
  std::pair<std::uint32_t, std::uint32_t> chunks_covering(std::uint32_t index, std::uint64_t offset,
                                                          std::uint64_t len) const;

  // Children of a directory: indexes [first, first + count).
  std::uint32_t child_begin(std::uint32_t index) const { return inode(index).child_index; }
  std::uint32_t child_end(std::uint32_t index) const;
  std::optional<std::uint32_t> lookup_child(std::uint32_t dir, std::string_view name) const;
  // Absolute or relative path from the root; "" and "/" are the root.
  // Does not follow symlinks.
  [[nodiscard]] Result<std::uint32_t> lookup(std::string_view path) const;

private:
  struct Entry {
    Inode inode;
    std::uint64_t offset = 0;       // record offset in the file
    std::uint64_t xattr_offset = 0; // 0 when there is no xattr block
    std::uint64_t chunk_offset = 0; // first chunk record
    std::uint32_t parent_index = 0;
  };

  Bootstrap() = default;
  const Entry& entry(std::uint32_t index) const { return m_entries[index - 1]; }
  Result<void> load();
  Result<void> load_tables();
  Result<void> load_inode(std::uint32_t index);
  Result<void> check_chunks(std::uint32_t index);
  Result<void> check_tree();
  Error fail(std::uint32_t index, std::string what) const;

  std::string m_name;
  HugeBuffer m_bytes; // huge pages: a mount reads and walks all of it at start
  SuperBlock m_sb;
  std::vector<BlobInfo> m_blobs;
  std::vector<std::uint32_t> m_prefetch;
  std::vector<Entry, HugePageAllocator<Entry>> m_entries;
};

} // namespace rafs::v5
