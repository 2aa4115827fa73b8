#include "support/feature_layer.hpp"

namespace rafs::test {

namespace {

constexpr std::int64_t k_time = 1700000000;
constexpr std::size_t k_mib = 1 << 20;

} // namespace

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l + "\n";
  }
  return out;
}

std::string capability_value() {
  const unsigned char v[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
                               0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  return {reinterpret_cast<const char*>(v), sizeof v};
}

const std::string k_long_dir = "long/" + std::string(120, 'd');
const std::string k_long_file = k_long_dir + "/" + std::string(200, 'f');

std::string long_symlink_target() {
  std::string t = "..";
  for (int i = 0; i < 40; ++i) {
    t += "/component-" + std::to_string(i);
  }
  return t; // > 400 bytes
}

// Every tar feature rafs must keep, in one layer that GNU tar extracts to
// the same tree as rafs' unpacked image: every directory has an entry and
// its members follow it (GNU tar sets a directory's mtime once extraction
// leaves it), hard links only to regular files, sparse data in 512-byte
// blocks (GNU tar misreads PAX sparse segments that are not). With
// `sub_second` false every mtime is whole seconds.
std::vector<TarEntry> feature_entries(bool sub_second) {
  std::vector<TarEntry> e;
  e.push_back(tar_dir("./", 0755).with_mtime(k_time, 0));
  // A subtree spelled with "./" prefixes.
  e.push_back(tar_dir("./bin", 0755).with_mtime(k_time + 1, 500));
  e.push_back(tar_file("./bin/tool", random_bytes(2 * k_mib + 12345, 1), 0755).with_mtime(k_time + 2, 123456789));
  e.push_back(tar_file("./bin/setuid", "suid\n", 04755));
  e.push_back(tar_symlink("./bin/sh", "tool").with_mtime(k_time + 3, 0));
  e.push_back(tar_hardlink("./bin/tool-link", "./bin/tool"));
  // The link sorts before its target; in tar order the target comes first.
  e.push_back(tar_dir("z", 0755));
  e.push_back(tar_file("z/target", "hard-link target listed after its link in path order\n"));
  e.push_back(tar_dir("a", 0711));
  e.push_back(tar_hardlink("a/link-to-later", "z/target"));
  e.push_back(tar_hardlink("a/tool-link", "bin/tool"));
  e.push_back(tar_dir("dev", 0755));
  e.push_back(tar_chardev("dev/null", 1, 3));
  e.push_back(tar_blockdev("dev/sda", 8, 0));
  e.push_back(tar_chardev("dev/big", 300, 70000)); // major > 0xff, minor > 0xffff
  e.push_back(tar_fifo("dev/fifo"));
  e.push_back(tar_dir("long", 0755));
  e.push_back(tar_dir(k_long_dir, 0700));
  e.push_back(tar_file(k_long_file, "a PAX path\n"));
  e.push_back(tar_symlink("long/symlink", long_symlink_target()));
  e.push_back(tar_hardlink("long/hardlink", k_long_file));
  e.push_back(tar_file("latin1-\xe9t\xe9", "a name that is not UTF-8\n"));
  e.push_back(tar_symlink("latin1-link", "latin1-\xe9t\xe9"));
  e.push_back(tar_file("owners", "uid and gid above 2097151\n").with_owner(3000000, 4000000));
  e.push_back(tar_dir("x", 0755).with_xattr("trusted.overlay.opaque", "y"));
  e.push_back(tar_file("x/user", "user xattrs\n")
                  .with_xattr("user.comment", "hello")
                  .with_xattr("user.binary", std::string("\0\x01\xff\0", 4)));
  e.push_back(tar_file("x/cap", "capability\n", 0755).with_xattr("security.capability", capability_value()));
  e.push_back(tar_dir("sparse", 0755));
  e.push_back(tar_sparse("sparse/pax", 3 * k_mib + 7,
                         {{0, random_bytes(4096, 2)}, {2 * k_mib + 512, random_bytes(8192, 3)}}));
  e.push_back(tar_file("empty", ""));
  e.push_back(tar_file("one-chunk", random_bytes(k_mib, 3)));
  e.push_back(tar_file("one-chunk-plus-one", random_bytes(k_mib + 1, 4)));
  // Duplicates: the later file wins; the later directory keeps the children.
  e.push_back(tar_dir("dup", 0700).with_mtime(k_time - 100));
  e.push_back(tar_file("dup/file", "first version\n", 0600));
  e.push_back(tar_file("dup/keep", "kept: a directory over a directory keeps its children\n"));
  e.push_back(tar_file("dup/file", "second version wins\n", 0640).with_mtime(k_time + 9, 9));
  e.push_back(tar_dir("./dup/", 0750).with_mtime(k_time + 10, 10));
  if (!sub_second) {
    for (TarEntry& t : e) {
      t.mtime_nsec = 0;
    }
  }
  return e;
}

} // namespace rafs::test
