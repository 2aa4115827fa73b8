// `rafs convert`: multi-layer OCI images built by the test (gzip and zstd
// layers with whiteouts, opaque directories, type changes, cross-layer hard
// links, xattr changes), converted, unpacked with `rafs unpack` + GNU tar and
// compared with `umoci unpack` of the source image; dedup across layers;
// prefetch placement; skopeo on the output; bad images.
#include <doctest/doctest.h>

#include <sstream>
#include <nlohmann/json.hpp>

#include <set>

#include "format/bootstrap.hpp"
#include "support/dir_names.hpp"
#include "support/oci_maker.hpp"
#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"
#include "support/tree_compare.hpp"

namespace {

using namespace rafs::test;
namespace fs = std::filesystem;

constexpr std::size_t k_mib = 1 << 20;

OciLayerSpec layer_of(std::vector<TarEntry> entries, TarFilter filter) {
  OciLayerSpec l;
  l.entries = std::move(entries);
  l.filter = filter;
  return l;
}

OciImageSpec image_of(std::vector<OciLayerSpec> layers, std::string tag) {
  OciImageSpec i;
  i.layers = std::move(layers);
  i.tag = std::move(tag);
  return i;
}

// Three layers exercising every merge rule of the issue. Every file's
// content is unique except data/one and data/two (the same 2 MiB).
std::vector<OciLayerSpec> merge_layers(TarFilter middle = TarFilter::zstd) {
  const std::string dup = random_bytes(2 * k_mib, 7);
  OciLayerSpec l1 = layer_of({
      tar_dir("etc"),
      tar_file("etc/passwd", "root:x:0:0\n"),
      tar_file("etc/deleted", "gone soon\n"),
      tar_dir("opq"),
      tar_file("opq/a", "lower a\n"),
      tar_file("opq/b", "lower b\n"),
      tar_file("f2d", "a file that becomes a directory\n"),
      tar_dir("d2f"),
      tar_file("d2f/x", "under a directory that becomes a file\n"),
      tar_dir("lib"),
      tar_file("lib/big", random_bytes(3 * k_mib + 5, 1)),
      tar_file("lib/shared", "linked from above\n").with_owner(1000, 1000),
      tar_dir("sym2dir"),
      tar_file("sym2dir/y", "under a directory that becomes a symlink\n"),
      tar_file("xa", "xattrs change above\n").with_xattr("user.a", "1"),
      tar_dir("data"),
      tar_file("data/one", dup),
  }, TarFilter::gzip);
  OciLayerSpec l2 = layer_of({
      tar_dir("etc", 0700).with_mtime(1600000000),
      tar_file("etc/.wh.deleted", ""),
      tar_dir("opq"),
      tar_file("opq/.wh..wh..opq", ""),
      tar_file("opq/c", "upper c\n"),
      tar_dir("f2d"),
      tar_file("f2d/inner", "inside the new directory\n"),
      tar_file("d2f", "now a file\n"),
      tar_hardlink("lib/hl", "lib/shared"),
      tar_symlink("sym2dir", "etc"),
      tar_file("xa", "xattrs changed\n").with_xattr("user.a", "2").with_xattr("user.b", "3"),
      tar_file("data/two", dup),
  }, middle);
  OciLayerSpec l3 = layer_of({
      tar_file("f2d/.wh.inner", ""),
      tar_file("newfile", "a whiteout never hides its own layer\n"),
      tar_file(".wh.newfile", ""),
      tar_file("lib/.wh.big", ""),
  }, TarFilter::gzip);
  return {l1, l2, l3};
}

RunResult convert(const std::vector<std::string>& extra, const std::string& input = {}) {
  std::vector<std::string> args{"convert"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_rafs(args, input);
}

// rafs unpack of a bootstrap + blob dir, extracted by GNU tar into `into`.
void unpack_into(const fs::path& boot, const fs::path& blobs, const fs::path& tar, const fs::path& into) {
  RunResult u = run_rafs({"unpack", boot.string(), "-D", blobs.string(), "-o", tar.string()});
  INFO("unpack: " << u.err);
  REQUIRE(u.exit_code == 0);
  fs::create_directories(into);
  RunResult x = sh("tar --xattrs --xattrs-include='*' --numeric-owner -xpf " + shell_quote(tar.string()) +
                   " -C " + shell_quote(into.string()));
  INFO("tar: " << x.err);
  REQUIRE(x.exit_code == 0);
}

std::vector<std::string> paths_of(const fs::path& root) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    out.push_back(it->path().lexically_relative(root).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_text(p)); }

// What `tar -tf` lists, in archive order.
std::vector<std::string> tar_entries(const fs::path& archive) {
  RunResult list = sh("tar -tf " + shell_quote(archive.string()));
  INFO(list.err);
  REQUIRE(list.exit_code == 0);
  std::vector<std::string> entries;
  std::istringstream lines(list.out);
  for (std::string e; std::getline(lines, e);) {
    entries.push_back(e);
  }
  return entries;
}

// A member of a tar parsed as JSON.
nlohmann::json tar_json(const fs::path& archive, const std::string& member) {
  RunResult x = sh("tar -xOf " + shell_quote(archive.string()) + " " + shell_quote(member));
  INFO(x.err);
  REQUIRE(x.exit_code == 0);
  return nlohmann::json::parse(x.out);
}

} // namespace

TEST_SUITE("convert") {
  TEST_CASE("a multi-layer image converts to the same tree umoci unpacks from the source") {
    TempDir tmp;
    write_oci_layout(tmp / "src", {image_of(merge_layers(TarFilter::zstd), "v1")});
    RunResult r = convert({tmp.path().string() + "/src:v1", "-o", (tmp / "out").string(), "-B",
                           (tmp / "image.boot").string(), "-D", tmp.path().string(), "-J",
                           (tmp / "report.json").string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(run_rafs({"check", (tmp / "image.boot").string(), "-D", tmp.path().string()}).exit_code == 0);
    unpack_into(tmp / "image.boot", tmp.path(), tmp / "got.tar", tmp / "got");

    // umoci 0.4.7 reads tar+gzip only: the reference is the same layers gzip'd.
    auto gz = merge_layers(TarFilter::gzip);
    write_oci_layout(tmp / "ref", {image_of(gz, "v1")});
    RunResult u = sh("umoci unpack --image " + shell_quote((tmp / "ref").string()) + ":v1 " +
                     shell_quote((tmp / "bundle").string()));
    INFO("umoci: " << u.out << u.err);
    REQUIRE(u.exit_code == 0);
    auto diffs = compare_trees(tmp / "got", tmp / "bundle" / "rootfs", {true});
    CHECK(diffs == std::vector<std::string>{});

    INFO(nlohmann::json(paths_of(tmp / "got")).dump());
    CHECK(paths_of(tmp / "got") ==
          std::vector<std::string>{"d2f", "data", "data/one", "data/two", "etc", "etc/passwd", "f2d",
                                   "lib", "lib/hl", "lib/shared", "newfile", "opq", "opq/c",
                                   "sym2dir", "xa"});
  }

  TEST_CASE("a file present in two layers is stored once: the upper layer references the lower blob") {
    TempDir tmp;
    write_oci_layout(tmp / "src", {image_of(merge_layers(), "v1")});
    RunResult r = convert({(tmp / "src").string(), "-o", (tmp / "out").string(), "-J",
                           (tmp / "report.json").string(), "--compressor", "none"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    RunResult v = run({"/usr/bin/python3", RAFS_SOURCE_DIR "/ci/validate_json.py",
                       RAFS_SOURCE_DIR "/schemas/convert.schema.json", (tmp / "report.json").string()});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
    auto j = read_json(tmp / "report.json");
    REQUIRE(j["layers"].size() == 3);
    const auto& l2 = j["layers"][1];
    // Layer 2: opq/c, f2d/inner, d2f, xa (1 chunk each) and data/two (2
    // chunks, both already in layer 1's blob).
    CHECK(l2["chunks"] == 6);
    CHECK(l2["chunks_stored"] == 4);
    CHECK(l2["dedup_hits"] == 2);
    CHECK(l2["dedup_hits_other_blobs"] == 2);
    const std::uint64_t small = std::string("upper c\n").size() + std::string("inside the new directory\n").size() +
                                std::string("now a file\n").size() + std::string("xattrs changed\n").size();
    CHECK(l2["bytes_stored"] == small);
    CHECK(fs::file_size(tmp / "out" / "blobs" / "sha256" / l2["blob_id"].get<std::string>()) == small);
    CHECK(j["layers"][2]["chunks_stored"] == 1); // newfile
    CHECK(j["blobs"].size() == 3);
    CHECK(j["totals"]["dedup_hits"] == 2);
  }

  TEST_CASE("a lower blob whose every file was deleted or replaced above leaves the blob table and the layout") {
    TempDir tmp;
    OciLayerSpec l1 = layer_of({tar_file("a", "old a\n"), tar_file("b", "old b\n")}, TarFilter::gzip);
    OciLayerSpec l2 = layer_of({tar_file(".wh.a", ""), tar_file("b", "new b\n")}, TarFilter::gzip);
    write_oci_layout(tmp / "src", {image_of({l1, l2}, "v1")});
    RunResult r = convert({(tmp / "src").string(), "-o", (tmp / "out").string(), "-J",
                           (tmp / "report.json").string(), "--compressor", "none"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    auto j = read_json(tmp / "report.json");
    const std::string upper = j["layers"][1]["blob_id"];
    CHECK(j["blobs"] == nlohmann::json::array({upper}));
    std::set<std::string> files;
    for (const auto& e : fs::directory_iterator(tmp / "out" / "blobs" / "sha256")) {
      files.insert(e.path().filename().string());
    }
    CHECK(files.count(j["layers"][0]["blob_id"].get<std::string>()) == 0);
    CHECK(files.count(upper) == 1);
  }

  TEST_CASE("--chunk-dict: chunks found in the dictionary are referenced and its blob joins the image") {
    TempDir tmp;
    const std::string shared = random_bytes(2 * k_mib, 21);
    write_tar(tmp / "dict.tar", {tar_file("base/lib.so", shared)});
    fs::create_directories(tmp / "dict");
    RunResult d = run_rafs({"create", (tmp / "dict.tar").string(), "-D", (tmp / "dict").string(), "-B",
                            (tmp / "dict.boot").string(), "--compressor", "none"});
    INFO(d.out << d.err);
    REQUIRE(d.exit_code == 0);
    auto dict = rafs::v5::Bootstrap::open(tmp / "dict.boot");
    REQUIRE(dict);
    const std::string dict_blob = dict->blobs().at(0).id;

    auto l1 = layer_of({tar_file("app/lib.so", shared), tar_file("app/own", random_bytes(100, 22))}, TarFilter::gzip);
    write_oci_layout(tmp / "src", {image_of({l1}, "v1")});
    RunResult r = convert({(tmp / "src").string(), "-o", (tmp / "out").string(), "-B", (tmp / "image.boot").string(),
                           "-J", (tmp / "report.json").string(), "--compressor", "none", "--chunk-dict",
                           "bootstrap=" + (tmp / "dict.boot").string(), "--chunk-dict-blob-dir",
                           (tmp / "dict").string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    auto j = read_json(tmp / "report.json");
    CHECK(j["layers"][0]["dedup_hits_other_blobs"] == 2);
    CHECK(j["layers"][0]["bytes_stored"] == 100);
    auto image = rafs::v5::Bootstrap::open(tmp / "image.boot");
    REQUIRE(image);
    REQUIRE(image->blobs().size() == 2);
    CHECK(image->blobs()[0].id == dict_blob);
    CHECK(fs::exists(tmp / "out" / "blobs" / "sha256" / dict_blob));
    CHECK(run_rafs({"check", (tmp / "image.boot").string(), "-D", (tmp / "out" / "blobs" / "sha256").string()})
              .exit_code == 0);
    // A dictionary none of whose chunks is used stays out of the image.
    auto l2 = layer_of({tar_file("other", random_bytes(100, 23))}, TarFilter::gzip);
    write_oci_layout(tmp / "src2", {image_of({l2}, "v1")});
    RunResult r2 = convert({(tmp / "src2").string(), "-o", (tmp / "out2").string(), "-B",
                            (tmp / "image2.boot").string(), "--compressor", "none", "--chunk-dict",
                            (tmp / "dict.boot").string()});
    INFO(r2.out << r2.err);
    REQUIRE(r2.exit_code == 0);
    auto image2 = rafs::v5::Bootstrap::open(tmp / "image2.boot");
    REQUIRE(image2);
    CHECK(image2->blobs().size() == 1);
    CHECK_FALSE(fs::exists(tmp / "out2" / "blobs" / "sha256" / dict_blob));
  }

  TEST_CASE("skopeo inspects the output and copies it to an oci-archive, layers carry nydus annotations") {
    TempDir tmp;
    write_oci_layout(tmp / "src", {image_of(merge_layers(), "v1")});
    RunResult r = convert({(tmp / "src").string() + ":v1", "-o", (tmp / "out").string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    RunResult raw = sh("skopeo inspect --raw oci:" + shell_quote((tmp / "out").string()));
    INFO(raw.err);
    REQUIRE(raw.exit_code == 0);
    auto m = nlohmann::json::parse(raw.out);
    const auto& layers = m["layers"];
    REQUIRE(layers.size() == 4); // one blob per layer, then the bootstrap
    for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
      CHECK(layers[i]["mediaType"] == "application/vnd.oci.image.layer.nydus.blob.v1");
      CHECK(layers[i]["annotations"]["containerd.io/snapshot/nydus-blob"] == "true");
    }
    CHECK(layers.back()["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip");
    CHECK(layers.back()["annotations"]["containerd.io/snapshot/nydus-bootstrap"] == "true");
    CHECK(layers.back()["annotations"]["containerd.io/snapshot/nydus-fs-version"] == "5");
    RunResult inspect = sh("skopeo inspect oci:" + shell_quote((tmp / "out").string()));
    INFO(inspect.err);
    REQUIRE(inspect.exit_code == 0);
    auto i = nlohmann::json::parse(inspect.out);
    CHECK(i["Layers"].size() == 4);
    CHECK(i["Os"] == "linux");
    CHECK(i["Architecture"] == "amd64");
    RunResult copy = sh("skopeo copy oci:" + shell_quote((tmp / "out").string()) + " oci-archive:" +
                        shell_quote((tmp / "x.tar").string()));
    INFO(copy.out << copy.err);
    CHECK(copy.exit_code == 0);
  }

  TEST_CASE("oci-archive and docker-archive inputs give the bootstrap the layout gives") {
    TempDir tmp;
    std::vector<OciImageSpec> images{image_of(merge_layers(TarFilter::gzip), "v1")};
    write_oci_layout(tmp / "layout", images);
    write_oci_archive(tmp / "oci.tar", images);
    write_docker_archive(tmp / "docker.tar", images);
    for (const std::string& src : std::vector<std::string>{(tmp / "layout").string(), "oci-archive:" + (tmp / "oci.tar").string(),
                                  "docker-archive:" + (tmp / "docker.tar").string(),
                                  (tmp / "docker.tar").string()}) {
      CAPTURE(src);
      fs::remove_all(tmp / "out");
      RunResult r = convert({src, "-o", (tmp / "out").string(), "-B", (tmp / "got.boot").string()});
      INFO(r.out << r.err);
      REQUIRE(r.exit_code == 0);
      if (src == (tmp / "layout").string()) {
        fs::copy_file(tmp / "got.boot", tmp / "want.boot");
      } else {
        CHECK(read_file(tmp / "got.boot") == read_file(tmp / "want.boot"));
      }
    }
  }

  TEST_CASE("prefetch blob: listed files' chunks fill each blob's readahead range, in list order, nothing else") {
    TempDir tmp;
    OciLayerSpec l1 = layer_of({tar_file("a/one", random_bytes(k_mib + 7, 11)), tar_file("a/two", random_bytes(300, 12)),
                     tar_file("b/cold", random_bytes(2 * k_mib, 13)), tar_file("hot", random_bytes(500, 14))},
                    TarFilter::gzip);
    OciLayerSpec l2 = layer_of({tar_file("c/cold2", random_bytes(k_mib, 15)), tar_file("c/hot2", random_bytes(k_mib + 1, 16))},
                    TarFilter::zstd);
    write_oci_layout(tmp / "src", {image_of({l1, l2}, "v1")});
    RunResult r = convert({(tmp / "src").string(), "-o", (tmp / "out").string(), "-B",
                           (tmp / "image.boot").string(), "--prefetch-policy", "blob", "--compressor", "none"},
                          "/hot\n  /c/hot2 \nrelative/x\n/a\n/a/one\n/missing\n");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("prefetch list: skipping relative path relative/x") != std::string::npos);
    CHECK(r.err.find("prefetch list: /missing is not in the image") != std::string::npos);
    auto boot = rafs::v5::Bootstrap::open(tmp / "image.boot");
    REQUIRE(boot);
    CHECK(boot->prefetch_table().empty());
    const auto& blobs = boot->blobs();
    REQUIRE(blobs.size() == 2);
    auto chunks_of = [&](const std::string& path) {
      auto index = boot->lookup(path);
      REQUIRE(index);
      std::vector<rafs::v5::ChunkInfo> out;
      for (std::uint32_t k = 0; k < boot->chunk_count(*index); ++k) {
        out.push_back(boot->chunk(*index, k));
      }
      return out;
    };
    auto inside = [&](const rafs::v5::ChunkInfo& c) {
      const auto& b = blobs[c.blob_index];
      return c.compressed_offset >= b.readahead_offset &&
             c.compressed_offset + c.compressed_size <= std::uint64_t{b.readahead_offset} + b.readahead_size;
    };
    // List order: /hot, /c/hot2, /a (a/one, a/two): offsets increase along it within each blob.
    std::uint64_t region_bytes[2] = {0, 0};
    std::uint64_t last_end[2] = {0, 0};
    for (const std::string& p : std::vector<std::string>{"/hot", "/c/hot2", "/a/one", "/a/two"}) {
      for (const auto& c : chunks_of(p)) {
        CAPTURE(p);
        CHECK(inside(c));
        CHECK(c.compressed_offset >= last_end[c.blob_index]);
        last_end[c.blob_index] = c.compressed_offset + c.compressed_size;
        region_bytes[c.blob_index] += c.compressed_size;
      }
    }
    for (const std::string& p : std::vector<std::string>{"/b/cold", "/c/cold2"}) {
      for (const auto& c : chunks_of(p)) {
        CAPTURE(p);
        CHECK_FALSE(inside(c));
      }
    }
    // The ranges hold exactly the listed files' data.
    for (std::uint32_t b = 0; b < 2; ++b) {
      CHECK(blobs[b].readahead_size == region_bytes[b]);
    }
    CHECK(run_rafs({"check", (tmp / "image.boot").string(), "-D", (tmp / "out" / "blobs" / "sha256").string()})
              .exit_code == 0);
  }

  TEST_CASE("prefetch fs: the table holds the listed existing inodes in list order") {
    TempDir tmp;
    OciLayerSpec l1 = layer_of({tar_file("usr/bin/sh", "sh"), tar_file("etc/hosts", "hosts"), tar_file("etc/other", "o")},
                    TarFilter::gzip);
    write_oci_layout(tmp / "src", {image_of({l1}, "v1")});
    RunResult r = convert({(tmp / "src").string(), "-o", (tmp / "out").string(), "-B",
                           (tmp / "image.boot").string(), "--prefetch-policy", "fs"},
                          "/etc/hosts\n/usr/bin\n/usr/bin/sh\n/nope\n");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    auto boot = rafs::v5::Bootstrap::open(tmp / "image.boot");
    REQUIRE(boot);
    auto ino = [&](const char* p) { return static_cast<std::uint32_t>(boot->inode(*boot->lookup(p)).ino); };
    CHECK(boot->prefetch_table() == std::vector<std::uint32_t>{ino("/etc/hosts"), ino("/usr/bin")});
    for (const auto& b : boot->blobs()) {
      CHECK(b.readahead_size == 0);
    }
  }

  TEST_CASE("bad images fail with one line, exit 1, and leave no output directory") {
    TempDir tmp;
    auto layer = [] { return layer_of({tar_file("f", "data\n")}, TarFilter::gzip); };
    struct Case {
      const char* name;
      std::function<void(const fs::path&)> make;
      std::string source_suffix;
      std::string expect; // in the message
    };
    std::vector<Case> cases{
        {"missing blob", [&](const fs::path& d) { auto l = layer(); l.omit_blob = true; write_oci_layout(d, {image_of({l}, "v1")}); }, "", "missing"},
        {"digest mismatch", [&](const fs::path& d) { auto l = layer(); l.wrong_digest = true; write_oci_layout(d, {image_of({l}, "v1")}); }, "", "digest"},
        {"unknown media type", [&](const fs::path& d) { auto l = layer(); l.media_type = "application/x-foo"; write_oci_layout(d, {image_of({l}, "v1")}); }, "", "application/x-foo"},
        {"broken index.json", [&](const fs::path& d) { OciLayoutOptions o; o.broken_index_json = true; write_oci_layout(d, {image_of({layer()}, "v1")}, o); }, "", "index.json"},
        {"platform not found", [&](const fs::path& d) {
           OciImageSpec a = image_of({layer()}, ""); a.architecture = "arm64"; OciImageSpec b = image_of({layer()}, ""); b.architecture = "s390x";
           write_oci_multi_platform(d, {a, b}, "v1"); }, ":v1", "linux/arm64"},
        {"a layer that is not a tar", [&](const fs::path& d) { auto l = layer(); l.content = std::string(4096, 'x'); write_oci_layout(d, {image_of({l}, "v1")}); }, "", "layer 1"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      const fs::path dir = tmp / (std::string("case-") + std::to_string(&c - cases.data()));
      fs::create_directories(dir);
      c.make(dir / "src");
      RunResult r = convert({(dir / "src").string() + c.source_suffix, "-o", (dir / "out").string()});
      CHECK(r.exit_code == 1);
      CHECK(r.err.rfind("rafs: ", 0) == 0);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
      CHECK(r.err.find(c.expect) != std::string::npos);
      INFO(r.err);
      CHECK_FALSE(fs::exists(dir / "out"));
      CHECK(names_in(dir) == std::vector<std::string>{"src"});
    }
  }

  TEST_CASE("-o oci:DIR:TAG names the image TAG, oci-archive:FILE:TAG writes that layout as one tar skopeo reads") {
    TempDir tmp;
    write_oci_layout(tmp / "src", {image_of(merge_layers(), "v1")});
    RunResult dir = convert({(tmp / "src").string() + ":v1", "-o", "oci:" + (tmp / "out").string() + ":nydus"});
    INFO(dir.out << dir.err);
    REQUIRE(dir.exit_code == 0);
    auto index = read_json(tmp / "out" / "index.json");
    CHECK(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "nydus");

    RunResult ar = convert({(tmp / "src").string() + ":v1", "-o", "oci-archive:" + (tmp / "img.tar").string() + ":nydus"});
    INFO(ar.out << ar.err);
    REQUIRE(ar.exit_code == 0);
    CHECK(ar.out.find("packed: oci-archive:" + (tmp / "img.tar").string() + ":nydus") != std::string::npos);
    RunResult inspect = sh("skopeo inspect --raw oci-archive:" + shell_quote((tmp / "img.tar").string()) + ":nydus");
    INFO(inspect.err);
    REQUIRE(inspect.exit_code == 0);
    auto m = nlohmann::json::parse(inspect.out);
    CHECK(m["layers"].size() == 4);
    CHECK(m["layers"][3]["annotations"]["containerd.io/snapshot/nydus-bootstrap"] == "true");
    // The archive holds exactly the layout (no staging left beside it).
    const std::vector<std::string> entries = tar_entries(tmp / "img.tar");
    // blobs/, blobs/sha256/, 6 blobs (3 data, bootstrap layer, config, manifest), index.json, oci-layout.
    REQUIRE(entries.size() == 10);
    CHECK(entries[0] == "blobs/");
    CHECK(entries[1] == "blobs/sha256/");
    CHECK(entries[8] == "index.json");
    CHECK(entries[9] == "oci-layout");
    CHECK(names_in(tmp.path()) == std::vector<std::string>{"img.tar", "out", "src"});
  }

  TEST_CASE("-o docker-archive:FILE:REF writes the layout plus docker's manifest.json naming REF, one tar skopeo reads as docker-archive and oci-archive") {
    using nlohmann::json;
    TempDir tmp;
    write_oci_layout(tmp / "src", {image_of(merge_layers(), "v1")});
    const std::string src = (tmp / "src").string() + ":v1";
    const fs::path file = tmp / "d.tar";
    RunResult r = convert({src, "-o", "docker-archive:" + file.string() + ":x/y:nydus"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("packed: docker-archive:" + file.string() + ":x/y:nydus\n") != std::string::npos);
    CHECK(names_in(tmp.path()) == std::vector<std::string>{"d.tar", "src"});

    // blobs/, blobs/sha256/, 6 blobs (3 data, bootstrap layer, config, manifest), then the three files.
    const std::vector<std::string> entries = tar_entries(file);
    REQUIRE(entries.size() == 11);
    CHECK(entries[0] == "blobs/");
    CHECK(entries[1] == "blobs/sha256/");
    for (std::size_t i = 2; i < 8; ++i) {
      CHECK(entries[i].rfind("blobs/sha256/", 0) == 0);
      CHECK(entries[i].size() == 13 + 64);
    }
    CHECK(std::vector<std::string>(entries.begin() + 8, entries.end()) ==
          std::vector<std::string>{"index.json", "manifest.json", "oci-layout"});

    // The OCI manifest, through skopeo's oci-archive transport: Nydus annotations kept.
    RunResult raw = sh("skopeo inspect --raw oci-archive:" + shell_quote(file.string()));
    INFO(raw.err);
    REQUIRE(raw.exit_code == 0);
    const json m = json::parse(raw.out);
    REQUIRE(m["layers"].size() == 4);
    CHECK(m["layers"][3]["annotations"]["containerd.io/snapshot/nydus-bootstrap"] == "true");

    auto member = [](const json& descriptor) {
      return "blobs/sha256/" + descriptor["digest"].get<std::string>().substr(7);
    };
    json layers = json::array();
    for (const json& l : m["layers"]) {
      layers.push_back(member(l));
    }
    const json expected = json::array(
        {{{"Config", member(m["config"])}, {"RepoTags", json::array({"x/y:nydus"})}, {"Layers", layers}}});
    CHECK(tar_json(file, "manifest.json") == expected);
    const json index = tar_json(file, "index.json");
    REQUIRE(index["manifests"].size() == 1);
    CHECK(index["manifests"][0]["annotations"] ==
          json{{"org.opencontainers.image.ref.name", "nydus"}, {"io.containerd.image.name", "x/y:nydus"}});

    RunResult inspect = sh("skopeo inspect docker-archive:" + shell_quote(file.string()));
    INFO(inspect.err);
    REQUIRE(inspect.exit_code == 0);
    CHECK(json::parse(inspect.out)["Layers"].size() == 4);

    // No REF: no RepoTags and no docker name (ref.name stays the source's, as
    // for any target without a tag). A REF without a tag gets ":latest", as
    // docker names it.
    struct Case {
      std::string ref, repo_tag;
    };
    for (const Case& c :
         {Case{"", ""}, Case{"x/y", "x/y:latest"}, Case{"registry:5000/x/y", "registry:5000/x/y:latest"}}) {
      CAPTURE(c.ref);
      const fs::path f = tmp / "other.tar";
      RunResult o = convert({src, "-o", "docker-archive:" + f.string() + (c.ref.empty() ? "" : ":" + c.ref)});
      INFO(o.out << o.err);
      REQUIRE(o.exit_code == 0);
      const json tags = c.repo_tag.empty() ? json::array() : json::array({c.repo_tag});
      CHECK(tar_json(f, "manifest.json")[0]["RepoTags"] == tags);
      const json top = tar_json(f, "index.json")["manifests"][0];
      if (c.repo_tag.empty()) {
        CHECK(top["annotations"] == json{{"org.opencontainers.image.ref.name", "v1"}});
      } else {
        CHECK(top["annotations"] == json{{"org.opencontainers.image.ref.name", "latest"},
                                         {"io.containerd.image.name", c.repo_tag}});
      }
      fs::remove(f);
    }

    // A digest names no image in an archive: refused before any work.
    RunResult digest = convert({src, "-o", "docker-archive:" + (tmp / "dg.tar").string() + ":x/y@sha256:" +
                                               std::string(64, 'a')});
    CHECK(digest.exit_code == 1);
    CHECK(digest.err.rfind("rafs: ", 0) == 0);
    CHECK(std::count(digest.err.begin(), digest.err.end(), '\n') == 1);
    CHECK(digest.err.find("not by digest") != std::string::npos);
    CHECK(names_in(tmp.path()) == std::vector<std::string>{"d.tar", "src"});
  }
}
