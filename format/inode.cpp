#include "format/inode.hpp"

#include <sys/stat.h>

#include <string_view>

#include "format/layout.hpp"

namespace rafs::v5 {

bool Inode::is_dir() const noexcept { return S_ISDIR(mode); }
bool Inode::is_reg() const noexcept { return S_ISREG(mode); }
bool Inode::is_symlink() const noexcept { return S_ISLNK(mode); }
bool Inode::is_hardlink() const noexcept { return is_reg() && nlink > 1; }
bool Inode::has_xattr() const noexcept { return (flags & k_inode_xattr) != 0; }

Inode decode(const InodeRecord& r) noexcept {
  Inode i;
  i.digest = r.i_digest;
  i.parent = r.i_parent.get();
  i.ino = r.i_ino.get();
  i.uid = r.i_uid.get();
  i.gid = r.i_gid.get();
  i.projid = r.i_projid.get();
  i.mode = r.i_mode.get();
  i.size = r.i_size.get();
  i.blocks = r.i_blocks.get();
  i.flags = r.i_flags.get();
  i.nlink = r.i_nlink.get();
  i.child_index = r.i_child_index.get();
  i.child_count = r.i_child_count.get();
  i.name_size = r.i_name_size.get();
  i.symlink_size = r.i_symlink_size.get();
  i.rdev = r.i_rdev.get();
  i.mtime_nsec = r.i_mtime_nsec.get();
  i.mtime = r.i_mtime.get();
  return i;
}

InodeRecord encode(const Inode& i) noexcept {
  InodeRecord r{};
  r.i_digest = i.digest;
  r.i_parent = i.parent;
  r.i_ino = i.ino;
  r.i_uid = i.uid;
  r.i_gid = i.gid;
  r.i_projid = i.projid;
  r.i_mode = i.mode;
  r.i_size = i.size;
  r.i_blocks = i.blocks;
  r.i_flags = i.flags;
  r.i_nlink = i.nlink;
  r.i_child_index = i.child_index;
  r.i_child_count = i.child_count;
  r.i_name_size = i.name_size;
  r.i_symlink_size = i.symlink_size;
  r.i_rdev = i.rdev;
  r.i_mtime_nsec = i.mtime_nsec;
  r.i_mtime = i.mtime;
  return r;
}

const char* file_type_name(std::uint32_t mode) noexcept {
  switch (mode & S_IFMT) {
  case S_IFDIR: return "dir";
  case S_IFREG: return "file";
  case S_IFLNK: return "symlink";
  case S_IFCHR: return "chardev";
  case S_IFBLK: return "blockdev";
  case S_IFIFO: return "fifo";
  case S_IFSOCK: return "socket";
  default: return "unknown";
  }
}

bool valid_file_type(std::uint32_t mode) noexcept {
  return std::string_view(file_type_name(mode)) != "unknown";
}

std::uint64_t blocks_for(std::uint32_t mode, std::uint64_t size, std::uint64_t xattr_total) noexcept {
  std::uint64_t extra = S_ISREG(mode) ? 0 : align8(xattr_total);
  return (size + extra + 511) / 512;
}

} // namespace rafs::v5
