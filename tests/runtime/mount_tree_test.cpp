// `rafs mount` shows the image's tree exactly: an image `rafs create` made
// from a tar with every entry type equals GNU tar's extraction of that tar;
// an image `rafs convert` made from a multi-layer OCI image equals `umoci
// unpack`; the upstream fixtures reproduce their .result tree and md5 sums.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "runtime/mount_helpers.hpp"
#include "runtime/three_layers.hpp"
#include "support/feature_layer.hpp"
#include "support/fixture_result.hpp"
#include "support/oci_maker.hpp"
#include "support/tree_compare.hpp"

namespace {

using namespace rafs::test;

constexpr std::int64_t k_time = 1700000000;
constexpr std::size_t k_mib = 1 << 20;

void gnu_extract(const fs::path& tar, const fs::path& dir) {
  fs::create_directories(dir);
  RunResult x = sh("tar --xattrs --xattrs-include='*' --numeric-owner -xpf " + shell_quote(tar.string()) +
                   " -C " + shell_quote(dir.string()));
  INFO("tar -x: " << x.err);
  REQUIRE(x.exit_code == 0);
}

// `rafs create LAYER` into DIR/img.boot and DIR/blobs.
void create_image(const TempDir& tmp, const fs::path& layer) {
  fs::create_directories(tmp / "blobs");
  RunResult r = run_rafs({"create", layer.string(), "-B", (tmp / "img.boot").string(), "-D", (tmp / "blobs").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// The three-layer OCI image as TMP/src:v1, and `umoci unpack` of it as TMP/bundle.
OciImageSpec three_layer_source(const TempDir& tmp) {
  OciImageSpec image;
  image.layers = three_layers(TarFilter::gzip); // umoci 0.4.7 reads tar+gzip only
  image.tag = "v1";
  write_oci_layout(tmp / "src", {image});
  RunResult u = sh("umoci unpack --image " + shell_quote((tmp / "src").string()) + ":v1 " +
                   shell_quote((tmp / "bundle").string()));
  INFO("umoci: " << u.out << u.err);
  REQUIRE(u.exit_code == 0);
  return image;
}

} // namespace

TEST_SUITE("runtime::mount tree") {
  TEST_CASE("a `rafs create` image of a tar with every entry type mounts as GNU tar extracts the tar") {
    TempDir tmp;
    write_tar(tmp / "layer.tar", feature_entries());
    create_image(tmp, tmp / "layer.tar");
    gnu_extract(tmp / "layer.tar", tmp / "want");
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", {"-D", (tmp / "blobs").string()});
    auto diffs = compare_trees(m.path(), tmp / "want");
    INFO(join(diffs));
    CHECK(diffs.empty());
    // Hard links share the image's ino; the root is ino 1.
    struct stat a {};
    struct stat b {};
    REQUIRE(::lstat((m / "bin/tool").c_str(), &a) == 0);
    REQUIRE(::lstat((m / "a/tool-link").c_str(), &b) == 0);
    CHECK(a.st_ino == b.st_ino);
    CHECK(a.st_nlink == 3);
    REQUIRE(::stat(m.path().c_str(), &a) == 0);
    CHECK(a.st_ino == 1);
    CHECK(m.unmount() == 0);
  }

  TEST_CASE("the same image through a blob cache, digest validation and cached mode gives the same tree twice") {
    TempDir tmp;
    write_tar(tmp / "layer.tar", feature_entries());
    create_image(tmp, tmp / "layer.tar");
    gnu_extract(tmp / "layer.tar", tmp / "want");
    write_text(tmp / "cfg.json", R"({"mode": "cached", "digest_validate": true,
      "device": {"backend": {"type": "localfs", "config": {"dir": ")" + (tmp / "blobs").string() + R"("}},
                 "cache": {"type": "blobcache", "config": {"work_dir": ")" + (tmp / "cache").string() + R"("}}}})");
    for (int round = 0; round < 2; ++round) {
      CAPTURE(round);
      Mount m(tmp / "mnt");
      m.start_ok(tmp / "img.boot", {"--config", (tmp / "cfg.json").string()});
      auto diffs = compare_trees(m.path(), tmp / "want");
      INFO(join(diffs));
      CHECK(diffs.empty());
      CHECK(m.unmount() == 0);
    }
  }

  TEST_CASE("a `rafs convert` image of a multi-layer OCI image mounts as `umoci unpack` unpacks it") {
    TempDir tmp;
    three_layer_source(tmp);
    RunResult r = run_rafs({"convert", (tmp / "src").string() + ":v1", "-o", (tmp / "out").string(), "-B",
                            (tmp / "image.boot").string(), "-D", tmp.path().string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "image.boot", {"-D", tmp.path().string()});
    auto diffs = compare_trees(m.path(), tmp / "bundle" / "rootfs", {true});
    INFO(join(diffs));
    CHECK(diffs.empty());
    CHECK(fs::exists(m / "newfile")); // a whiteout never hides its own layer
    CHECK(!fs::exists(m / "lib/big"));
    CHECK(fs::is_symlink(m / "sym2dir"));
    CHECK(m.unmount() == 0);

    // The Nydus OCI layout itself mounts too: oci:DIR:TAG, blobs from DIR/blobs/sha256.
    Mount layout(tmp / "mnt-layout");
    layout.start_ok("oci:" + (tmp / "out").string() + ":v1", {});
    auto same = compare_trees(layout.path(), tmp / "bundle" / "rootfs", {true});
    INFO(join(same));
    CHECK(same.empty());
    CHECK(layout.unmount() == 0);
    RunResult wrong_tag = run_rafs({"mount", "oci:" + (tmp / "out").string() + ":nope", (tmp / "mnt-layout").string()});
    CHECK(wrong_tag.exit_code == 1);
    CHECK(wrong_tag.err == "rafs: oci:" + (tmp / "out").string() + ":nope: no image tagged nope (tags: v1)\n");
  }

  TEST_CASE("a Nydus oci-archive mounts in place: its blobs are read at their offsets in the archive") {
    TempDir tmp;
    const OciImageSpec image = three_layer_source(tmp);
    RunResult r = run_rafs({"convert", (tmp / "src").string() + ":v1", "-o", "oci-archive:" + (tmp / "img.tar").string() + ":nydus"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    Mount m(tmp / "mnt");
    m.start_ok("oci-archive:" + (tmp / "img.tar").string() + ":nydus", {});
    auto diffs = compare_trees(m.path(), tmp / "bundle" / "rootfs", {true});
    INFO(join(diffs));
    CHECK(diffs.empty());
    // Nothing was unpacked beside the archive.
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(tmp.path())) {
      left.push_back(e.path().filename().string());
    }
    std::sort(left.begin(), left.end());
    CHECK(left == std::vector<std::string>{"bundle", "img.tar", "mnt", "src"});
    CHECK(m.unmount() == 0);

    // A docker-archive as rafs (and docker 25+) writes it, selected by its docker name.
    const std::string docker_nydus = "docker-archive:" + (tmp / "d.tar").string();
    RunResult d = run_rafs({"convert", (tmp / "src").string() + ":v1", "-o", docker_nydus + ":x/app:nydus"});
    INFO(d.out << d.err);
    REQUIRE(d.exit_code == 0);
    Mount dm(tmp / "mnt");
    dm.start_ok(docker_nydus + ":x/app:nydus", {});
    auto same = compare_trees(dm.path(), tmp / "bundle" / "rootfs", {true});
    INFO(join(same));
    CHECK(same.empty());
    CHECK(dm.unmount() == 0);
    fs::remove(tmp / "d.tar");

    // A compressed archive, an unknown tag and a source image are each one line.
    REQUIRE(sh("gzip -k " + shell_quote((tmp / "img.tar").string())).exit_code == 0);
    const std::string gz = (tmp / "img.tar.gz").string();
    RunResult compressed = run_rafs({"mount", "oci-archive:" + gz, (tmp / "mnt").string()});
    CHECK(compressed.exit_code == 1);
    CHECK(compressed.err == "rafs: " + gz + ": a compressed archive: its members cannot be read in place\n");
    const std::string wrong = "oci-archive:" + (tmp / "img.tar").string() + ":nope";
    RunResult wrong_tag = run_rafs({"mount", wrong, (tmp / "mnt").string()});
    CHECK(wrong_tag.exit_code == 1);
    CHECK(wrong_tag.err == "rafs: " + wrong + ": no image tagged nope (tags: nydus)\n");
    const std::string plain = "oci:" + (tmp / "src").string() + ":v1";
    RunResult not_nydus = run_rafs({"mount", plain, (tmp / "mnt").string()});
    CHECK(not_nydus.exit_code == 1);
    CHECK(not_nydus.err == "rafs: " + plain + ": not a Nydus image (no layer annotated "
                           "containerd.io/snapshot/nydus-bootstrap)\n");
    write_docker_archive(tmp / "docker.tar", {image});
    const std::string docker = "docker-archive:" + (tmp / "docker.tar").string();
    RunResult legacy = run_rafs({"mount", docker, (tmp / "mnt").string()});
    CHECK(legacy.exit_code == 1);
    CHECK(legacy.err == "rafs: " + docker + ": a docker-archive without index.json (docker before 25) cannot hold "
                        "a Nydus image\n");
    CHECK(!is_mounted(tmp / "mnt"));

    // Converting the Nydus image again is refused at its first data blob.
    RunResult again = run_rafs({"convert", "oci-archive:" + (tmp / "img.tar").string() + ":nydus", "-o", (tmp / "again").string()});
    CHECK(again.exit_code == 1);
    CHECK(again.err.find("a Nydus data blob, not a tar layer (the image is a Nydus image already)") != std::string::npos);
    CHECK(!fs::exists(tmp / "again"));
  }

  TEST_CASE("the upstream fixtures mount and reproduce their .result tree and md5 sums, with and without a cache") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path blobs = nydus / "repeatable" / "blobs";
    for (const char* name : k_upstream_fixtures) {
      for (bool cached : {false, true}) {
        CAPTURE(name);
        CAPTURE(cached);
        TempDir tmp;
        std::vector<std::string> args{"-D", blobs.string()};
        if (cached) {
          write_text(tmp / "cfg.json", R"({"mode": "direct", "digest_validate": true,
            "device": {"cache": {"type": "blobcache", "config": {"work_dir": ")" +
                                           (tmp / "cache").string() + R"("}}}})");
          args = {"--config", (tmp / "cfg.json").string(), "-D", blobs.string()};
        }
        Mount m(tmp / "mnt");
        m.start_ok(nydus / "repeatable" / name, args);
        auto c = compare_with_result(m.path(), nydus / "repeatable" / (std::string(name) + ".result"));
        CHECK(c.got_tree == c.want_tree);
        CHECK(c.got_md5 == c.want_md5);
        CHECK(m.unmount() == 0);
      }
    }
  }
}
