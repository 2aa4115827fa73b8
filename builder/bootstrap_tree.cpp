#include "builder/bootstrap_tree.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace rafs::builder {

namespace {

EntryKind kind_of(std::uint32_t mode) {
  switch (mode & S_IFMT) {
  case S_IFDIR:
    return EntryKind::directory;
  case S_IFLNK:
    return EntryKind::symlink;
  case S_IFCHR:
    return EntryKind::chardev;
  case S_IFBLK:
    return EntryKind::blockdev;
  case S_IFIFO:
    return EntryKind::fifo;
  case S_IFSOCK:
    return EntryKind::socket;
  default:
    return EntryKind::regular;
  }
}

} // namespace

Result<FileTree> tree_from_bootstrap(const v5::Bootstrap& b,
                                     const std::vector<std::uint32_t>& blob_numbers) {
  FileTree tree;
  for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
    const v5::Inode& n = b.inode(i);
    SourceEntry e;
    e.path = i == v5::Bootstrap::k_root ? std::string() : b.path(i).substr(1);
    const std::uint32_t first = b.ino_index(i);
    if (first != i) {
      e.kind = EntryKind::hardlink;
      e.link_target = b.path(first).substr(1);
    } else {
      e.kind = kind_of(n.mode);
      e.mode = n.mode;
      e.uid = n.uid;
      e.gid = n.gid;
      e.mtime = n.mtime;
      e.mtime_nsec = n.mtime_nsec;
      e.size = n.is_reg() ? n.size : 0;
      e.rdev_major = major(n.rdev);
      e.rdev_minor = minor(n.rdev);
      e.link_target = std::string(b.symlink_target(i));
      e.xattrs = b.xattrs(i);
    }
    auto inserted = tree.insert(e);
    if (!inserted) {
      return inserted.error().with_context(b.name());
    }
    // A bootstrap cannot say which directories a layer only implied (a path
    // below them came without their own entry): the builder made those
    // 0755 root:root, mtime 0, no xattrs. Such a directory over a lower one
    // keeps the lower attributes, as it would have in `rafs convert`.
    if (e.kind == EntryKind::directory && e.mode == (S_IFDIR | 0755) && e.uid == 0 && e.gid == 0 &&
        e.mtime == 0 && e.mtime_nsec == 0 && e.xattrs.empty()) {
      (*inserted)->implicit = true;
    }
    if (first == i && n.is_reg()) {
      FileData& d = *(*inserted)->data;
      for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
        v5::ChunkInfo c = b.chunk(i, k);
        c.blob_index = blob_numbers.at(c.blob_index);
        d.chunks.push_back(c);
      }
    }
  }
  return tree;
}

} // namespace rafs::builder
