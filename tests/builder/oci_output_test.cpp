// The OCI image layout writer: what index.json, the manifest and the config
// hold, the bootstrap layer's exact tar.gz, determinism, staging and the
// replacement of OUT_DIR, adding and removing blobs, and the layout read back
// by skopeo and checked against our schemas.
#include <doctest/doctest.h>
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/oci_output.hpp"
#include "builder/oci_output_fs.hpp"
#include "builder/oci_output_layer.hpp"
#include "format/bytes.hpp"
#include "format/digest.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rafs::builder::OciLayoutWriter;
using rafs::test::TempDir;

namespace {

constexpr const char* k_blob_type = "application/vnd.oci.image.layer.nydus.blob.v1";
constexpr const char* k_bootstrap_type = "application/vnd.oci.image.layer.v1.tar+gzip";

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) {
    b = static_cast<std::uint8_t>(gen());
  }
  return v;
}

std::string sha256_hex(const std::vector<std::uint8_t>& data) {
  rafs::Sha256 h;
  h.update(data);
  return rafs::to_hex(h.finalize());
}

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

// The error message of a failed Result, "" for a good one (doctest builds
// messages even for passing assertions when run with -s).
template <typename R> std::string why(const R& r) {
  return r.ok() ? std::string() : r.error().message;
}

// A fake data blob in `dir`, named by its sha256.
std::pair<std::string, std::uint64_t> make_blob(const fs::path& dir, std::size_t size,
                                                std::uint32_t seed) {
  auto data = random_bytes(size, seed);
  std::string id = sha256_hex(data);
  rafs::test::write_file(dir / id, data);
  return {id, size};
}

// A Docker-style config: extra Docker fields, null Cmd, history with an
// empty layer, a variant.
const std::string k_source_config = R"({
  "architecture": "arm64", "variant": "v8", "os": "linux",
  "created": "2024-05-01T10:00:00.123456789Z", "author": "someone",
  "docker_version": "24.0.7",
  "config": {"Env": ["PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"],
             "Entrypoint": ["/bin/sh", "-c"], "Cmd": null, "WorkingDir": "/srv",
             "Labels": {"a.b": "c"}, "ExposedPorts": {"80/tcp": {}}},
  "rootfs": {"type": "layers",
             "diff_ids": ["sha256:1111111111111111111111111111111111111111111111111111111111111111"]},
  "history": [{"created": "2024-05-01T09:00:00Z", "created_by": "ADD file:x in /"},
              {"created": "2024-05-01T09:00:01Z", "created_by": "CMD [\"sh\"]",
               "empty_layer": true}]
})";

const std::vector<std::uint8_t> k_bootstrap = random_bytes(10000, 7);

OciLayoutWriter::Image make_image(std::vector<std::pair<std::string, std::uint64_t>> blobs,
                                  std::string ref = "v1") {
  OciLayoutWriter::Image image;
  image.data_blobs = std::move(blobs);
  image.bootstrap = k_bootstrap;
  image.source_config = bytes(k_source_config);
  image.ref_name = std::move(ref);
  return image;
}

// Two blobs made by "the builder" in blob_dir(), committed to `out`.
OciLayoutWriter::Written write_layout(const fs::path& out, std::string ref = "v1") {
  auto w = OciLayoutWriter::create(out);
  REQUIRE(w.ok());
  auto a = make_blob(w->blob_dir(), 5000, 1);
  auto b = make_blob(w->blob_dir(), 70000, 2);
  auto written = w->commit(make_image({a, b}, std::move(ref)));
  REQUIRE_MESSAGE(written.ok(), why(written));
  return *written;
}

std::string hex_of(const std::string& digest) {
  REQUIRE(digest.rfind("sha256:", 0) == 0);
  return digest.substr(7);
}

json read_json(const fs::path& p) { return json::parse(rafs::test::read_text(p)); }

json read_blob_json(const fs::path& out, const std::string& digest) {
  return read_json(out / "blobs" / "sha256" / hex_of(digest));
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) {
    v.push_back(e.path().filename().string());
  }
  std::sort(v.begin(), v.end());
  return v;
}

// Every file under `dir` with its bytes.
std::map<std::string, std::vector<std::uint8_t>> tree_of(const fs::path& dir) {
  std::map<std::string, std::vector<std::uint8_t>> m;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      m[fs::relative(e.path(), dir).string()] = rafs::test::read_file(e.path());
    }
  }
  return m;
}

struct TarEntry {
  std::string path;
  unsigned mode = 0;
  std::int64_t uid = -1, gid = -1, mtime = -1;
  std::vector<std::uint8_t> data;
};

// Every entry of a tar.gz, read with libarchive (gzip filter only: the layer
// must really be gzip).
std::vector<TarEntry> read_tar_gz(const std::vector<std::uint8_t>& gz) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  REQUIRE(archive_read_open_memory(a.get(), gz.data(), gz.size()) == ARCHIVE_OK);
  std::vector<TarEntry> entries;
  archive_entry* e = nullptr;
  int r = 0;
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    TarEntry t;
    t.path = archive_entry_pathname(e);
    t.mode = archive_entry_mode(e);
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    t.mtime = archive_entry_mtime(e);
    t.data.resize(static_cast<std::size_t>(archive_entry_size(e)));
    REQUIRE(archive_read_data(a.get(), t.data.data(), t.data.size()) ==
            static_cast<la_ssize_t>(t.data.size()));
    entries.push_back(std::move(t));
  }
  REQUIRE(r == ARCHIVE_EOF);
  return entries;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

rafs::test::RunResult validate(const std::string& schema, const fs::path& doc) {
  return rafs::test::sh("python3 " RAFS_SOURCE_DIR "/ci/validate_json.py " RAFS_SOURCE_DIR
                        "/schemas/" +
                        schema + " " + q(doc));
}

} // namespace

TEST_SUITE("builder::oci layout writer") {
  TEST_CASE("index.json, manifest and config are laid out the way nydusify lays them out") {
    TempDir tmp;
    const fs::path out = tmp / "out";
    auto w = OciLayoutWriter::create(out);
    REQUIRE(w.ok());
    auto a = make_blob(w->blob_dir(), 5000, 1);
    auto b = make_blob(w->blob_dir(), 70000, 2);
    auto written = w->commit(make_image({a, b}, "nydus-v5"));
    REQUIRE_MESSAGE(written.ok(), why(written));

    CHECK(names_in(out) == std::vector<std::string>{"blobs", "index.json", "oci-layout"});
    CHECK(rafs::test::read_text(out / "oci-layout") == R"({"imageLayoutVersion":"1.0.0"})");
    // 2 data blobs, bootstrap layer, config, manifest.
    CHECK(names_in(out / "blobs" / "sha256").size() == 5);

    const std::string index_text = rafs::test::read_text(out / "index.json");
    const json index = json::parse(index_text);
    const std::string manifest_text =
        rafs::test::read_text(out / "blobs" / "sha256" / hex_of(written->manifest_digest));
    CHECK(index == json::parse(R"({"schemaVersion":2,
      "mediaType":"application/vnd.oci.image.index.v1+json",
      "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",
        "digest":")" + written->manifest_digest + R"(",
        "size":)" + std::to_string(manifest_text.size()) + R"(,
        "platform":{"os":"linux","architecture":"arm64","variant":"v8"},
        "annotations":{"org.opencontainers.image.ref.name":"nydus-v5"}}]})"));
    CHECK(index_text == index.dump()); // canonical: compact, sorted keys

    // Blobs are named by their digest.
    CHECK("sha256:" + sha256_hex(bytes(manifest_text)) == written->manifest_digest);
    const auto layer_gz =
        rafs::test::read_file(out / "blobs" / "sha256" / hex_of(written->bootstrap_layer_digest));
    CHECK("sha256:" + sha256_hex(layer_gz) == written->bootstrap_layer_digest);
    const std::string config_text =
        rafs::test::read_text(out / "blobs" / "sha256" / hex_of(written->config_digest));
    CHECK("sha256:" + sha256_hex(bytes(config_text)) == written->config_digest);

    const json manifest = json::parse(manifest_text);
    CHECK(manifest_text == manifest.dump());
    CHECK(manifest == json::parse(R"({"schemaVersion":2,
      "mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json",
        "digest":")" + written->config_digest + R"(","size":)" +
                                  std::to_string(config_text.size()) + R"(},
      "layers":[
        {"mediaType":")" + k_blob_type + R"(","digest":"sha256:)" + a.first +
                                  R"(","size":5000,
         "annotations":{"containerd.io/snapshot/nydus-blob":"true"}},
        {"mediaType":")" + k_blob_type + R"(","digest":"sha256:)" + b.first +
                                  R"(","size":70000,
         "annotations":{"containerd.io/snapshot/nydus-blob":"true"}},
        {"mediaType":")" + k_bootstrap_type + R"(","digest":")" +
                                  written->bootstrap_layer_digest + R"(","size":)" +
                                  std::to_string(layer_gz.size()) + R"(,
         "annotations":{"containerd.io/snapshot/nydus-bootstrap":"true",
                        "containerd.io/snapshot/nydus-fs-version":"5"}}]})"));

    // The config is the source's with rootfs replaced: everything else kept.
    const json config = json::parse(config_text);
    CHECK(config_text == config.dump());
    json expected = json::parse(k_source_config);
    expected["rootfs"] = {{"type", "layers"},
                          {"diff_ids",
                           {"sha256:" + a.first, "sha256:" + b.first, written->bootstrap_diff_id}}};
    CHECK(config == expected);
    CHECK(config["config"]["Env"] ==
          json::parse(R"(["PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"])"));
    CHECK(config["config"]["Cmd"].is_null());
    CHECK(config["history"].size() == 2);
    CHECK(config["history"][1]["empty_layer"] == true);
    CHECK(config["created"] == "2024-05-01T10:00:00.123456789Z");
    CHECK(config["author"] == "someone");
    CHECK(config["docker_version"] == "24.0.7");
  }

  TEST_CASE("the bootstrap layer is a gzip tar holding only image/image.boot with the bootstrap") {
    TempDir tmp;
    const auto written = write_layout(tmp / "out");
    const fs::path layer =
        tmp / "out" / "blobs" / "sha256" / hex_of(written.bootstrap_layer_digest);
    const auto gz = rafs::test::read_file(layer);

    // gzip header: deflate, no flags (no name, comment, extra), mtime 0, OS 255.
    REQUIRE(gz.size() > 18);
    CHECK(gz[0] == 0x1f);
    CHECK(gz[1] == 0x8b);
    CHECK(gz[2] == 8);
    CHECK(gz[3] == 0);
    CHECK((gz[4] | gz[5] | gz[6] | gz[7]) == 0);
    CHECK(gz[9] == 255);

    const auto entries = read_tar_gz(gz);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].path == "image/image.boot");
    CHECK(entries[0].mode == (S_IFREG | 0644));
    CHECK(entries[0].uid == 0);
    CHECK(entries[0].gid == 0);
    CHECK(entries[0].mtime == 0);
    CHECK(entries[0].data == k_bootstrap);

    // The same read by GNU tar and gzip; the diff_id is the sha256 of the tar.
    auto listed = rafs::test::sh("TZ=UTC tar --numeric-owner -tvzf " + q(layer));
    CHECK(listed.exit_code == 0);
    CHECK(listed.out == "-rw-r--r-- 0/0           10000 1970-01-01 00:00 image/image.boot\n");
    auto content = rafs::test::sh("tar -xzOf " + q(layer) + " image/image.boot | sha256sum");
    CHECK(content.out == sha256_hex(k_bootstrap) + "  -\n");
    auto tar_sum = rafs::test::sh("gzip -dc " + q(layer) + " | sha256sum");
    CHECK("sha256:" + tar_sum.out.substr(0, 64) == written.bootstrap_diff_id);
    auto gz_test = rafs::test::sh("gzip -t " + q(layer));
    CHECK(gz_test.exit_code == 0);
  }

  TEST_CASE("the ustar writer pads data to 512 bytes and ends with two zero blocks") {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{512}, std::size_t{513}}) {
      CAPTURE(n);
      auto data = random_bytes(n, 3);
      auto tar = rafs::builder::ustar_single_file("image/image.boot", data);
      REQUIRE(tar.ok());
      CHECK(tar->size() == 512 + (n + 511) / 512 * 512 + 1024);
      auto gz = rafs::builder::gzip_deterministic(*tar);
      REQUIRE(gz.ok());
      auto entries = read_tar_gz(*gz);
      REQUIRE(entries.size() == 1);
      CHECK(entries[0].data == data);
    }
    auto long_name = rafs::builder::ustar_single_file(std::string(101, 'a'), {});
    REQUIRE_FALSE(long_name.ok());
    CHECK(long_name.error().code == rafs::Errc::invalid_argument);
  }

  TEST_CASE("the same input gives the same bytes and digests in two runs") {
    TempDir tmp;
    const auto one = write_layout(tmp / "one");
    const auto two = write_layout(tmp / "two");
    CHECK(one.manifest_digest == two.manifest_digest);
    CHECK(one.config_digest == two.config_digest);
    CHECK(one.bootstrap_layer_digest == two.bootstrap_layer_digest);
    CHECK(one.bootstrap_diff_id == two.bootstrap_diff_id);
    CHECK(tree_of(tmp / "one") == tree_of(tmp / "two"));
    // A different name changes index.json only.
    const auto three = write_layout(tmp / "three", "other");
    CHECK(three.manifest_digest == one.manifest_digest);
    CHECK(rafs::test::read_text(tmp / "three" / "index.json") !=
          rafs::test::read_text(tmp / "one" / "index.json"));
  }

  TEST_CASE("an existing OUT_DIR is replaced and neither it nor the staging directory is left") {
    TempDir tmp;
    const fs::path out = tmp / "out";
    fs::create_directories(out / "sub");
    rafs::test::write_file(out / "old-marker", bytes("old"));
    rafs::test::write_file(out / "sub" / "f", bytes("old"));
    const auto written = write_layout(out / ""); // a trailing slash is the same directory
    CHECK(names_in(tmp.path()) == std::vector<std::string>{"out"});
    CHECK(names_in(out) == std::vector<std::string>{"blobs", "index.json", "oci-layout"});
    CHECK(fs::exists(out / "blobs" / "sha256" / hex_of(written.manifest_digest)));
    // And again over a layout.
    write_layout(out);
    CHECK(names_in(tmp.path()) == std::vector<std::string>{"out"});
  }

  TEST_CASE("a file or a symlink at OUT_DIR is not replaced") {
    TempDir tmp;
    rafs::test::write_file(tmp / "file", bytes("keep"));
    fs::create_directory(tmp / "dir");
    fs::create_directory_symlink("dir", tmp / "link");
    for (const char* name : {"file", "link"}) {
      CAPTURE(name);
      auto w = OciLayoutWriter::create(tmp / name);
      REQUIRE(w.ok());
      auto r = w->commit(make_image({}));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == rafs::Errc::invalid_argument);
      CHECK(r.error().message ==
            (tmp / name).string() + ": exists and is not a directory; not replacing it");
    }
    CHECK(rafs::test::read_text(tmp / "file") == "keep");
    CHECK(fs::is_symlink(tmp / "link"));
    CHECK(names_in(tmp.path()) == std::vector<std::string>{"dir", "file", "link"});
  }

  TEST_CASE("a writer destroyed before commit leaves no staging directory and no OUT_DIR") {
    TempDir tmp;
    {
      auto w = OciLayoutWriter::create(tmp / "out");
      REQUIRE(w.ok());
      const fs::path staging = w->blob_dir().parent_path().parent_path();
      CHECK(staging.parent_path() == tmp.path());
      CHECK(staging.filename().string().rfind(".out.tmp-", 0) == 0);
      make_blob(w->blob_dir(), 100, 1);
      CHECK(names_in(tmp.path()).size() == 1);
    }
    CHECK(names_in(tmp.path()).empty());
  }

  TEST_CASE("a commit that fails leaves the old OUT_DIR as it was, and can be retried") {
    TempDir tmp;
    const fs::path out = tmp / "out";
    fs::create_directory(out);
    rafs::test::write_file(out / "old-marker", bytes("old"));
    {
      auto w = OciLayoutWriter::create(out);
      REQUIRE(w.ok());
      auto a = make_blob(tmp.path(), 3000, 1);
      auto image = make_image({a});

      auto r = w->commit(image);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == rafs::Errc::not_found);
      CHECK(r.error().message ==
            (w->blob_dir() / a.first).string() + ": data blob of the image is missing");

      image.data_blobs[0].second = 3001;
      REQUIRE(w->add_blob_file(a.first, tmp / a.first).ok());
      r = w->commit(image);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == rafs::Errc::corrupted);
      CHECK(r.error().message == (w->blob_dir() / a.first).string() +
                                     ": data blob is 3000 bytes, the image says 3001");

      image.data_blobs[0].second = 3000;
      image.source_config = bytes("[1, 2]");
      r = w->commit(image);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == rafs::Errc::corrupted);
      CHECK(r.error().message == "image config: a JSON array, not an object");

      image.source_config = bytes("{\"os\": \"linux\"");
      r = w->commit(image);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == rafs::Errc::corrupted);
      CHECK(r.error().message.rfind("image config: not valid JSON (at byte ", 0) == 0);

      image.source_config = bytes(R"({"os": "linux", "architecture": 5})");
      r = w->commit(image);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == "image config: \"architecture\" is missing or not a string");

      CHECK(names_in(out) == std::vector<std::string>{"old-marker"});
      image.source_config = bytes(k_source_config);
      r = w->commit(image);
      REQUIRE_MESSAGE(r.ok(), why(r));
      CHECK(names_in(out) == std::vector<std::string>{"blobs", "index.json", "oci-layout"});

      auto again = w->commit(image);
      REQUIRE_FALSE(again.ok());
      CHECK(again.error().code == rafs::Errc::invalid_argument);
      CHECK(w->blob_dir() == out / "blobs" / "sha256");
    }
    // The committed layout outlives its writer.
    CHECK(names_in(tmp.path()).size() == 2); // out and the source blob
    CHECK(fs::exists(out / "index.json"));
  }

  TEST_CASE("a failed swap puts the old OUT_DIR back, with rename-aside and with exchange") {
    TempDir tmp;
    const fs::path out = tmp / "out";
    for (auto how : {rafs::builder::Swap::rename_aside, rafs::builder::Swap::exchange}) {
      fs::create_directory(out);
      rafs::test::write_file(out / "old-marker", bytes("old"));
      auto r = rafs::builder::install_dir(tmp / ".out.tmp-missing", out, how);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == rafs::Errc::io);
      CHECK(names_in(tmp.path()) == std::vector<std::string>{"out"});
      CHECK(names_in(out) == std::vector<std::string>{"old-marker"});

      fs::create_directory(tmp / ".out.tmp-new");
      rafs::test::write_file(tmp / ".out.tmp-new" / "new-marker", bytes("new"));
      REQUIRE(rafs::builder::install_dir(tmp / ".out.tmp-new", out, how).ok());
      CHECK(names_in(tmp.path()) == std::vector<std::string>{"out"});
      CHECK(names_in(out) == std::vector<std::string>{"new-marker"});
      fs::remove_all(out);
    }
  }

  TEST_CASE("add_blob_file hard-links a blob on the same filesystem") {
    TempDir tmp;
    auto w = OciLayoutWriter::create(tmp / "out");
    REQUIRE(w.ok());
    auto a = make_blob(tmp.path(), 4096, 5);
    REQUIRE(w->add_blob_file(a.first, tmp / a.first).ok());
    struct stat src {}, dst {};
    REQUIRE(::stat((tmp / a.first).c_str(), &src) == 0);
    REQUIRE(::stat((w->blob_dir() / a.first).c_str(), &dst) == 0);
    CHECK(src.st_ino == dst.st_ino);
    CHECK(dst.st_nlink == 2);
    // Adding it again keeps it.
    CHECK(w->add_blob_file(a.first, tmp / a.first).ok());
    REQUIRE(w->commit(make_image({a})).ok());
    CHECK(rafs::test::read_file(tmp / "out" / "blobs" / "sha256" / a.first) ==
          rafs::test::read_file(tmp / a.first));
  }

  TEST_CASE("add_blob_file copies a blob from another filesystem, and the copy path copies bytes") {
    TempDir tmp;
    auto w = OciLayoutWriter::create(tmp / "out");
    REQUIRE(w.ok());
    // 3 MiB + 1: several copy_file_range steps are not needed, but a partial block is.
    const auto data = random_bytes((std::size_t{3} << 20) + 1, 9);
    const std::string id = sha256_hex(data);

    rafs::test::write_file(tmp / "src", data);
    REQUIRE(rafs::builder::add_file(tmp / "src", w->blob_dir() / id,
                                    rafs::builder::Transfer::copy)
                .ok());
    struct stat src {}, dst {};
    REQUIRE(::stat((tmp / "src").c_str(), &src) == 0);
    REQUIRE(::stat((w->blob_dir() / id).c_str(), &dst) == 0);
    CHECK(src.st_ino != dst.st_ino);
    CHECK((dst.st_mode & 07777) == 0644);
    CHECK(rafs::test::read_file(w->blob_dir() / id) == data);
    REQUIRE(w->remove_blob(id).ok());

    struct stat shm {};
    if (::stat("/dev/shm", &shm) != 0 || shm.st_dev == dst.st_dev) {
      MESSAGE("skipped the cross-filesystem part: /dev/shm is absent or on the same filesystem");
      return;
    }
    const fs::path shm_src = fs::path("/dev/shm") / ("rafs-oci-test-" + std::to_string(::getpid()));
    rafs::test::write_file(shm_src, data);
    auto added = w->add_blob_file(id, shm_src);
    fs::remove(shm_src);
    REQUIRE_MESSAGE(added.ok(), why(added));
    CHECK(rafs::test::read_file(w->blob_dir() / id) == data);
    CHECK(names_in(w->blob_dir()) == std::vector<std::string>{id}); // no temporary file left
  }

  TEST_CASE("bad blob ids, a missing source and an unknown blob to remove are errors") {
    TempDir tmp;
    auto w = OciLayoutWriter::create(tmp / "out");
    REQUIRE(w.ok());
    for (const std::string& id : std::vector<std::string>{"", "../../etc", std::string(64, 'A'),
                                                          std::string(63, 'a')}) {
      auto r = w->add_blob_file(id, tmp / "x");
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == rafs::Errc::invalid_argument);
      CHECK(w->remove_blob(id).error().code == rafs::Errc::invalid_argument);
    }
    const std::string id(64, 'a');
    auto missing = w->add_blob_file(id, tmp / "absent");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == rafs::Errc::io);
    CHECK(missing.error().message ==
          "add blob " + id + ": " + (tmp / "absent").string() + ": No such file or directory");
    auto unknown = w->remove_blob(id);
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().code == rafs::Errc::not_found);
    CHECK(unknown.error().message == (w->blob_dir() / id).string() + ": no such blob to remove");
  }

  TEST_CASE("remove_blob drops an unreferenced blob before commit") {
    TempDir tmp;
    auto w = OciLayoutWriter::create(tmp / "out");
    REQUIRE(w.ok());
    auto keep = make_blob(w->blob_dir(), 100, 1);
    auto drop = make_blob(w->blob_dir(), 200, 2);
    REQUIRE(w->remove_blob(drop.first).ok());
    auto written = w->commit(make_image({keep}));
    REQUIRE(written.ok());
    CHECK(fs::exists(tmp / "out" / "blobs" / "sha256" / keep.first));
    CHECK_FALSE(fs::exists(tmp / "out" / "blobs" / "sha256" / drop.first));
  }

  TEST_CASE("a moved writer owns the staging directory and the moved-from one removes nothing") {
    TempDir tmp;
    auto created = OciLayoutWriter::create(tmp / "out");
    REQUIRE(created.ok());
    OciLayoutWriter w = std::move(*created);
    auto a = make_blob(w.blob_dir(), 100, 1);
    {
      OciLayoutWriter other = std::move(w);
      w = std::move(other);
    }
    REQUIRE(fs::exists(w.blob_dir() / a.first));
    REQUIRE(w.commit(make_image({a}, "")).ok());
    // No ref name: no annotations in the index; no variant: none in the platform.
    CHECK(read_json(tmp / "out" / "index.json")["manifests"][0].count("annotations") == 0);
  }

  TEST_CASE("the platform has no variant when the source config has none") {
    TempDir tmp;
    auto w = OciLayoutWriter::create(tmp / "out");
    REQUIRE(w.ok());
    auto image = make_image({});
    image.source_config = bytes(R"({"architecture":"amd64","os":"linux","config":{}})");
    auto written = w->commit(image);
    REQUIRE(written.ok());
    CHECK(read_json(tmp / "out" / "index.json")["manifests"][0]["platform"] ==
          json::parse(R"({"architecture":"amd64","os":"linux"})"));
    CHECK(read_blob_json(tmp / "out", written->config_digest)["rootfs"]["diff_ids"] ==
          json::array({written->bootstrap_diff_id}));
  }

  TEST_CASE("skopeo inspect reads the layout: manifest, layers with annotations, config") {
    TempDir tmp;
    const fs::path out = tmp / "out";
    const auto written = write_layout(out, "v1");
    const std::string manifest_text =
        rafs::test::read_text(out / "blobs" / "sha256" / hex_of(written.manifest_digest));

    // skopeo 1.9 (Debian 12) prints no LayersData: the media types and
    // annotations are read from the manifest it returns with --raw.
    auto raw = rafs::test::sh("skopeo inspect --raw " + q("oci:" + out.string() + ":v1"));
    REQUIRE_MESSAGE(raw.exit_code == 0, raw.err);
    CHECK(raw.out == manifest_text);
    const json manifest = json::parse(raw.out);
    REQUIRE(manifest["layers"].size() == 3);
    for (std::size_t i = 0; i < 2; ++i) {
      CHECK(manifest["layers"][i]["mediaType"] == k_blob_type);
      CHECK(manifest["layers"][i]["annotations"] ==
            json::parse(R"({"containerd.io/snapshot/nydus-blob":"true"})"));
    }
    CHECK(manifest["layers"][2]["mediaType"] == k_bootstrap_type);
    CHECK(manifest["layers"][2]["annotations"] ==
          json::parse(R"({"containerd.io/snapshot/nydus-bootstrap":"true",
                          "containerd.io/snapshot/nydus-fs-version":"5"})"));

    auto insp = rafs::test::sh("skopeo inspect " + q("oci:" + out.string()));
    REQUIRE_MESSAGE(insp.exit_code == 0, insp.err);
    const json info = json::parse(insp.out);
    CHECK(info["Digest"] == written.manifest_digest);
    CHECK(info["Architecture"] == "arm64");
    CHECK(info["Os"] == "linux");
    CHECK(info["Created"] == "2024-05-01T10:00:00.123456789Z");
    CHECK(info["Labels"] == json::parse(R"({"a.b":"c"})"));
    CHECK(info["Env"] == json::parse(R"(["PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"])"));
    REQUIRE(info["Layers"].size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(info["Layers"][i] == manifest["layers"][i]["digest"]);
    }

    auto cfg = rafs::test::sh("skopeo inspect --config --raw " + q("oci:" + out.string() + ":v1"));
    REQUIRE_MESSAGE(cfg.exit_code == 0, cfg.err);
    CHECK(cfg.out ==
          rafs::test::read_text(out / "blobs" / "sha256" / hex_of(written.config_digest)));

    auto ls = rafs::test::sh("umoci ls --layout " + q(out));
    CHECK(ls.exit_code == 0);
    CHECK(ls.out == "v1\n");
  }

  TEST_CASE("skopeo copies the layout to an oci-archive with every blob verified") {
    TempDir tmp;
    const fs::path out = tmp / "out";
    const auto written = write_layout(out, "v1");
    const fs::path archive_path = tmp / "image.tar";
    auto copy = rafs::test::sh("skopeo copy --quiet " + q("oci:" + out.string() + ":v1") + " " +
                               q("oci-archive:" + archive_path.string() + ":v1"));
    REQUIRE_MESSAGE(copy.exit_code == 0, copy.err);

    fs::create_directory(tmp / "x");
    auto untar = rafs::test::sh("tar -xf " + q(archive_path) + " -C " + q(tmp / "x"));
    REQUIRE(untar.exit_code == 0);
    // Nothing needed converting, so the manifest and every blob are kept byte for byte.
    CHECK(read_json(tmp / "x" / "index.json")["manifests"][0]["digest"] == written.manifest_digest);
    CHECK(tree_of(tmp / "x" / "blobs") == tree_of(out / "blobs"));
  }

  TEST_CASE("index.json, the manifest and the config validate against our schemas") {
    TempDir tmp;
    const fs::path out = tmp / "out";
    const auto written = write_layout(out, "v1");
    const fs::path blobs = out / "blobs" / "sha256";
    for (const auto& [schema, doc] :
         std::vector<std::pair<std::string, fs::path>>{
             {"oci-index.schema.json", out / "index.json"},
             {"oci-manifest.schema.json", blobs / hex_of(written.manifest_digest)},
             {"oci-config.schema.json", blobs / hex_of(written.config_digest)}}) {
      CAPTURE(schema);
      auto r = validate(schema, doc);
      CHECK_MESSAGE(r.exit_code == 0, (r.out + r.err));
    }

    // The schemas are not vacuous: a nydus blob layer without its annotation,
    // an upper-case digest, and a config without rootfs are each rejected.
    json manifest = read_blob_json(out, written.manifest_digest);
    manifest["layers"][0].erase("annotations");
    manifest["layers"][1]["digest"] = "sha256:" + std::string(64, 'A');
    rafs::test::write_file(tmp / "bad-manifest.json", bytes(manifest.dump()));
    auto bad = validate("oci-manifest.schema.json", tmp / "bad-manifest.json");
    CHECK(bad.exit_code == 1);
    CHECK(std::count(bad.out.begin(), bad.out.end(), '\n') == 2);

    json config = read_blob_json(out, written.config_digest);
    config.erase("rootfs");
    rafs::test::write_file(tmp / "bad-config.json", bytes(config.dump()));
    CHECK(validate("oci-config.schema.json", tmp / "bad-config.json").exit_code == 1);

    json index = read_json(out / "index.json");
    index["manifests"][0]["platform"].erase("os");
    rafs::test::write_file(tmp / "bad-index.json", bytes(index.dump()));
    CHECK(validate("oci-index.schema.json", tmp / "bad-index.json").exit_code == 1);
  }
}
