// A three-layer OCI image for the mount tests (local and from a registry):
// whiteouts, an opaque directory, type changes, a cross-layer hard link
// and xattr changes (as tests/cli/convert_test.cpp).
#pragma once

#include <string>
#include <vector>

#include "support/oci_maker.hpp"
#include "support/tar_maker.hpp"

namespace rafs::test {

inline OciLayerSpec layer_of(std::vector<TarEntry> entries, TarFilter filter) {
  OciLayerSpec l;
  l.entries = std::move(entries);
  l.filter = filter;
  return l;
}

inline std::vector<OciLayerSpec> three_layers(TarFilter filter) {
  constexpr std::size_t k_mib = 1 << 20;
  const std::string dup = random_bytes(2 * k_mib, 7);
  OciLayerSpec l1 = layer_of({tar_dir("etc"), tar_file("etc/passwd", "root:x:0:0\n"),
                              tar_file("etc/deleted", "gone soon\n"), tar_dir("opq"),
                              tar_file("opq/a", "lower a\n"), tar_file("opq/b", "lower b\n"),
                              tar_file("f2d", "a file that becomes a directory\n"), tar_dir("d2f"),
                              tar_file("d2f/x", "under a directory that becomes a file\n"), tar_dir("lib"),
                              tar_file("lib/big", random_bytes(3 * k_mib + 5, 1)),
                              tar_file("lib/shared", "linked from above\n").with_owner(1000, 1000),
                              tar_dir("sym2dir"), tar_file("sym2dir/y", "becomes a symlink\n"),
                              tar_file("xa", "xattrs change above\n").with_xattr("user.a", "1"),
                              tar_dir("data"), tar_file("data/one", dup)},
                             filter);
  OciLayerSpec l2 = layer_of({tar_dir("etc", 0700).with_mtime(1600000000), tar_file("etc/.wh.deleted", ""),
                              tar_dir("opq"), tar_file("opq/.wh..wh..opq", ""), tar_file("opq/c", "upper c\n"),
                              tar_dir("f2d"), tar_file("f2d/inner", "inside the new directory\n"),
                              tar_file("d2f", "now a file\n"), tar_hardlink("lib/hl", "lib/shared"),
                              tar_symlink("sym2dir", "etc"),
                              tar_file("xa", "xattrs changed\n").with_xattr("user.a", "2").with_xattr("user.b", "3"),
                              tar_file("data/two", dup)},
                             filter);
  OciLayerSpec l3 = layer_of({tar_file("f2d/.wh.inner", ""), tar_file("newfile", "a whiteout never hides its own layer\n"),
                              tar_file(".wh.newfile", ""), tar_file("lib/.wh.big", "")},
                             filter);
  return {l1, l2, l3};
}

} // namespace rafs::test
