// overlay() and FileTree: OCI layer stacking with whiteouts (oci, overlayfs,
// none), directory merges and implicit directories, replacement of a
// subtree by another kind of entry, hard links to a lower layer's file.
// Most cases build two FileTrees from SourceEntry values and compare the
// exact listing; the last ones go through ImageBuilder with tar layers and
// read the finished bootstrap.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "builder/file_tree.hpp"
#include "builder/image_builder.hpp"
#include "builder/overlay.hpp"
#include "builder/tar_source.hpp"
#include "format/bootstrap.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace rafs;
using namespace rafs::builder;

namespace {

constexpr std::uint32_t k_ifreg = S_IFREG;
constexpr std::uint32_t k_ifdir = S_IFDIR;
constexpr std::uint32_t k_iflnk = S_IFLNK;
constexpr std::uint32_t k_ifchr = S_IFCHR;

SourceEntry reg(std::string path, std::uint64_t size = 0, std::uint32_t perm = 0644) {
  SourceEntry e;
  e.path = std::move(path);
  e.kind = EntryKind::regular;
  e.mode = k_ifreg | perm;
  e.size = size;
  e.mtime = 1000;
  return e;
}

SourceEntry dir(std::string path, std::uint32_t perm = 0755) {
  SourceEntry e;
  e.path = std::move(path);
  e.kind = EntryKind::directory;
  e.mode = k_ifdir | perm;
  e.mtime = 1000;
  return e;
}

SourceEntry sym(std::string path, std::string target) {
  SourceEntry e;
  e.path = std::move(path);
  e.kind = EntryKind::symlink;
  e.mode = k_iflnk | 0777;
  e.link_target = std::move(target);
  return e;
}

SourceEntry hardlink(std::string path, std::string target) {
  SourceEntry e;
  e.path = std::move(path);
  e.kind = EntryKind::hardlink;
  e.link_target = std::move(target);
  return e;
}

SourceEntry chardev(std::string path, std::uint32_t major, std::uint32_t minor) {
  SourceEntry e;
  e.path = std::move(path);
  e.kind = EntryKind::chardev;
  e.mode = k_ifchr | 0666;
  e.rdev_major = major;
  e.rdev_minor = minor;
  return e;
}

v5::Xattr xattr(std::string name, std::string value) {
  return v5::Xattr{std::move(name), std::move(value)};
}

// A tree with `entries` inserted in order (lower: where hard links may point).
std::unique_ptr<FileTree> tree_of(const std::vector<SourceEntry>& entries, const FileTree* lower = nullptr) {
  auto t = std::make_unique<FileTree>();
  for (const auto& e : entries) {
    auto r = t->insert(e, lower);
    INFO("insert " << e.path << ": " << (r ? std::string() : r.error().message));
    REQUIRE(r);
  }
  return t;
}

// Every node below the root, depth first in name order, directories with a
// trailing '/'. Also checks that each child's parent pointer is its directory.
std::vector<std::string> listing(const FileTree& t) {
  std::vector<std::string> out;
  std::vector<std::pair<const Node*, std::string>> stack{{&t.root(), ""}};
  while (!stack.empty()) {
    auto [n, path] = stack.back();
    stack.pop_back();
    if (n != &t.root()) {
      out.push_back(path + (n->is_dir() ? "/" : ""));
    }
    for (auto it = n->children.rbegin(); it != n->children.rend(); ++it) {
      CHECK(it->second->parent == n);
      CHECK(it->second->name == it->first);
      stack.emplace_back(it->second.get(), path.empty() ? it->first : path + "/" + it->first);
    }
  }
  return out;
}

using Paths = std::vector<std::string>;

// The node at `path`, which must exist.
const Node& at(const FileTree& t, std::string_view path) {
  const Node* n = t.find(path);
  INFO(path);
  REQUIRE(n != nullptr);
  return *n;
}

// lower := overlay(lower entries, upper entries); returns the lower tree.
std::unique_ptr<FileTree> stack2(const std::vector<SourceEntry>& lower_entries,
                                 const std::vector<SourceEntry>& upper_entries,
                                 WhiteoutSpec spec = WhiteoutSpec::oci) {
  auto lower = tree_of(lower_entries);
  auto upper = tree_of(upper_entries, lower.get());
  overlay(*lower, *upper, spec);
  return lower;
}

std::vector<std::string> xattr_names(const std::vector<v5::Xattr>& xs) {
  std::vector<std::string> out;
  for (const auto& x : xs) {
    out.push_back(x.name);
  }
  return out;
}

// ---- ImageBuilder over tar layers ------------------------------------------

struct Layered {
  std::unique_ptr<test::TempDir> dir;
  std::vector<LayerReport> reports;
  BuiltImage image;
  std::unique_ptr<v5::Bootstrap> boot;
};

Layered build_layers(const std::vector<std::vector<test::TarEntry>>& layers,
                     WhiteoutSpec spec = WhiteoutSpec::oci) {
  Layered out;
  out.dir = std::make_unique<test::TempDir>();
  fs::create_directories(*out.dir / "blobs");
  BuildOptions opt;
  opt.chunk_size = 0x1000;
  opt.whiteout_spec = spec;
  opt.threads = 2;
  ImageBuilder image(opt, PrefetchList());
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const fs::path tar = *out.dir / ("layer" + std::to_string(i) + ".tar");
    test::write_tar(tar, layers[i]);
    auto source = open_tar_source(tar.string());
    REQUIRE(source);
    auto report = image.add_layer(**source, LayerOutputs{*out.dir / "blobs", {}, {}}, true);
    INFO("layer " << i << ": " << (report ? std::string() : report.error().message));
    REQUIRE(report);
    out.reports.push_back(std::move(*report));
  }
  auto built = image.finish();
  REQUIRE(built);
  out.image = std::move(*built);
  auto boot = v5::Bootstrap::from_bytes(out.image.bootstrap, "merged");
  INFO((boot ? std::string() : boot.error().message));
  REQUIRE(boot);
  out.boot = std::make_unique<v5::Bootstrap>(std::move(*boot));
  return out;
}

// Every path of a bootstrap but the root ("/a/b", directories with a
// trailing '/'), in path order.
std::vector<std::string> boot_listing(const v5::Bootstrap& b) {
  std::vector<std::string> out;
  for (std::uint32_t i = 2; i <= b.inode_count(); ++i) {
    out.push_back(b.path(i) + (b.inode(i).is_dir() ? "/" : ""));
  }
  std::sort(out.begin(), out.end());
  return out;
}

const v5::Inode& inode_at(const v5::Bootstrap& b, std::string_view path) {
  auto i = b.lookup(path);
  INFO(path);
  REQUIRE(i);
  return b.inode(*i);
}

} // namespace

TEST_SUITE("builder::overlay") {
  TEST_CASE("an oci .wh.NAME removes the lower entry of that name and nothing else") {
    auto t = stack2({dir("a"), reg("a/x", 1), reg("a/y", 2), reg("b", 3), reg("a/xx", 4)},
                    {reg("a/.wh.x")});
    CHECK(listing(*t) == Paths{"a/", "a/xx", "a/y", "b"});
  }

  TEST_CASE("a whiteout of a directory removes its whole subtree") {
    auto t = stack2({dir("d"), dir("d/e"), reg("d/e/f"), reg("d/g"), sym("d/s", "g"), reg("keep")},
                    {reg(".wh.d")});
    CHECK(listing(*t) == Paths{"keep"});
  }

  TEST_CASE("a whiteout deep in merged directories removes only its target and keeps the parents' lower attributes") {
    SourceEntry a = dir("a", 0711);
    a.uid = 7;
    auto t = stack2({a, dir("a/b"), dir("a/b/c"), reg("a/b/c/x"), reg("a/b/c/y")}, {reg("a/b/c/.wh.x")});
    CHECK(listing(*t) == Paths{"a/", "a/b/", "a/b/c/", "a/b/c/y"});
    const Node* n = t->find("a");
    REQUIRE(n != nullptr);
    CHECK(n->attr.mode == (k_ifdir | 0711));
    CHECK(n->attr.uid == 7);
  }

  TEST_CASE("a whiteout of a name the lower tree does not have changes nothing") {
    auto t = stack2({reg("x")}, {reg(".wh.nothing"), dir("d"), reg("d/.wh.ghost")});
    CHECK(listing(*t) == Paths{"d/", "x"});
  }

  TEST_CASE("an opaque directory hides every lower child but keeps the children of its own layer") {
    auto t = stack2({dir("d"), reg("d/old1", 1), reg("d/old2", 2), dir("d/sub"), reg("d/sub/x"),
                     dir("other"), reg("other/z")},
                    {dir("d", 0700), reg("d/.wh..wh..opq"), reg("d/new", 3), reg("d/sub/y")});
    CHECK(listing(*t) == Paths{"d/", "d/new", "d/sub/", "d/sub/y", "other/", "other/z"});
    const Node* d = t->find("d");
    REQUIRE(d != nullptr);
    CHECK(d->attr.mode == (k_ifdir | 0700));
    // d/sub came back only implied by d/sub/y: nothing of the lower d/sub is left.
    const Node* sub = t->find("d/sub");
    REQUIRE(sub != nullptr);
    CHECK(sub->implicit);
    CHECK(sub->attr.mode == (k_ifdir | 0755));
  }

  TEST_CASE("an opaque marker at the root hides the whole lower tree but keeps the lower root's attributes") {
    SourceEntry root = dir("", 0711);
    auto t = stack2({root, dir("d"), reg("d/x"), reg("y")}, {reg(".wh..wh..opq"), reg("z")});
    CHECK(listing(*t) == Paths{"z"});
    CHECK(t->root().attr.mode == (k_ifdir | 0711));
  }

  TEST_CASE("a whiteout never hides an entry of its own layer, whichever comes first in the tar") {
    for (bool marker_first : {true, false}) {
      CAPTURE(marker_first);
      std::vector<SourceEntry> upper;
      if (marker_first) {
        upper = {reg(".wh.x"), reg("d/.wh..wh..opq"), reg("x", 7), reg("d/mine", 8)};
      } else {
        upper = {reg("x", 7), reg("d/mine", 8), reg(".wh.x"), reg("d/.wh..wh..opq")};
      }
      auto t = stack2({reg("x", 3), dir("d"), reg("d/lower", 4)}, upper);
      CHECK(listing(*t) == Paths{"d/", "d/mine", "x"});
      const Node* x = t->find("x");
      REQUIRE(x != nullptr);
      REQUIRE(x->data);
      CHECK(x->data->size == 7);
    }
  }

  TEST_CASE("a whiteout plus a directory of the same name replaces the lower directory's subtree") {
    auto t = stack2({dir("d"), reg("d/old"), dir("d/deep"), reg("d/deep/f")},
                    {reg(".wh.d"), dir("d", 0750), reg("d/new")});
    CHECK(listing(*t) == Paths{"d/", "d/new"});
    CHECK(at(*t, "d").attr.mode == (k_ifdir | 0750));
  }

  TEST_CASE("a file replaced by a directory and a directory replaced by a file drop the lower subtree") {
    auto t = stack2({reg("p", 5), dir("q"), reg("q/r"), dir("q/s"), reg("q/s/t")},
                    {dir("p"), reg("p/inner", 1), reg("q", 9)});
    CHECK(listing(*t) == Paths{"p/", "p/inner", "q"});
    const Node* q = t->find("q");
    REQUIRE(q != nullptr);
    CHECK(q->is_reg());
    CHECK(q->children.empty());
    CHECK(q->data->size == 9);
  }

  TEST_CASE("a file replaced by a directory only implied by a deeper path") {
    auto t = stack2({reg("p", 5)}, {reg("p/inner", 1)});
    CHECK(listing(*t) == Paths{"p/", "p/inner"});
    CHECK(at(*t, "p").implicit);
  }

  TEST_CASE("a symlink replaces a lower directory and its subtree") {
    auto t = stack2({dir("s"), reg("s/x"), dir("s/y"), reg("s/y/z")}, {sym("s", "elsewhere")});
    CHECK(listing(*t) == Paths{"s"});
    const Node* s = t->find("s");
    REQUIRE(s != nullptr);
    CHECK(s->attr.kind == EntryKind::symlink);
    CHECK(s->attr.link_target == "elsewhere");
    CHECK(s->children.empty());
  }

  TEST_CASE("a directory replaces a lower symlink") {
    auto t = stack2({sym("s", "target")}, {dir("s"), reg("s/f")});
    CHECK(listing(*t) == Paths{"s/", "s/f"});
    CHECK(at(*t, "s").attr.link_target.empty());
  }

  TEST_CASE("an upper directory over a lower one merges the children and takes every upper attribute") {
    SourceEntry lower_d = dir("d", 0755);
    lower_d.uid = 1;
    lower_d.gid = 1;
    lower_d.mtime = 100;
    lower_d.mtime_nsec = 5;
    lower_d.xattrs = {xattr("user.a", "1")};
    SourceEntry upper_d = dir("d", 0700);
    upper_d.uid = 2;
    upper_d.gid = 3;
    upper_d.mtime = 200;
    upper_d.mtime_nsec = 6;
    upper_d.xattrs = {xattr("user.b", "2")};
    auto t = stack2({lower_d, reg("d/lower_file", 1), reg("d/both", 1)},
                    {upper_d, reg("d/upper_file", 2), reg("d/both", 2)});
    CHECK(listing(*t) == Paths{"d/", "d/both", "d/lower_file", "d/upper_file"});
    const Node* d = t->find("d");
    REQUIRE(d != nullptr);
    CHECK_FALSE(d->implicit);
    CHECK(d->attr.mode == (k_ifdir | 0700));
    CHECK(d->attr.uid == 2);
    CHECK(d->attr.gid == 3);
    CHECK(d->attr.mtime == 200);
    CHECK(d->attr.mtime_nsec == 6);
    CHECK(xattr_names(d->attr.xattrs) == Paths{"user.b"});
    CHECK(at(*t, "d/both").data->size == 2);
  }

  TEST_CASE("an upper directory only implied by a deeper path keeps the lower directory's attributes") {
    SourceEntry lower_d = dir("d", 0711);
    lower_d.uid = 5;
    lower_d.gid = 6;
    lower_d.mtime = 300;
    lower_d.xattrs = {xattr("user.a", "1")};
    SourceEntry root = dir("", 0700);
    root.mtime = 42;
    auto t = stack2({root, lower_d, reg("d/old")}, {reg("d/sub/f")});
    CHECK(listing(*t) == Paths{"d/", "d/old", "d/sub/", "d/sub/f"});
    const Node* d = t->find("d");
    REQUIRE(d != nullptr);
    CHECK_FALSE(d->implicit);
    CHECK(d->attr.mode == (k_ifdir | 0711));
    CHECK(d->attr.uid == 5);
    CHECK(d->attr.gid == 6);
    CHECK(d->attr.mtime == 300);
    CHECK(xattr_names(d->attr.xattrs) == Paths{"user.a"});
    // The root had no entry in the upper layer either.
    CHECK(t->root().attr.mode == (k_ifdir | 0700));
    CHECK(t->root().attr.mtime == 42);
    // A directory new in the upper layer, implied only: 0755 root:root, mtime 0.
    const Node* sub = t->find("d/sub");
    REQUIRE(sub != nullptr);
    CHECK(sub->implicit);
    CHECK(sub->attr.mode == (k_ifdir | 0755));
    CHECK(sub->attr.uid == 0);
    CHECK(sub->attr.mtime == 0);
  }

  TEST_CASE("an implied directory whose own entry comes later in the layer takes that entry's attributes") {
    SourceEntry lower_d = dir("d", 0711);
    lower_d.mtime = 300;
    SourceEntry upper_d = dir("d", 0700);
    upper_d.mtime = 400;
    auto t = stack2({lower_d}, {reg("d/f"), upper_d});
    CHECK(listing(*t) == Paths{"d/", "d/f"});
    CHECK(at(*t, "d").attr.mode == (k_ifdir | 0700));
    CHECK(at(*t, "d").attr.mtime == 400);
  }

  TEST_CASE("FileTree: a hard link to a lower file shares its data and attributes, a missing target is an error") {
    SourceEntry a = reg("a", 5, 0640);
    a.uid = 9;
    auto lower = tree_of({a});
    auto upper = tree_of({hardlink("b", "a")}, lower.get());
    const Node* b = upper->find("b");
    REQUIRE(b != nullptr);
    CHECK(b->is_reg());
    CHECK(b->data == at(*lower, "a").data);
    CHECK(b->attr.mode == (k_ifreg | 0640));
    CHECK(b->attr.uid == 9);
    CHECK(b->attr.path.empty());
    // This layer's own file wins over the lower one of the same path.
    auto upper2 = tree_of({reg("a", 8), hardlink("c", "a")}, lower.get());
    CHECK(at(*upper2, "c").data == at(*upper2, "a").data);
    CHECK(at(*upper2, "c").data != at(*lower, "a").data);

    FileTree t;
    auto missing = t.insert(hardlink("x", "nowhere"), lower.get());
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message == "x: hard link to nowhere, which does not exist");
    auto to_dir = tree_of({dir("d")});
    auto dir_link = t.insert(hardlink("y", "d"), to_dir.get());
    REQUIRE_FALSE(dir_link);
    CHECK(dir_link.error().message == "y: hard link to directory d");
    auto below_file = t.insert(reg("f"));
    REQUIRE(below_file);
    auto under = t.insert(reg("f/g"));
    REQUIRE_FALSE(under);
    CHECK(under.error().message == "f/g: parent f is not a directory");
  }

  TEST_CASE("after overlay a hard link of the upper layer and its lower target share one FileData") {
    auto t = stack2({reg("a", 5)}, {hardlink("dir/b", "a")});
    CHECK(listing(*t) == Paths{"a", "dir/", "dir/b"});
    CHECK(at(*t, "a").data == at(*t, "dir/b").data);
  }

  TEST_CASE("overlayfs: a 0/0 character device is a whiteout and an opaque xattr hides the lower children") {
    SourceEntry opaque_d = dir("d", 0700);
    opaque_d.xattrs = {xattr("user.k", "v"), xattr("trusted.overlay.opaque", "y")};
    auto t = stack2({reg("a"), reg("b"), dir("d"), reg("d/old"), dir("e"), reg("e/keep")},
                    {chardev("a", 0, 0), chardev("b", 1, 3), opaque_d, reg("d/new"), reg(".wh.e"),
                     reg("e/.wh..wh..opq")},
                    WhiteoutSpec::overlayfs);
    // `.wh.` names are plain files under this spec.
    CHECK(listing(*t) == Paths{".wh.e", "b", "d/", "d/new", "e/", "e/.wh..wh..opq", "e/keep"});
    const Node* b = t->find("b");
    REQUIRE(b != nullptr);
    CHECK(b->attr.kind == EntryKind::chardev);
    CHECK(b->attr.rdev_major == 1);
    CHECK(b->attr.rdev_minor == 3);
    const Node* d = t->find("d");
    REQUIRE(d != nullptr);
    CHECK(d->attr.mode == (k_ifdir | 0700));
    CHECK(xattr_names(d->attr.xattrs) == Paths{"user.k"});
  }

  TEST_CASE("overlayfs: markers of a brand-new directory and of the bottom layer disappear, opaque xattr included") {
    SourceEntry opaque_n = dir("n");
    opaque_n.xattrs = {xattr("trusted.overlay.opaque", "y")};
    SourceEntry opaque_deep = dir("n/deep");
    opaque_deep.xattrs = {xattr("trusted.overlay.opaque", "y"), xattr("user.x", "1")};
    auto t = stack2(std::vector<SourceEntry>{},
                    {chardev("gone", 0, 0), opaque_n, chardev("n/ghost", 0, 0), opaque_deep, reg("n/deep/f")},
                    WhiteoutSpec::overlayfs);
    CHECK(listing(*t) == Paths{"n/", "n/deep/", "n/deep/f"});
    CHECK(at(*t, "n").attr.xattrs.empty());
    CHECK(xattr_names(at(*t, "n/deep").attr.xattrs) == Paths{"user.x"});
  }

  TEST_CASE("whiteout spec none keeps .wh. files and 0/0 devices as plain entries") {
    auto t = stack2({reg("x"), dir("d"), reg("d/y")},
                    {reg(".wh.x"), reg("d/.wh..wh..opq"), chardev("z", 0, 0), chardev("x", 0, 0)},
                    WhiteoutSpec::none);
    CHECK(listing(*t) == Paths{".wh.x", "d/", "d/.wh..wh..opq", "d/y", "x", "z"});
    CHECK(at(*t, "x").attr.kind == EntryKind::chardev);
  }

  TEST_CASE("oci markers inside a brand-new directory disappear with nothing to hide") {
    auto t = stack2({reg("other"), reg("p")},
                    {dir("new"), reg("new/.wh.ghost"), reg("new/.wh..wh..opq"), reg("new/sub/.wh.y"),
                     reg("new/f"), reg("p/.wh..wh..opq"), reg("p/x")});
    CHECK(listing(*t) == Paths{"new/", "new/f", "new/sub/", "other", "p/", "p/x"});
  }

  TEST_CASE("oci markers of the bottom layer disappear") {
    auto t = stack2(std::vector<SourceEntry>{},
                    {reg(".wh.a"), dir("d"), reg("d/.wh..wh..opq"), reg("d/f"), reg("d/e/.wh.g")});
    CHECK(listing(*t) == Paths{"d/", "d/e/", "d/f"});
  }

  TEST_CASE("a bare .wh. name has no target and stays a plain entry") {
    auto t = stack2({reg("x")}, {reg(".wh.")});
    CHECK(listing(*t) == Paths{".wh.", "x"});
  }

  TEST_CASE("ImageBuilder: three tar layers give the overlaid tree and no marker reaches the bootstrap") {
    using namespace rafs::test;
    Layered img = build_layers({
        {tar_dir("./"), tar_dir("etc"), tar_file("etc/passwd", "root\n"), tar_file("etc/group", "g\n"),
         tar_file("etc/.wh.bogus", ""), tar_dir("var"), tar_dir("var/cache"), tar_file("var/cache/a", "a"),
         tar_file("var/cache/b", "b"), tar_dir("opt"), tar_dir("opt/old"), tar_file("opt/old/f", "f"),
         tar_symlink("link", "etc/passwd")},
        {tar_file("etc/.wh.group", ""), tar_file("var/cache/.wh..wh..opq", ""), tar_file("var/cache/c", "c"),
         tar_file("opt/.wh.old", ""), tar_dir("link"), tar_file("link/inside", "i")},
        {tar_dir("opt/old"), tar_file("opt/old/g", "g"), tar_file(".wh.link", ""), tar_file("link", "now a file")},
    });
    CHECK(boot_listing(*img.boot) == Paths{"/etc/", "/etc/passwd", "/link", "/opt/", "/opt/old/", "/opt/old/g",
                                           "/var/", "/var/cache/", "/var/cache/c"});
    CHECK(S_ISREG(inode_at(*img.boot, "/link").mode));
    CHECK(inode_at(*img.boot, "/link").size == 10);
  }

  TEST_CASE("ImageBuilder: an implicit upper directory keeps the lower attributes in the bootstrap") {
    using namespace rafs::test;
    Layered img = build_layers({
        {tar_dir("./", 0750).with_mtime(1600000000), tar_dir("etc", 0700).with_owner(5, 6).with_mtime(1600000001),
         tar_file("etc/a", "a")},
        {tar_file("etc/b", "b")},
    });
    CHECK(boot_listing(*img.boot) == Paths{"/etc/", "/etc/a", "/etc/b"});
    const v5::Inode& etc = inode_at(*img.boot, "/etc");
    CHECK(etc.mode == (k_ifdir | 0700));
    CHECK(etc.uid == 5);
    CHECK(etc.gid == 6);
    CHECK(etc.mtime == 1600000001);
    const v5::Inode& root = inode_at(*img.boot, "/");
    CHECK(root.mode == (k_ifdir | 0750));
    CHECK(root.mtime == 1600000000);
  }

  TEST_CASE("ImageBuilder: a hard link in an upper layer to a lower file is one inode with nlink 2") {
    using namespace rafs::test;
    const std::string data = random_bytes(0x2800, 11);
    Layered img = build_layers({
        {tar_file("a", data, 0600).with_owner(3, 4)},
        {tar_hardlink("dir/b", "a")},
        {tar_file("other", "x")},
    });
    CHECK(boot_listing(*img.boot) == Paths{"/a", "/dir/", "/dir/b", "/other"});
    auto a = img.boot->lookup("/a");
    auto b = img.boot->lookup("/dir/b");
    REQUIRE(a);
    REQUIRE(b);
    const v5::Inode& ia = img.boot->inode(*a);
    const v5::Inode& ib = img.boot->inode(*b);
    CHECK(ia.nlink == 2);
    CHECK(ib.nlink == 2);
    CHECK(ia.ino == ib.ino);
    CHECK(ib.mode == (k_ifreg | 0600));
    CHECK(ib.uid == 3);
    CHECK(ib.size == data.size());
    CHECK(img.boot->ino_index(*b) == *a);
    CHECK(img.boot->chunk_count(*a) == 3);
    // The link stores nothing: its layer wrote no blob.
    CHECK(img.reports[1].blob.empty());
    CHECK(img.reports[1].blob_stats.chunks_submitted == 0);
    CHECK(img.boot->blobs().size() == 2);
  }

  TEST_CASE("ImageBuilder: whiting out the lower target of an upper hard link leaves the link with nlink 1") {
    using namespace rafs::test;
    Layered img = build_layers({
        {tar_file("a", "contents")},
        {tar_hardlink("b", "a")},
        {tar_file(".wh.a", "")},
    });
    CHECK(boot_listing(*img.boot) == Paths{"/b"});
    const v5::Inode& b = inode_at(*img.boot, "/b");
    CHECK(b.nlink == 1);
    CHECK(b.size == 8);
    CHECK(img.boot->chunk_count(*img.boot->lookup("/b")) == 1);
  }

  TEST_CASE("ImageBuilder: bottom-layer markers and an overlayfs opaque xattr never reach the bootstrap") {
    using namespace rafs::test;
    Layered oci = build_layers({{tar_file(".wh.x", ""), tar_dir("d"), tar_file("d/.wh..wh..opq", ""),
                                 tar_file("d/f", "f")}});
    CHECK(boot_listing(*oci.boot) == Paths{"/d/", "/d/f"});

    Layered ovl = build_layers(
        {{tar_chardev("x", 0, 0), tar_dir("d").with_xattr("trusted.overlay.opaque", "y"), tar_file("d/f", "f")},
         {tar_dir("d").with_xattr("trusted.overlay.opaque", "y").with_xattr("user.k", "v"), tar_file("d/g", "g"),
          tar_chardev("dev", 1, 3)}},
        WhiteoutSpec::overlayfs);
    CHECK(boot_listing(*ovl.boot) == Paths{"/d/", "/d/g", "/dev"});
    auto d = ovl.boot->lookup("/d");
    REQUIRE(d);
    REQUIRE(ovl.boot->xattrs(*d).size() == 1);
    CHECK(ovl.boot->xattrs(*d)[0].name == "user.k");
    const v5::Inode& dev = inode_at(*ovl.boot, "/dev");
    CHECK(S_ISCHR(dev.mode));
    CHECK(dev.rdev == static_cast<std::uint32_t>(makedev(1, 3)));
  }
}
