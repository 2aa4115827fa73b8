// The 128-byte v5 inode record, followed on disk by its name, symlink target,
// optional xattr block and chunk array (see FORMAT.md).
#pragma once

#include <cstdint>

#include "format/bytes.hpp"
#include "format/digest.hpp"

namespace rafs::v5 {

struct InodeRecord {
  std::array<std::uint8_t, 32> i_digest;
  le64 i_parent;
  le64 i_ino;
  le32 i_uid;
  le32 i_gid;
  le32 i_projid;
  le32 i_mode;
  le64 i_size;
  le64 i_blocks;
  le64 i_flags;
  le32 i_nlink;
  le32 i_child_index;
  le32 i_child_count;
  le16 i_name_size;
  le16 i_symlink_size;
  le32 i_rdev;
  le32 i_mtime_nsec;
  le64 i_mtime;
  std::array<std::uint8_t, 8> i_reserved;
};
static_assert(sizeof(InodeRecord) == 128);
static_assert(alignof(InodeRecord) == 1);
static_assert(std::is_trivially_copyable_v<InodeRecord>);

struct Inode {
  Digest digest{};
  std::uint64_t parent = 0;
  std::uint64_t ino = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t projid = 0;
  std::uint32_t mode = 0;
  std::uint64_t size = 0;
  std::uint64_t blocks = 0;
  std::uint64_t flags = 0;
  std::uint32_t nlink = 0;
  std::uint32_t child_index = 0;
  std::uint32_t child_count = 0; // dirs: children; regular files: chunks
  std::uint16_t name_size = 0;
  std::uint16_t symlink_size = 0;
  std::uint32_t rdev = 0;
  std::uint32_t mtime_nsec = 0;
  std::uint64_t mtime = 0;

  bool operator==(const Inode&) const = default;

  bool is_dir() const noexcept;
  bool is_reg() const noexcept;
  bool is_symlink() const noexcept;
  bool is_hardlink() const noexcept; // a regular file with nlink > 1
  bool has_xattr() const noexcept;
};

Inode decode(const InodeRecord& r) noexcept;
InodeRecord encode(const Inode& inode) noexcept;

// "dir", "file", "symlink", "chardev", "blockdev", "fifo", "socket" or
// "unknown", from the st_mode type bits.
const char* file_type_name(std::uint32_t mode) noexcept;
bool valid_file_type(std::uint32_t mode) noexcept;

// i_blocks as upstream computes it: ceil((size + align8(xattr_total)) / 512),
// with xattrs left out for regular files (cached-mode readers require it).
std::uint64_t blocks_for(std::uint32_t mode, std::uint64_t size, std::uint64_t xattr_total) noexcept;

} // namespace rafs::v5
