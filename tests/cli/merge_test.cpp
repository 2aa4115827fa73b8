// `rafs merge`: per-layer bootstraps made by `rafs create` overlaid into one
// image bootstrap. Checked against GNU tar extracting the same layers in
// order with the whiteouts applied by hand, by `rafs check -D`, and by the
// exact tree `rafs dump --json` prints.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"
#include "support/tree_compare.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rafs::test::random_bytes;
using rafs::test::run_rafs;
using rafs::test::RunResult;
using rafs::test::sh;
using rafs::test::shell_quote;
using rafs::test::tar_chardev;
using rafs::test::tar_dir;
using rafs::test::tar_file;
using rafs::test::tar_hardlink;
using rafs::test::tar_symlink;
using rafs::test::TarEntry;
using rafs::test::TempDir;

namespace {

using Strings = std::vector<std::string>;
constexpr std::int64_t k_time = 1700000000;

// One layer: DIR/<tag>.tar, then `rafs create` to DIR/<tag>.boot with the
// blob in DIR/blobs/ (shared by every layer, so unpack and check find all).
fs::path create_layer(const TempDir& tmp, const std::string& tag, const std::vector<TarEntry>& entries,
                      const Strings& extra = {}) {
  const fs::path tar = tmp / (tag + ".tar");
  rafs::test::write_tar(tar, entries);
  fs::create_directories(tmp / "blobs");
  const fs::path boot = tmp / (tag + ".boot");
  Strings args{"create", tar.string(), "-B", boot.string(), "-D", (tmp / "blobs").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = run_rafs(args);
  INFO("create " << tag << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return boot;
}

RunResult merge(const std::vector<fs::path>& boots, const fs::path& out, const Strings& extra = {},
                const std::string& input = {}) {
  Strings args{"merge"};
  for (const auto& b : boots) {
    args.push_back(b.string());
  }
  args.insert(args.end(), {"-B", out.string()});
  args.insert(args.end(), extra.begin(), extra.end());
  return run_rafs(args, input);
}

json dump(const fs::path& boot, bool chunks = false) {
  Strings args{"dump", boot.string(), "--json"};
  if (chunks) {
    args.emplace_back("--chunks");
  }
  RunResult r = run_rafs(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

// Every path of the dump but the root, directories with a trailing '/', sorted.
Strings paths_of(const json& d) {
  Strings out;
  for (const auto& n : d.at("inodes")) {
    const std::string p = n.at("path").get<std::string>();
    if (p != "/") {
      out.push_back(p + (n.at("type") == "dir" ? "/" : ""));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, json> by_path(const json& d) {
  std::map<std::string, json> out;
  for (const auto& n : d.at("inodes")) {
    out[n.at("path").get<std::string>()] = n;
  }
  return out;
}

Strings blob_ids(const json& d) {
  Strings out;
  for (const auto& b : d.at("blobs")) {
    out.push_back(b.at("id").get<std::string>());
  }
  return out;
}

std::string blob_of(const fs::path& layer_boot) {
  json d = dump(layer_boot);
  REQUIRE(d.at("blobs").size() == 1);
  return d.at("blobs")[0].at("id").get<std::string>();
}

// GNU tar extracts `layers` into `target` in order; before each layer, its
// whiteouts are applied by hand to what the layers below left ("opaque":
// empty the directory; ".wh.NAME": rm -rf NAME), then every entry the layer
// replaces by one of another kind (directory vs anything else) is removed;
// markers are never extracted. (Not --recursive-unlink: that empties every
// directory the layer has an entry for.)
void apply_by_hand(const std::vector<fs::path>& layers, const fs::path& target) {
  fs::create_directories(target);
  std::string script = "set -e; T=" + shell_quote(target.string()) + "; ";
  for (const auto& l : layers) {
    const std::string L = shell_quote(l.string());
    script += "S=$(mktemp -d); tar -xf " + L + " -C \"$S\"; "
              "(cd \"$S\" && find . -name '.wh..wh..opq') | while read -r m; do d=$(dirname \"$m\"); "
              "if [ -d \"$T/$d\" ]; then find \"$T/$d\" -mindepth 1 -maxdepth 1 -exec rm -rf {} +; fi; done; "
              "(cd \"$S\" && find . -name '.wh.*' ! -name '.wh..wh..opq') | while read -r m; do "
              "d=$(dirname \"$m\"); b=$(basename \"$m\"); rm -rf \"$T/$d/${b#.wh.}\"; done; "
              "(cd \"$S\" && find . -mindepth 1 ! -name '.wh.*') | while read -r p; do "
              "if [ -L \"$T/$p\" ] || [ -e \"$T/$p\" ]; then "
              "if [ -d \"$S/$p\" ] && [ ! -L \"$S/$p\" ]; then s=1; else s=0; fi; "
              "if [ -d \"$T/$p\" ] && [ ! -L \"$T/$p\" ]; then t=1; else t=0; fi; "
              "if [ $s != $t ]; then rm -rf \"$T/$p\"; fi; fi; done; "
              "rm -rf \"$S\"; "
              "tar --xattrs --xattrs-include='*' --numeric-owner --exclude='.wh.*' -xpf " +
              L + " -C \"$T\"; ";
  }
  RunResult r = sh(script);
  INFO("by hand: " << r.err);
  REQUIRE(r.exit_code == 0);
}

void extract(const fs::path& tar, const fs::path& dir) {
  fs::create_directories(dir);
  RunResult x = sh("tar --xattrs --xattrs-include='*' --numeric-owner -xpf " + shell_quote(tar.string()) +
                   " -C " + shell_quote(dir.string()));
  INFO("tar -x " << tar.string() << ": " << x.err);
  REQUIRE(x.exit_code == 0);
}

std::string join(const Strings& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l + "\n";
  }
  return out;
}

// Three layers using every kind of change: whiteouts of files and of a
// directory, an opaque directory, a file replaced, a symlink replaced by a
// directory then by a file, a directory re-created after its whiteout, a
// hard-link group losing its first name, markers in the bottom layer and
// in a brand-new directory. Every directory a layer touches has its own
// entry (GNU tar then restores its mtime).
std::vector<std::vector<TarEntry>> three_layers() {
  return {
      {tar_dir("./", 0755).with_mtime(k_time), tar_dir("etc", 0755).with_mtime(k_time + 1),
       tar_file("etc/passwd", "root:x:0:0\n").with_mtime(k_time + 2), tar_file("etc/group", "root:x:0:\n"),
       tar_file("etc/.wh.bogus", ""), tar_dir("usr"), tar_dir("usr/bin"),
       tar_file("usr/bin/tool", random_bytes(0x180000, 1), 0755), tar_hardlink("usr/bin/tool-link", "usr/bin/tool"),
       tar_dir("var"), tar_dir("var/cache", 0700).with_owner(7, 8), tar_file("var/cache/a", "a"),
       tar_file("var/cache/b", "b"), tar_dir("opt"), tar_dir("opt/old"), tar_file("opt/old/f", "f"),
       tar_symlink("link", "etc/passwd")},
      {tar_dir("./", 0751).with_mtime(k_time + 10), tar_dir("etc", 0750).with_owner(1, 2).with_mtime(k_time + 11),
       tar_file("etc/.wh.group", ""), tar_file("etc/passwd", "root:x:0:0\nuser:x:1000:1000\n", 0600),
       tar_dir("var"), tar_dir("var/cache", 0700).with_owner(7, 8).with_mtime(k_time + 12),
       tar_file("var/cache/.wh..wh..opq", ""), tar_file("var/cache/c", "c"), tar_dir("opt"),
       tar_file("opt/.wh.old", ""), tar_dir("link"), tar_file("link/inside", "i"), tar_dir("usr"),
       tar_dir("usr/bin"), tar_file("usr/bin/.wh.tool", "")},
      {tar_dir("./", 0755).with_mtime(k_time + 20), tar_dir("opt").with_mtime(k_time + 21),
       tar_dir("opt/old", 0700).with_mtime(k_time + 22), tar_file("opt/old/g", random_bytes(5000, 2)),
       tar_file(".wh.link", ""), tar_file("link", "now a file\n"), tar_dir("newdir").with_mtime(k_time + 23),
       tar_file("newdir/.wh.x", ""), tar_file("newdir/.wh..wh..opq", ""),
       tar_file("newdir/f", "f").with_xattr("user.note", "hello")},
  };
}

} // namespace

TEST_SUITE("cli::merge") {
  TEST_CASE("three created layers merge, check and unpack to the tree GNU tar gives with whiteouts applied by hand") {
    TempDir tmp;
    auto layers = three_layers();
    std::vector<fs::path> boots;
    std::vector<fs::path> tars;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const std::string tag = "layer" + std::to_string(i + 1);
      boots.push_back(create_layer(tmp, tag, layers[i]));
      tars.push_back(tmp / (tag + ".tar"));
    }
    const fs::path merged = tmp / "merged.boot";
    RunResult m = merge(boots, merged, {"-J", (tmp / "merge.json").string()});
    INFO("merge: " << m.err);
    REQUIRE(m.exit_code == 0);
    CHECK(m.err == "");

    json d = dump(merged);
    CHECK(paths_of(d) == Strings{"/etc/", "/etc/passwd", "/link", "/newdir/", "/newdir/f", "/opt/", "/opt/old/",
                                 "/opt/old/g", "/usr/", "/usr/bin/", "/usr/bin/tool-link", "/var/",
                                 "/var/cache/", "/var/cache/c"});
    auto n = by_path(d);
    CHECK(n.at("/etc").at("mode") == "0750");
    CHECK(n.at("/etc").at("uid") == 1);
    CHECK(n.at("/usr/bin/tool-link").at("nlink") == 1);
    CHECK(n.at("/usr/bin/tool-link").at("size") == 0x180000);
    CHECK(n.at("/link").at("type") == "file");

    // Every layer's blob is still referenced (tool-link keeps layer 1's).
    Strings want_blobs{blob_of(boots[0]), blob_of(boots[1]), blob_of(boots[2])};
    CHECK(blob_ids(d) == want_blobs);
    CHECK(m.out == "bootstrap: " + merged.string() + "\nblob: " + want_blobs[0] + "\nblob: " + want_blobs[1] +
                       "\nblob: " + want_blobs[2] + "\n");
    json summary = json::parse(rafs::test::read_text(tmp / "merge.json"));
    CHECK(summary.at("bootstrap") == merged.string());
    CHECK(summary.at("blobs") == json(want_blobs));
    CHECK(summary.at("sources") == json(Strings{boots[0].string(), boots[1].string(), boots[2].string()}));

    RunResult check = run_rafs({"check", merged.string(), "-D", (tmp / "blobs").string()});
    INFO("check: " << check.out << check.err);
    CHECK(check.exit_code == 0);

    const fs::path out_tar = tmp / "merged.tar";
    RunResult unpack = run_rafs({"unpack", merged.string(), "-D", (tmp / "blobs").string(), "-o", out_tar.string()});
    INFO("unpack: " << unpack.err);
    REQUIRE(unpack.exit_code == 0);
    apply_by_hand(tars, tmp / "want");
    extract(out_tar, tmp / "got");
    CHECK(join(rafs::test::compare_trees(tmp / "want", tmp / "got")) == "");
  }

  // A per-layer bootstrap cannot say which directories were only implied by
  // a deeper path; merge treats a directory with the builder's implied
  // attributes (0755 root:root, mtime 0, no xattrs) as implied.
  TEST_CASE("merge keeps a lower directory's attributes when the upper layer only implies it") {
    TempDir tmp;
    const fs::path l1 = create_layer(
        tmp, "l1", {tar_dir("etc", 0700).with_owner(5, 6).with_mtime(k_time), tar_file("etc/a", "a")});
    const fs::path l2 = create_layer(tmp, "l2", {tar_file("etc/b", "b")});
    const fs::path merged = tmp / "merged.boot";
    RunResult m = merge({l1, l2}, merged);
    REQUIRE(m.exit_code == 0);
    auto n = by_path(dump(merged));
    CHECK(n.at("/etc").at("mode") == "0700");
    CHECK(n.at("/etc").at("uid") == 5);
    CHECK(n.at("/etc").at("mtime") == k_time);
  }

  TEST_CASE("a layer whose every file is whited out leaves the blob table") {
    TempDir tmp;
    const fs::path l1 = create_layer(tmp, "l1", {tar_file("a", random_bytes(3000, 11)), tar_dir("d"),
                                                 tar_file("d/x", random_bytes(3000, 12))});
    const fs::path l2 = create_layer(tmp, "l2", {tar_file("b", random_bytes(3000, 13))});
    const fs::path l3 = create_layer(tmp, "l3", {tar_file(".wh.a", ""), tar_file(".wh.d", "")});
    const fs::path merged = tmp / "merged.boot";
    RunResult m = merge({l1, l2, l3}, merged, {"-J", (tmp / "m.json").string()});
    INFO(m.err);
    REQUIRE(m.exit_code == 0);
    json d = dump(merged, true);
    CHECK(paths_of(d) == Strings{"/b"});
    CHECK(blob_ids(d) == Strings{blob_of(l2)});
    CHECK(by_path(d).at("/b").at("chunks")[0].at("blob_index") == 0);
    CHECK(m.out == "bootstrap: " + merged.string() + "\nblob: " + blob_of(l2) + "\n");
    CHECK(json::parse(rafs::test::read_text(tmp / "m.json")).at("blobs") == json(Strings{blob_of(l2)}));
    RunResult check = run_rafs({"check", merged.string(), "-D", (tmp / "blobs").string()});
    CHECK(check.exit_code == 0);
  }

  TEST_CASE("the same layer bootstrap twice references its blob once") {
    TempDir tmp;
    const fs::path l1 = create_layer(tmp, "l1", {tar_file("a", "a")});
    const fs::path merged = tmp / "merged.boot";
    RunResult m = merge({l1, l1}, merged);
    REQUIRE(m.exit_code == 0);
    json d = dump(merged);
    CHECK(paths_of(d) == Strings{"/a"});
    CHECK(blob_ids(d) == Strings{blob_of(l1)});
  }

  TEST_CASE("--whiteout-spec overlayfs applies 0/0 devices and the opaque xattr, none keeps every marker") {
    TempDir tmp;
    const fs::path l1 = create_layer(tmp, "l1", {tar_file("x", "x"), tar_dir("d"), tar_file("d/old", "o"),
                                                 tar_file(".wh.keep", "")});
    const fs::path l2 = create_layer(
        tmp, "l2",
        {tar_chardev("x", 0, 0), tar_dir("d").with_xattr("trusted.overlay.opaque", "y").with_xattr("user.k", "v"),
         tar_file("d/new", "n"), tar_chardev("dev", 1, 3)});
    const fs::path ovl = tmp / "ovl.boot";
    RunResult m = merge({l1, l2}, ovl, {"--whiteout-spec", "overlayfs"});
    INFO(m.err);
    REQUIRE(m.exit_code == 0);
    json d = dump(ovl);
    CHECK(paths_of(d) == Strings{"/.wh.keep", "/d/", "/d/new", "/dev"});
    auto n = by_path(d);
    CHECK(n.at("/d").at("xattrs") == json(Strings{"user.k"}));
    CHECK(n.at("/dev").at("type") == "chardev");
    CHECK(run_rafs({"check", ovl.string(), "-D", (tmp / "blobs").string()}).exit_code == 0);

    const fs::path none = tmp / "none.boot";
    REQUIRE(merge({l1, l2}, none, {"--whiteout-spec", "none"}).exit_code == 0);
    json dn = dump(none);
    CHECK(paths_of(dn) == Strings{"/.wh.keep", "/d/", "/d/new", "/d/old", "/dev", "/x"});
    auto nn = by_path(dn);
    CHECK(nn.at("/x").at("type") == "chardev");
    CHECK(nn.at("/d").at("xattrs") == json(Strings{"trusted.overlay.opaque", "user.k"}));

    // The default (oci) treats the overlayfs markers as plain entries and drops `.wh.keep`.
    const fs::path oci = tmp / "oci.boot";
    REQUIRE(merge({l1, l2}, oci).exit_code == 0);
    CHECK(paths_of(dump(oci)) == Strings{"/d/", "/d/new", "/d/old", "/dev", "/x"});
  }

  TEST_CASE("bootstraps with different compressors or chunk sizes fail with one line and exit 1") {
    TempDir tmp;
    const fs::path zstd = create_layer(tmp, "zstd", {tar_file("a", "a")});
    const fs::path lz4 = create_layer(tmp, "lz4", {tar_file("b", "b")}, {"--compressor", "lz4_block"});
    const fs::path small = create_layer(tmp, "small", {tar_file("c", "c")}, {"--chunk-size", "0x1000"});
    const fs::path out = tmp / "out.boot";
    RunResult m = merge({zstd, lz4}, out);
    CHECK(m.exit_code == 1);
    CHECK(m.out == "");
    CHECK(m.err == "rafs: " + lz4.string() +
                       ": bootstrap uses compressor lz4_block, this image uses zstd (a v5 image has one compressor)\n");
    CHECK_FALSE(fs::exists(out));

    RunResult m2 = merge({lz4, zstd}, out);
    CHECK(m2.exit_code == 1);
    CHECK(m2.err == "rafs: " + zstd.string() +
                        ": bootstrap uses compressor zstd, this image uses lz4_block "
                        "(a v5 image has one compressor)\n");

    RunResult m3 = merge({zstd, small}, out);
    CHECK(m3.exit_code == 1);
    CHECK(m3.err == "rafs: " + small.string() + ": chunk size 0x1000 differs from the image's 0x100000\n");
    CHECK_FALSE(fs::exists(out));
  }

  TEST_CASE("--prefetch-policy fs takes the list from stdin and writes the prefetch table") {
    TempDir tmp;
    const fs::path l1 = create_layer(tmp, "l1", {tar_dir("usr"), tar_file("usr/lib", "l"), tar_dir("etc"),
                                                 tar_file("etc/passwd", "p"), tar_file("etc/hosts", "h")});
    const fs::path l2 = create_layer(tmp, "l2", {tar_file("etc/.wh.hosts", ""), tar_file("etc/passwd", "p2")});
    const fs::path merged = tmp / "merged.boot";
    RunResult m = merge({l1, l2}, merged, {"--prefetch-policy", "fs"}, "/etc/passwd\n/nope\n/usr\n/etc/hosts\nrel\n");
    INFO(m.err);
    REQUIRE(m.exit_code == 0);
    CHECK(m.err == "rafs: warning: prefetch list: skipping relative path rel\n"
                   "rafs: warning: prefetch list: /nope is not in the image\n"
                   "rafs: warning: prefetch list: /etc/hosts is not in the image\n");
    json d = dump(merged);
    REQUIRE(d.at("prefetch").size() == 2);
    CHECK(d.at("prefetch")[0].at("path") == "/etc/passwd");
    CHECK(d.at("prefetch")[1].at("path") == "/usr");
    auto n = by_path(d);
    CHECK(d.at("prefetch")[0].at("ino") == n.at("/etc/passwd").at("ino"));
    CHECK(d.at("prefetch")[1].at("ino") == n.at("/usr").at("ino"));
    for (const auto& b : d.at("blobs")) {
      CHECK(b.at("readahead_size") == 0);
    }
    CHECK(run_rafs({"check", merged.string(), "-D", (tmp / "blobs").string()}).exit_code == 0);
  }

  TEST_CASE("--prefetch-policy blob sets each blob's readahead range over the listed files' chunks") {
    TempDir tmp;
    const fs::path l1 = create_layer(tmp, "l1",
                                     {tar_file("a", random_bytes(0x2000, 21)), tar_file("b", random_bytes(0x1000, 22)),
                                      tar_file("c", random_bytes(0x1800, 23)), tar_file("z", random_bytes(0x1000, 24))},
                                     {"--chunk-size", "0x1000"});
    const fs::path l2 = create_layer(tmp, "l2", {tar_file("e", random_bytes(0x1000, 25))}, {"--chunk-size", "0x1000"});
    const fs::path merged = tmp / "merged.boot";
    RunResult m = merge({l1, l2}, merged, {"--prefetch-policy", "blob"}, "/c\n/b\n");
    INFO(m.err);
    REQUIRE(m.exit_code == 0);
    json d = dump(merged);
    REQUIRE(d.at("blobs").size() == 2);
    // In layer 1's blob: a at 0, b at 0x2000, c at 0x3000 (2 chunks), z at 0x4800.
    CHECK(d.at("blobs")[0].at("readahead_offset") == 0x2000);
    CHECK(d.at("blobs")[0].at("readahead_size") == 0x2800);
    CHECK(d.at("blobs")[1].at("readahead_offset") == 0);
    CHECK(d.at("blobs")[1].at("readahead_size") == 0);
    CHECK(d.at("prefetch").empty());
  }

  TEST_CASE("a missing or bad bootstrap fails naming it") {
    TempDir tmp;
    const fs::path l1 = create_layer(tmp, "l1", {tar_file("a", "a")});
    const fs::path missing = tmp / "missing.boot";
    const fs::path out = tmp / "out.boot";
    RunResult m = merge({l1, missing}, out);
    CHECK(m.exit_code != 0);
    CHECK(m.err.find(missing.string()) != std::string::npos);
    CHECK_FALSE(fs::exists(out));

    const fs::path junk = tmp / "junk.boot";
    rafs::test::write_file(junk, std::vector<std::uint8_t>(100, 0x41));
    RunResult j = merge({l1, junk}, out);
    CHECK(j.exit_code == 1);
    CHECK(j.err.starts_with("rafs: " + junk.string() + ": "));
    CHECK(std::count(j.err.begin(), j.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(out));

    RunResult no_out = run_rafs({"merge", l1.string()});
    CHECK(no_out.exit_code == 2);
    CHECK(no_out.err == "rafs: merge: give -B/--bootstrap or -D/--blob-dir\n");
  }

  // Like every other subcommand: exit 1, one line naming the file.
  TEST_CASE("a missing layer bootstrap is bad input like in every other subcommand") {
    TempDir tmp;
    const fs::path l1 = create_layer(tmp, "l1", {tar_file("a", "a")});
    const fs::path missing = tmp / "missing.boot";
    RunResult m = merge({l1, missing}, tmp / "out.boot");
    CHECK(m.exit_code == 1);
    CHECK(m.err == "rafs: " + missing.string() + ": No such file or directory\n");
  }

  TEST_CASE("without -B the merged bootstrap is written to -D named by its sha256") {
    TempDir tmp;
    const fs::path l1 = create_layer(tmp, "l1", {tar_file("a", "a")});
    fs::create_directories(tmp / "out");
    RunResult m = run_rafs({"merge", l1.string(), "-D", (tmp / "out").string()});
    INFO(m.err);
    REQUIRE(m.exit_code == 0);
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(tmp / "out")) {
      files.push_back(e.path());
    }
    REQUIRE(files.size() == 1);
    CHECK(files[0].filename().string().size() == 64);
    CHECK(m.out.starts_with("bootstrap: " + files[0].string() + "\n"));
    RunResult sum = sh("sha256sum " + shell_quote(files[0].string()));
    CHECK(sum.out.substr(0, 64) == files[0].filename().string());
  }
}
