// Whole images as input: OCI layouts, oci-archives and docker-archives made
// by support/oci_maker, read back through OciImage (selection by tag and
// platform, every descriptor checked) and open_layer() (digest, media type
// and diff_id verified while streaming), plus the readers underneath.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "builder/byte_reader.hpp"
#include "builder/layer_stream.hpp"
#include "builder/oci_image.hpp"
#include "builder/oci_store.hpp"
#include "builder/tar_source.hpp"
#include "support/oci_maker.hpp"
#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace rafs;
using builder::EntryKind;
using builder::ImageFormat;
using builder::LayerCompression;
using builder::OciImage;
using builder::Platform;

namespace {

struct Entry {
  std::string path;
  EntryKind kind = EntryKind::regular;
  std::string data;
  bool operator==(const Entry&) const = default;
};

// Every entry of a source, or the error that ends it.
Result<std::vector<Entry>> read_entries(builder::Source& source) {
  std::vector<Entry> out;
  builder::SourceEntry e;
  for (;;) {
    RAFS_TRY_ASSIGN(bool more, source.next(e));
    if (!more) {
      return out;
    }
    Entry x{e.path, e.kind, {}};
    if (e.kind == EntryKind::regular) {
      x.data.assign(e.size, '\0');
      const std::uint8_t* data = nullptr;
      std::size_t len = 0;
      std::uint64_t offset = 0;
      for (;;) {
        RAFS_TRY_ASSIGN(bool block, source.data().next_block(data, len, offset));
        if (!block) {
          break;
        }
        x.data.replace(offset, len, reinterpret_cast<const char*>(data), len);
      }
    }
    out.push_back(std::move(x));
  }
}

Result<std::vector<Entry>> read_layer(const OciImage& image, std::size_t i) {
  RAFS_TRY_ASSIGN(auto source, image.open_layer(i));
  return read_entries(*source);
}

// The layer's entries; fails the test on an error.
std::vector<Entry> layer_entries(const OciImage& image, std::size_t i) {
  auto entries = read_layer(image, i);
  INFO((entries ? std::string() : entries.error().message));
  REQUIRE(entries);
  return *entries;
}

std::unique_ptr<OciImage> open_ok(const std::string& source,
                                  std::optional<Platform> platform = std::nullopt) {
  auto image = OciImage::open(source, platform);
  INFO(source << ": " << (image ? std::string() : image.error().message));
  REQUIRE(image);
  return std::move(*image);
}

Error open_error(const std::string& source, std::optional<Platform> platform = std::nullopt) {
  auto image = OciImage::open(source, platform);
  REQUIRE_FALSE(image);
  CHECK(image.error().message.find('\n') == std::string::npos);
  return image.error();
}

std::vector<Entry> expected_entries(const std::vector<test::TarEntry>& tar) {
  std::vector<Entry> out;
  for (const test::TarEntry& t : tar) {
    std::string path = t.path;
    while (!path.empty() && path.back() == '/') {
      path.pop_back();
    }
    EntryKind kind = t.type == 0040000   ? EntryKind::directory
                     : t.type == 0120000 ? EntryKind::symlink
                                         : EntryKind::regular;
    out.push_back({path, kind, kind == EntryKind::regular ? t.data : ""});
  }
  return out;
}

Platform platform(const std::string& text) {
  auto p = builder::parse_platform(text);
  REQUIRE(p);
  return *p;
}

test::OciLayerSpec layer(std::vector<test::TarEntry> entries,
                         test::TarFilter filter = test::TarFilter::none) {
  test::OciLayerSpec l;
  l.entries = std::move(entries);
  l.filter = filter;
  return l;
}

// Three layers: gzip, zstd, plain.
std::vector<test::OciLayerSpec> three_layers() {
  return {layer({test::tar_dir("etc"), test::tar_file("etc/hostname", "box\n")}, test::TarFilter::gzip),
          layer({test::tar_dir("usr"), test::tar_file("usr/big", test::random_bytes(300000, 7)),
                 test::tar_symlink("usr/link", "big")},
                test::TarFilter::zstd),
          layer({test::tar_file("etc/.wh.hostname", ""), test::tar_file("readme", "plain layer\n")})};
}

test::OciImageSpec image_spec(std::vector<test::OciLayerSpec> layers, std::string tag = "latest",
                              std::string arch = "amd64", std::string variant = "") {
  test::OciImageSpec s;
  s.layers = std::move(layers);
  s.tag = std::move(tag);
  s.architecture = std::move(arch);
  s.variant = std::move(variant);
  return s;
}

// A one-layer image whose only file says who it is.
test::OciImageSpec named_image(const std::string& who, std::string tag = "latest", std::string arch = "amd64",
                               std::string variant = "") {
  return image_spec({layer({test::tar_file("who", who)})}, std::move(tag), std::move(arch),
                    std::move(variant));
}

std::string who(const OciImage& image) {
  auto entries = layer_entries(image, 0);
  REQUIRE(entries.size() == 1);
  return entries[0].data;
}

std::string file_digest(const fs::path& p) { return test::sha256_digest(test::read_file(p)); }

} // namespace

TEST_SUITE("builder::OciImage") {
  TEST_CASE("an OCI layout with gzip, zstd and plain layers gives each layer's entries, in order") {
    test::TempDir dir;
    const auto specs = three_layers();
    const auto info = test::write_oci_layout(dir / "img", {image_spec(specs)});
    const std::string src = (dir / "img").string();
    auto image = open_ok(src);

    CHECK(image->format() == ImageFormat::oci_layout);
    CHECK(image->name() == src);
    CHECK(image->ref_name() == "latest");
    CHECK(image->manifest_digest() == info[0].manifest_digest);
    CHECK(image->platform() == Platform{"linux", "amd64", ""});
    CHECK(test::sha256_digest(image->config_bytes()) == info[0].config_digest);
    CHECK(image->config()["config"]["Entrypoint"] == nlohmann::json({"/bin/sh", "-c"}));
    REQUIRE(image->layers().size() == 3);
    const LayerCompression compressions[] = {LayerCompression::gzip, LayerCompression::zstd,
                                             LayerCompression::none};
    const char* media_types[] = {"application/vnd.oci.image.layer.v1.tar+gzip",
                                 "application/vnd.oci.image.layer.v1.tar+zstd",
                                 "application/vnd.oci.image.layer.v1.tar"};
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& l = image->layers()[i];
      CHECK(l.digest == info[0].layer_digests[i]);
      CHECK(l.diff_id == info[0].diff_ids[i]);
      CHECK(l.media_type == media_types[i]);
      CHECK(l.compression == compressions[i]);
      CHECK(l.path == info[0].layer_paths[i]);
      CHECK(l.size == fs::file_size(dir / "img" / l.path));
      CHECK(layer_entries(*image, i) == expected_entries(specs[i].entries));
    }
    CHECK(image->layer_name(1) == src + ": layer 2 (" + info[0].layer_digests[1] + ")");
  }

  TEST_CASE("a layer's source counts the compressed bytes it read and can be read again") {
    test::TempDir dir;
    test::write_oci_layout(dir / "img", {image_spec(three_layers())});
    auto image = open_ok((dir / "img").string());
    auto source = image->open_layer(1);
    REQUIRE(source);
    auto entries = read_entries(**source);
    REQUIRE(entries);
    CHECK((*source)->bytes_read() == image->layers()[1].size);
    CHECK((*source)->name() == image->layer_name(1));
    CHECK(layer_entries(*image, 1) == *entries); // a second, independent stream
  }

  TEST_CASE("DIR:TAG and oci:DIR:TAG select the image by its ref.name annotation") {
    test::TempDir dir;
    test::write_oci_layout(dir / "img", {named_image("one", "v1"), named_image("two", "v2"),
                                         named_image("three", "docker.io/library/app:3.1")});
    const std::string src = (dir / "img").string();
    auto v2 = open_ok(src + ":v2");
    CHECK(v2->ref_name() == "v2");
    CHECK(who(*v2) == "two");
    CHECK(who(*open_ok("oci:" + src + ":v1")) == "one");
    // A tag may hold ':' itself, and a reference matches by its tag part too.
    CHECK(who(*open_ok(src + ":docker.io/library/app:3.1")) == "three");
    auto by_part = open_ok(src + ":3.1");
    CHECK(by_part->ref_name() == "docker.io/library/app:3.1");
    CHECK(who(*open_ok(src + ":app:3.1")) == "three"); // docker's short form of the reference

    Error missing = open_error(src + ":v9");
    CHECK(missing.code == Errc::not_found);
    CHECK(missing.message == src + ":v9: no image tagged v9 (tags: v1, v2, docker.io/library/app:3.1)");
    Error several = open_error(src);
    CHECK(several.code == Errc::invalid_argument);
    CHECK(several.message == src + ": 3 images for platform linux/amd64 (v1, v2, docker.io/library/app:3.1); "
                                   "choose one with SOURCE:TAG or a more exact platform");
  }

  TEST_CASE("a tag also selects by the io.containerd.image.name annotation of docker 25+ archives") {
    test::TempDir dir;
    auto app = named_image("app", "3.19");
    app.containerd_name = "docker.io/library/app:3.19";
    auto other = named_image("other", "1.0");
    other.containerd_name = "docker.io/library/other:1.0";
    test::write_oci_archive(dir / "d25.tar", {other, app});
    const std::string src = (dir / "d25.tar").string();
    auto image = open_ok(src + ":app:3.19");
    CHECK(who(*image) == "app");
    CHECK(image->ref_name() == "3.19");
    CHECK(who(*open_ok(src + ":docker.io/library/other:1.0")) == "other");
  }

  TEST_CASE("a multi-platform index is narrowed to the requested platform, linux/amd64 by default") {
    test::TempDir dir;
    const auto info = test::write_oci_multi_platform(
        dir / "img",
        {named_image("amd64"), named_image("arm64", "", "arm64", "v8"), named_image("s390x", "", "s390x")},
        "multi");
    const std::string src = (dir / "img").string();
    auto amd = open_ok(src);
    CHECK(who(*amd) == "amd64");
    CHECK(amd->ref_name() == "multi");
    CHECK(amd->manifest_digest() == info[0].manifest_digest);

    auto arm = open_ok(src + ":multi", platform("linux/arm64/v8"));
    CHECK(who(*arm) == "arm64");
    CHECK(arm->platform() == Platform{"linux", "arm64", "v8"});
    CHECK(arm->manifest_digest() == info[1].manifest_digest);
    CHECK(who(*open_ok(src, platform("linux/arm64"))) == "arm64"); // no variant asked: any variant
    CHECK(who(*open_ok(src, platform("linux/s390x"))) == "s390x");

    Error none = open_error(src, platform("linux/riscv64"));
    CHECK(none.code == Errc::not_found);
    CHECK(none.message ==
          src + ": no image for platform linux/riscv64; available: linux/amd64, linux/arm64/v8, linux/s390x");
  }

  TEST_CASE("without linux/amd64 among several platforms, the error lists the available ones") {
    test::TempDir dir;
    test::write_oci_multi_platform(dir / "img",
                                   {named_image("a", "", "arm64", "v8"), named_image("s", "", "s390x")}, "");
    const std::string src = (dir / "img").string();
    Error e = open_error(src);
    CHECK(e.message == src + ": no image for platform linux/amd64; available: linux/arm64/v8, linux/s390x");
  }

  TEST_CASE("arm64 without a variant matches a request for arm64/v8") {
    test::TempDir dir;
    test::write_oci_multi_platform(dir / "img",
                                   {named_image("a", "", "arm64"), named_image("s", "", "s390x")}, "");
    CHECK(who(*open_ok((dir / "img").string(), platform("linux/arm64/v8"))) == "a");
    Error e = open_error((dir / "img").string(), platform("linux/arm64/v9"));
    CHECK(e.message.find("no image for platform linux/arm64/v9; available: linux/arm64, linux/s390x") !=
          std::string::npos);
  }

  TEST_CASE("index.json entries without a platform field are matched by their config") {
    test::TempDir dir;
    test::write_oci_layout(dir / "img", {named_image("arm", "", "arm64", "v8"), named_image("amd", "")});
    const std::string src = (dir / "img").string();
    auto amd = open_ok(src);
    CHECK(who(*amd) == "amd");
    CHECK(amd->ref_name().empty());
    CHECK(who(*open_ok(src, platform("linux/arm64"))) == "arm");
  }

  TEST_CASE("index.json entries with a platform field are selected by it") {
    test::TempDir dir;
    test::OciLayoutOptions options;
    options.platform_in_index = true;
    test::write_oci_layout(dir / "img", {named_image("arm", "", "arm64", "v8"), named_image("amd", "")},
                           options);
    CHECK(who(*open_ok((dir / "img").string(), platform("linux/arm64/v8"))) == "arm");
  }

  TEST_CASE("the only image is taken whatever its platform unless one is asked for") {
    test::TempDir dir;
    test::write_oci_layout(dir / "img", {named_image("arm", "latest", "arm64", "v8")});
    const std::string src = (dir / "img").string();
    auto image = open_ok(src);
    CHECK(image->platform() == Platform{"linux", "arm64", "v8"});
    Error e = open_error(src, platform("linux/amd64"));
    CHECK(e.message == src + ": no image for platform linux/amd64; available: linux/arm64/v8");
  }

  TEST_CASE("an oci-archive and a docker-archive give the same layers as the layout") {
    test::TempDir dir;
    const auto specs = three_layers();
    const auto layout_info = test::write_oci_layout(dir / "img", {image_spec(specs)});
    test::OciLayoutOptions dot;
    dot.member_prefix = "./"; // as `tar -C dir -cf x.tar .` writes them
    const auto oci_info = test::write_oci_archive(dir / "oci.tar", {image_spec(specs)}, dot);
    const auto docker_info = test::write_docker_archive(dir / "docker.tar", {image_spec(specs)});
    auto layout = open_ok((dir / "img").string());
    const std::string oci_src = (dir / "oci.tar").string();
    const std::string docker_src = (dir / "docker.tar").string();

    for (const std::string& src : {oci_src, "oci-archive:" + oci_src, oci_src + ":latest"}) {
      auto oci = open_ok(src);
      CHECK(oci->format() == ImageFormat::oci_archive);
      CHECK(oci->manifest_digest() == layout->manifest_digest());
      REQUIRE(oci->layers().size() == 3);
      for (std::size_t i = 0; i < 3; ++i) {
        CHECK(oci->layers()[i].digest == layout->layers()[i].digest);
        CHECK(layer_entries(*oci, i) == layer_entries(*layout, i));
      }
    }
    for (const std::string& src : {docker_src, "docker-archive:" + docker_src, docker_src + ":latest"}) {
      auto docker = open_ok(src);
      CHECK(docker->format() == ImageFormat::docker_archive);
      CHECK(docker->manifest_digest().empty());
      CHECK(docker->ref_name() == "rafs-test:latest");
      CHECK(docker->platform() == Platform{"linux", "amd64", ""});
      CHECK(test::sha256_digest(docker->config_bytes()) == docker_info[0].config_digest);
      REQUIRE(docker->layers().size() == 3);
      for (std::size_t i = 0; i < 3; ++i) {
        const auto& l = docker->layers()[i];
        CHECK(l.digest.empty());
        CHECK(l.diff_id == layout_info[0].diff_ids[i]);
        CHECK(l.path == docker_info[0].layer_paths[i]);
        CHECK(l.compression == layout->layers()[i].compression); // from the magic bytes
        CHECK(layer_entries(*docker, i) == layer_entries(*layout, i));
      }
      CHECK(docker->layer_name(0) == src + ": layer 1 (" + docker_info[0].layer_paths[0] + ")");
    }
    CHECK(oci_info[0].manifest_digest == layout_info[0].manifest_digest);
  }

  TEST_CASE("a docker-archive with several images is selected by name:tag or by tag") {
    test::TempDir dir;
    test::write_docker_archive(dir / "d.tar", {named_image("a", "a"), named_image("b", "b")});
    const std::string src = (dir / "d.tar").string();
    auto b = open_ok(src + ":b");
    CHECK(who(*b) == "b");
    CHECK(b->ref_name() == "rafs-test:b");
    CHECK(who(*open_ok("docker-archive:" + src + ":rafs-test:a")) == "a");
    Error several = open_error(src);
    CHECK(several.code == Errc::invalid_argument);
    CHECK(several.message ==
          src + ": the archive holds 2 images; choose one with SOURCE:TAG (tags: rafs-test:a, rafs-test:b)");
    Error missing = open_error(src + ":c");
    CHECK(missing.message == src + ":c: no image tagged c (tags: rafs-test:a, rafs-test:b)");
  }

  TEST_CASE("a layer blob that is not what the manifest's digest says fails when the layer ends, naming it") {
    test::TempDir dir;
    auto specs = three_layers();
    specs[2].wrong_digest = true; // plain tar: the stream itself is a valid tar
    const auto info = test::write_oci_layout(dir / "img", {image_spec(specs)});
    const std::string src = (dir / "img").string();
    auto image = open_ok(src);
    auto source = image->open_layer(2);
    REQUIRE(source);
    builder::SourceEntry e;
    REQUIRE((*source)->next(e));        // entries come as they are read...
    auto rest = read_entries(**source); // ...the digest is known at the end
    REQUIRE_FALSE(rest);
    CHECK(rest.error().code == Errc::corrupted);
    const std::string actual = file_digest(dir / "img" / info[0].layer_paths[2]);
    CHECK(rest.error().message == src + ": layer 3 (" + info[0].layer_digests[2] +
                                      "): digest mismatch: manifest says " + info[0].layer_digests[2] +
                                      ", data is " + actual);
    CHECK(layer_entries(*image, 0).size() == 2); // the other layers are fine
  }

  TEST_CASE("a layer whose uncompressed tar is not the config's diff_id fails naming the layer") {
    test::TempDir dir;
    auto specs = three_layers();
    specs[0].wrong_diff_id = true;
    const auto info = test::write_oci_layout(dir / "img", {image_spec(specs)});
    const std::string tar_digest = test::sha256_digest(test::make_tar(specs[0].entries));
    const std::string src = (dir / "img").string();
    auto image = open_ok(src);
    auto entries = read_layer(*image, 0);
    REQUIRE_FALSE(entries);
    CHECK(entries.error().code == Errc::corrupted);
    CHECK(entries.error().message == src + ": layer 1 (" + info[0].layer_digests[0] +
                                         "): diff_id mismatch: config says " + info[0].diff_ids[0] +
                                         ", data is " + tar_digest);

    test::write_docker_archive(dir / "d.tar", {image_spec(specs)});
    auto docker = open_ok((dir / "d.tar").string());
    auto docker_entries = read_layer(*docker, 0);
    REQUIRE_FALSE(docker_entries);
    CHECK(docker_entries.error().message.find("diff_id mismatch: config says " + info[0].diff_ids[0] +
                                              ", data is " + tar_digest) != std::string::npos);
  }

  TEST_CASE("a missing layer blob is an error when the image is opened") {
    test::TempDir dir;
    auto specs = three_layers();
    specs[1].omit_blob = true;
    const auto info = test::write_oci_layout(dir / "img", {image_spec(specs)});
    const std::string src = (dir / "img").string();
    Error e = open_error(src);
    CHECK(e.code == Errc::not_found);
    CHECK(e.message == src + ": blob " + info[0].layer_digests[1] + " (layer 2) is missing");

    const auto docker_info = test::write_docker_archive(dir / "d.tar", {image_spec(specs)});
    Error d = open_error((dir / "d.tar").string());
    CHECK(d.message ==
          (dir / "d.tar").string() + ": member " + docker_info[0].layer_paths[1] + " (layer 2) is missing");
  }

  TEST_CASE("a layer with an unknown media type is refused when the image is opened") {
    test::TempDir dir;
    auto specs = three_layers();
    specs[0].media_type = "application/vnd.example.weird";
    const auto info = test::write_oci_layout(dir / "img", {image_spec(specs)});
    const std::string src = (dir / "img").string();
    Error e = open_error(src);
    CHECK(e.code == Errc::unsupported);
    CHECK(e.message == src + ": layer 1 (" + info[0].layer_digests[0] +
                           "): unsupported media type application/vnd.example.weird");
  }

  TEST_CASE("a config without one diff_id per layer is refused when the image is opened") {
    test::TempDir dir;
    auto spec = image_spec(three_layers());
    spec.short_diff_ids = true;
    const auto info = test::write_oci_layout(dir / "img", {spec});
    const std::string src = (dir / "img").string();
    Error e = open_error(src);
    CHECK(e.code == Errc::corrupted);
    CHECK(e.message ==
          src + ": config " + info[0].config_digest + ": rootfs.diff_ids has 2 entries for 3 layers");
    test::write_docker_archive(dir / "d.tar", {spec});
    CHECK(open_error((dir / "d.tar").string()).message.find(": rootfs.diff_ids has 2 entries for 3 layers") !=
          std::string::npos);
  }

  TEST_CASE("a broken index.json or manifest.json is one line naming the file") {
    test::TempDir dir;
    test::OciLayoutOptions broken;
    broken.broken_index_json = true;
    test::write_oci_layout(dir / "img", {named_image("x")}, broken);
    Error e = open_error((dir / "img").string());
    CHECK(e.code == Errc::corrupted);
    CHECK(e.message.rfind((dir / "img" / "index.json").string() + ": invalid JSON: parse error at line 1",
                          0) == 0);

    test::write_oci_archive(dir / "oci.tar", {named_image("x")}, broken);
    Error a = open_error((dir / "oci.tar").string());
    CHECK(a.message.rfind((dir / "oci.tar").string() + "/index.json: invalid JSON: ", 0) == 0);

    test::write_docker_archive(dir / "d.tar", {named_image("x")}, broken);
    Error d = open_error((dir / "d.tar").string());
    CHECK(d.message.rfind((dir / "d.tar").string() + "/manifest.json: invalid JSON: ", 0) == 0);
  }

  TEST_CASE("a manifest blob that is not what index.json says is refused") {
    test::TempDir dir;
    const auto info = test::write_oci_layout(dir / "img", {named_image("x")});
    const fs::path manifest = dir / "img" / "blobs" / "sha256" / info[0].manifest_digest.substr(7);
    auto bytes = test::read_file(manifest);
    const std::string size = std::to_string(bytes.size());
    bytes.back() = ' '; // same size, other bytes
    test::write_file(manifest, bytes);
    const std::string src = (dir / "img").string();
    Error e = open_error(src);
    CHECK(e.code == Errc::corrupted);
    CHECK(e.message == src + ": blob " + info[0].manifest_digest + " (manifest): digest mismatch: data is " +
                           test::sha256_digest(bytes));
    bytes.push_back('\n');
    test::write_file(manifest, bytes);
    CHECK(open_error(src).message == src + ": blob " + info[0].manifest_digest +
                                         " (manifest): size mismatch: descriptor says " + size +
                                         " bytes, blob is " + std::to_string(bytes.size()) + " bytes");
  }

  TEST_CASE("a layer that is not a tar fails with one line naming the layer") {
    test::TempDir dir;
    test::OciLayerSpec junk;
    junk.content = std::string(2000, 'x');
    const auto info = test::write_oci_layout(dir / "img", {image_spec({junk})});
    const std::string src = (dir / "img").string();
    auto image = open_ok(src);
    auto entries = read_layer(*image, 0);
    REQUIRE_FALSE(entries);
    CHECK(entries.error().code == Errc::corrupted);
    CHECK(entries.error().message.rfind(
              src + ": layer 1 (" + info[0].layer_digests[0] + "): not a tar archive", 0) == 0);
    CHECK(entries.error().message.find('\n') == std::string::npos);
  }

  TEST_CASE("a layer whose data is not compressed as its media type says is refused") {
    test::TempDir dir;
    auto zstd_as_gzip = layer({test::tar_file("a", "a")}, test::TarFilter::zstd);
    zstd_as_gzip.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
    auto gzip_as_plain = layer({test::tar_file("b", "b")}, test::TarFilter::gzip);
    gzip_as_plain.media_type = "application/vnd.docker.image.rootfs.diff.tar";
    auto plain_as_zstd = layer({test::tar_file("c", "c")});
    plain_as_zstd.media_type = "application/vnd.oci.image.layer.v1.tar+zstd";
    const auto info =
        test::write_oci_layout(dir / "img", {image_spec({zstd_as_gzip, gzip_as_plain, plain_as_zstd})});
    const std::string src = (dir / "img").string();
    auto image = open_ok(src);
    const std::string says[] = {"media type says tar+gzip but the data is not gzip compressed",
                                "media type says tar but the data is gzip compressed",
                                "media type says tar+zstd but the data is not zstd compressed"};
    for (std::size_t i = 0; i < 3; ++i) {
      auto source = image->open_layer(i);
      REQUIRE_FALSE(source);
      CHECK(source.error().code == Errc::corrupted);
      CHECK(source.error().message == image->layer_name(i) + ": " + says[i]);
    }
  }

  TEST_CASE("a docker-archive layer may be gzip: its compression comes from the magic bytes") {
    test::TempDir dir;
    const auto specs = three_layers();
    test::write_docker_archive(dir / "d.tar", {image_spec(specs)});
    auto docker = open_ok((dir / "d.tar").string());
    CHECK(docker->layers()[0].compression == LayerCompression::gzip);
    CHECK(layer_entries(*docker, 0) == expected_entries(specs[0].entries));
  }

  TEST_CASE("sources that are not images say what is wrong") {
    test::TempDir dir;
    fs::create_directory(dir / "empty");
    const std::string empty = (dir / "empty").string();
    CHECK(open_error(empty).message == empty + ": not an OCI image layout (oci-layout is missing)");
    const std::string nothing = (dir / "nothing").string();
    Error missing = open_error(nothing + ":tag");
    CHECK(missing.code == Errc::not_found);
    CHECK(missing.message == nothing + ":tag: no such file or directory");
    test::write_tar(dir / "plain.tar", {test::tar_file("hello", "world")});
    const std::string plain = (dir / "plain.tar").string();
    CHECK(open_error(plain).message ==
          plain + ": not an image archive (no index.json, oci-layout or manifest.json)");
    test::write_file(dir / "junk", std::vector<std::uint8_t>(1000, 'j'));
    const std::string junk = (dir / "junk").string();
    CHECK(open_error(junk).message.rfind(junk + ": not a tar archive (", 0) == 0);
    CHECK(open_error("oci:" + plain).message ==
          "oci:" + plain + ": " + plain + " is not a directory (an OCI image layout)");
  }

  TEST_CASE("a plain archive locates each member's data in place, through long names and links, a gzip one refuses") {
    test::TempDir dir;
    const std::string long_dir = "d/" + std::string(150, 'x');
    const std::string long_file = long_dir + "/" + std::string(120, 'y');
    fs::create_directories(dir / "src" / long_dir);
    std::vector<std::uint8_t> data(5000);
    for (std::size_t i = 0; i < data.size(); ++i) {
      data[i] = static_cast<std::uint8_t>(i * 7 + 3);
    }
    test::write_file(dir / "src" / long_file, data);
    test::write_file(dir / "src" / "small", {'h', 'i', '\n'});
    fs::create_hard_link(dir / "src" / long_file, dir / "src" / "hard");
    fs::create_symlink("small", dir / "src" / "sym");
    const std::string src = test::shell_quote((dir / "src").string());
    for (const std::string format : {"gnu", "pax"}) {
      CAPTURE(format);
      const fs::path tar = dir / (format + ".tar");
      REQUIRE(test::sh("tar --format=" + format + " -C " + src + " -cf " + test::shell_quote(tar.string()) +
                       " d small hard sym")
                  .exit_code == 0);
      auto store = builder::open_archive_store(tar.string());
      REQUIRE(store);
      const std::vector<std::uint8_t> whole = test::read_file(tar);
      auto bytes_at = [&](const std::string& path) {
        auto e = (*store)->locate(path);
        REQUIRE_MESSAGE(e, (e ? std::string() : e.error().message));
        CHECK(e->file == tar.string());
        REQUIRE(e->offset + e->size <= whole.size());
        return std::vector<std::uint8_t>(whole.begin() + static_cast<std::ptrdiff_t>(e->offset),
                                         whole.begin() + static_cast<std::ptrdiff_t>(e->offset + e->size));
      };
      CHECK(bytes_at(long_file) == data);
      CHECK(bytes_at("./hard") == data);
      CHECK(bytes_at("small") == std::vector<std::uint8_t>{'h', 'i', '\n'});
      CHECK(bytes_at("sym") == std::vector<std::uint8_t>{'h', 'i', '\n'});
      auto missing = (*store)->locate("nope");
      REQUIRE_FALSE(missing);
      CHECK(missing.error().code == Errc::not_found);
    }
    REQUIRE(test::sh("gzip -k " + test::shell_quote((dir / "pax.tar").string())).exit_code == 0);
    auto gz = builder::open_archive_store((dir / "pax.tar.gz").string());
    REQUIRE(gz);
    auto refused = (*gz)->locate("small");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::unsupported);
    CHECK(refused.error().message ==
          (dir / "pax.tar.gz").string() + ": a compressed archive: its members cannot be read in place");
    // A layout's files are themselves.
    auto layout = builder::open_dir_store((dir / "src").string());
    REQUIRE(layout);
    auto own = (*layout)->locate("small");
    REQUIRE(own);
    CHECK(own->file == (dir / "src" / "small").string());
    CHECK(own->offset == 0);
    CHECK(own->size == 3);
  }

  TEST_CASE("platforms parse as os/arch[/variant]") {
    CHECK(platform("linux/arm64/v8") == Platform{"linux", "arm64", "v8"});
    CHECK(platform("linux/amd64").str() == "linux/amd64");
    CHECK(platform("linux/arm/v7").str() == "linux/arm/v7");
    for (const char* bad : {"", "linux", "linux/", "/amd64", "linux//v8", "a/b/c/d"}) {
      auto p = builder::parse_platform(bad);
      REQUIRE_FALSE(p);
      CHECK(p.error().code == Errc::invalid_argument);
      CHECK(p.error().message ==
            "platform '" + std::string(bad) + "' is not OS/ARCH[/VARIANT] (e.g. linux/arm64/v8)");
    }
  }
}

TEST_SUITE("builder::byte readers") {
  TEST_CASE("verify_sha256 passes matching data through and fails a wrong size or digest at the end") {
    test::TempDir dir;
    const std::vector<std::uint8_t> data = {'h', 'e', 'l', 'l', 'o'};
    test::write_file(dir / "f", data);
    const std::string path = (dir / "f").string();
    const std::string right = test::sha256_digest(data);
    const std::string wrong = test::sha256_digest({'x'});

    auto drain = [&](std::string digest, std::optional<std::uint64_t> size) -> Result<std::string> {
      RAFS_TRY_ASSIGN(auto file, builder::open_file_reader(path, "blob"));
      RAFS_TRY_ASSIGN(auto r, builder::verify_sha256(std::move(file), {digest, size, "manifest", "digest"}));
      std::string out;
      std::uint8_t buf[2];
      for (;;) {
        RAFS_TRY_ASSIGN(std::size_t n, r->read(buf));
        if (n == 0) {
          CHECK(r->raw_bytes_read() == data.size());
          RAFS_TRY_ASSIGN(std::size_t again, r->read(buf));
          CHECK(again == 0);
          return out;
        }
        out.append(reinterpret_cast<const char*>(buf), n);
      }
    };
    auto ok = drain(right, 5);
    REQUIRE(ok);
    CHECK(*ok == "hello");
    CHECK(drain(right, std::nullopt));
    auto bad_digest = drain(wrong, 5);
    REQUIRE_FALSE(bad_digest);
    CHECK(bad_digest.error().code == Errc::corrupted);
    CHECK(bad_digest.error().message ==
          "blob: digest mismatch: manifest says " + wrong + ", data is " + right);
    CHECK(drain(right, 6).error().message == "blob: size mismatch: manifest says 6 bytes, data is 5 bytes");
    CHECK(drain(right, 3).error().message == "blob: size mismatch: manifest says 3 bytes, data is longer");
    auto sha512 = drain("sha512:abc", 5);
    CHECK(sha512.error().code == Errc::unsupported);
    CHECK(sha512.error().message ==
          "blob: manifest digest: unsupported digest algorithm sha512 (only sha256 is supported)");
    CHECK(drain("sha256:ABC", 5).error().message ==
          "blob: manifest digest: 'sha256:ABC' is not a sha256 digest (64 lowercase hex digits)");
  }

  TEST_CASE("a tar source reads its stream to the end, so a verifier under it always reaches its verdict") {
    test::TempDir dir;
    // An unpadded tar followed by bytes libarchive never needs to read.
    test::TarOptions unpadded;
    unpadded.pad_last_block = false;
    auto tar = test::make_tar({test::tar_file("a", "a")}, unpadded);
    tar.resize(tar.size() + 4096, 0);
    test::write_file(dir / "t.tar", tar);
    const std::string path = (dir / "t.tar").string();
    auto open = [&](const std::string& digest) {
      auto file = builder::open_file_reader(path);
      REQUIRE(file);
      auto verified = builder::verify_sha256(std::move(*file), {digest, tar.size(), "manifest", "digest"});
      REQUIRE(verified);
      auto source = builder::open_tar_source(std::move(*verified));
      REQUIRE(source);
      return std::move(*source);
    };
    auto good = open(test::sha256_digest(tar));
    auto entries = read_entries(*good);
    REQUIRE(entries);
    CHECK(entries->size() == 1);
    CHECK(good->bytes_read() == tar.size());
    auto bad = open(test::sha256_digest({'x'}));
    auto failed = read_entries(*bad);
    REQUIRE_FALSE(failed);
    CHECK(failed.error().message.find("digest mismatch") != std::string::npos);
  }

  TEST_CASE("LayerStream with an expected compression refuses other magic bytes") {
    test::TempDir dir;
    test::write_file(dir / "plain", test::make_tar({test::tar_file("a", "a")}));
    test::TarOptions gz;
    gz.filter = test::TarFilter::gzip;
    test::write_file(dir / "gz", test::make_tar({test::tar_file("a", "a")}, gz));
    auto open = [&](const char* name, std::optional<LayerCompression> expected) {
      auto file = builder::open_file_reader((dir / name).string(), name);
      REQUIRE(file);
      return builder::LayerStream::open(std::move(*file), expected);
    };
    CHECK(open("plain", LayerCompression::none));
    CHECK(open("gz", LayerCompression::gzip));
    CHECK(open("gz", std::nullopt));
    CHECK(open("gz", LayerCompression::none).error().message ==
          "gz: media type says tar but the data is gzip compressed");
    CHECK(open("plain", LayerCompression::gzip).error().message ==
          "plain: media type says tar+gzip but the data is not gzip compressed");
    CHECK(open("gz", LayerCompression::zstd).error().message ==
          "gz: media type says tar+zstd but the data is not zstd compressed");
  }
}
