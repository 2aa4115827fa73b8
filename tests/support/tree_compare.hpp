// Compares two directory trees the way a round trip must preserve them:
// the same relative paths, and for each path the same type, st_mode, uid,
// gid, mtime (seconds and nanoseconds), size and contents (regular files),
// symlink target, device numbers, xattrs (every name llistxattr shows), and
// the same hard-link groups (which paths share an inode within each tree).
// Contents are read through SEEK_DATA, so holes both files share are
// skipped (a 5 GiB sparse file compares in milliseconds).
// Symlinks are never followed. Not compared: atime/ctime, st_nlink as such
// (links from outside a tree would count), directory sizes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rafs::test {

struct TreeCompareOptions {
  // Skip the st_mode and mtime of the two roots (e.g. when the extraction
  // target was created by the test, not by the archive).
  bool ignore_root_mode_and_mtime = false;
};

// One line per difference, in path order, each starting with the relative
// path ("." for the root) and giving the first tree's value first:
//   "a/b: mode 0100644 != 0100755"
//   "a/b: only in <first root>"
//   "f: contents differ at offset 4096"
//   "d/x: hard links {d/x, y} != {d/x}"
// Paths and values are shown with bytes outside printable ASCII as \xNN.
// Empty when the trees are equal.
std::vector<std::string> compare_trees(const std::filesystem::path& a, const std::filesystem::path& b,
                                       const TreeCompareOptions& options = {});

} // namespace rafs::test
