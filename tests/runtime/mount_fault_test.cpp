// Blob files that go away or shrink under a live `rafs mount`. The localfs
// backend opens a blob file on the first read that needs it and keeps that
// descriptor until the daemon exits, so:
//   - a blob removed before any read of it: reads of its files fail with
//     EIO (the open is retried on each read, so a blob put back works
//     again); the other blob's files, and all metadata, are unaffected;
//   - a blob removed after it was opened: the held descriptor still reads
//     it, so every byte still reads right (as with any open file on Linux);
//   - a blob truncated after it was opened: chunks wholly before the cut
//     read right, a chunk reaching past it fails with EIO, every time;
//   - with the chunk cache, chunks already in the cache are served from it
//     by a later mount even though the blob is gone.
// In every case the daemon stays up and `fusermount3 -u` ends it with exit 0.
//
// The image has two blobs (a two-layer `rafs convert`), 4 KiB chunks stored
// raw, so each chunk's place in its blob (from `rafs dump --chunks`) says
// exactly which reads a cut reaches. Reads use O_DIRECT: each one reaches
// the daemon, never the page cache.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "runtime/mount_helpers.hpp"
#include "support/oci_maker.hpp"

namespace {

using namespace rafs::test;

constexpr std::size_t k_chunk = 0x1000;

struct Chunk {
  std::uint64_t blob_offset = 0;
  std::uint64_t size = 0;
  std::uint64_t file_offset = 0;
};

struct ImageFile {
  std::string data;
  std::uint32_t blob = 0; // blob-table index of all its chunks
  std::vector<Chunk> chunks;
};

struct TwoBlobImage {
  fs::path boot;
  fs::path blobs;
  std::vector<std::string> blob_ids;    // by blob-table index
  std::map<std::string, ImageFile> files; // by path in the image, without the leading '/'

  fs::path blob_file(std::uint32_t index) const { return blobs / blob_ids.at(index); }
};

// Layer 1: one/a, one/b; layer 2: two/c, two/d (random, several chunks each).
TwoBlobImage make_image(const TempDir& tmp) {
  TwoBlobImage img;
  img.files["one/a"].data = random_bytes(5 * k_chunk + 100, 1);
  img.files["one/b"].data = random_bytes(3 * k_chunk, 2);
  img.files["two/c"].data = random_bytes(6 * k_chunk + 7, 3);
  img.files["two/d"].data = random_bytes(2 * k_chunk + 1, 4);
  OciImageSpec image;
  for (const char* dir : {"one", "two"}) {
    OciLayerSpec layer;
    layer.entries.push_back(tar_dir(dir));
    for (const auto& [path, f] : img.files) {
      if (path.rfind(std::string(dir) + "/", 0) == 0) {
        layer.entries.push_back(tar_file(path, f.data));
      }
    }
    image.layers.push_back(layer);
  }
  write_oci_layout(tmp / "src", {image});
  img.boot = tmp / "img.boot";
  img.blobs = tmp / "blobs";
  fs::create_directories(img.blobs);
  RunResult r = run_rafs({"convert", (tmp / "src").string(), "-o", (tmp / "out").string(), "-B", img.boot.string(),
                          "-D", img.blobs.string(), "--chunk-size", "0x1000", "--compressor", "none"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);

  RunResult d = run_rafs({"dump", "--json", "--chunks", img.boot.string()});
  REQUIRE(d.exit_code == 0);
  const auto dump = nlohmann::json::parse(d.out);
  for (const auto& b : dump.at("blobs")) {
    img.blob_ids.push_back(b.at("id").get<std::string>());
  }
  REQUIRE(img.blob_ids.size() == 2);
  for (const auto& inode : dump.at("inodes")) {
    if (inode.at("type") != "file") {
      continue;
    }
    ImageFile& f = img.files.at(inode.at("path").get<std::string>().substr(1));
    for (const auto& c : inode.at("chunks")) {
      REQUIRE(c.at("compressed") == false);
      f.blob = c.at("blob_index").get<std::uint32_t>();
      f.chunks.push_back({c.at("compressed_offset").get<std::uint64_t>(), c.at("compressed_size").get<std::uint64_t>(),
                          c.at("file_offset").get<std::uint64_t>()});
    }
    REQUIRE(f.chunks.size() == (f.data.size() + k_chunk - 1) / k_chunk);
  }
  for (const auto& [path, f] : img.files) {
    CHECK(f.blob == (path.rfind("one/", 0) == 0 ? 0u : 1u));
  }
  return img;
}

struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};

// pread of [off, off+len) with O_DIRECT, so the read reaches the daemon
// (one call: these reads are far below FUSE's max_read); errno, or 0 with
// the bytes in `out`.
int read_direct(const fs::path& p, std::uint64_t off, std::size_t len, std::string& out) {
  out.clear();
  const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    return errno;
  }
  const std::size_t cap = (len + k_chunk - 1) / k_chunk * k_chunk;
  void* raw = nullptr;
  REQUIRE(::posix_memalign(&raw, k_chunk, cap) == 0);
  std::unique_ptr<void, FreeDeleter> buf(raw);
  const ssize_t n = ::pread(fd, raw, cap, static_cast<off_t>(off));
  const int err = n < 0 ? errno : 0;
  ::close(fd);
  out.assign(static_cast<const char*>(raw), n < 0 ? 0 : std::min(static_cast<std::size_t>(n), len));
  return err;
}

// Every file of the image read whole, expecting its bytes, or EIO for the
// files whose blob is `failing` (-1: none).
void check_whole_files(const Mount& m, const TwoBlobImage& img, int failing) {
  for (const auto& [path, f] : img.files) {
    CAPTURE(path);
    std::string got;
    const int err = read_direct(m / path, 0, f.data.size(), got);
    if (static_cast<int>(f.blob) == failing) {
      CHECK(err == EIO);
    } else {
      CHECK(err == 0);
      CHECK(got == f.data);
    }
  }
}

// The tree through the mount: paths, types and sizes, as the image has them.
void check_metadata(const Mount& m, const TwoBlobImage& img) {
  std::set<std::string> seen;
  for (const auto& e : fs::recursive_directory_iterator(m.path())) {
    const std::string rel = e.path().lexically_relative(m.path()).string();
    seen.insert(rel);
    struct stat st {};
    REQUIRE(::lstat(e.path().c_str(), &st) == 0);
    if (auto it = img.files.find(rel); it != img.files.end()) {
      CHECK(S_ISREG(st.st_mode));
      CHECK(static_cast<std::size_t>(st.st_size) == it->second.data.size());
    } else {
      CHECK(S_ISDIR(st.st_mode));
    }
  }
  CHECK(seen == std::set<std::string>{"one", "one/a", "one/b", "two", "two/c", "two/d"});
}

void check_alive(const Mount& m) {
  CHECK(is_mounted(m.path()));
  REQUIRE(m.pid().has_value());
  CHECK(::kill(*m.pid(), 0) == 0);
}

// After the faults: metadata still right, the daemon still up, and
// `fusermount3 -u` ends it with exit 0.
void check_serving_then_unmount(Mount& m, const TwoBlobImage& img) {
  check_metadata(m, img);
  check_alive(m);
  CHECK(m.unmount() == 0);
}

} // namespace

TEST_SUITE("runtime::mount faults") {
  TEST_CASE("a blob removed before any read: its files fail with EIO, the other blob and all metadata work, "
            "a blob put back reads again, clean unmount") {
    TempDir tmp;
    const TwoBlobImage img = make_image(tmp);
    Mount m(tmp / "mnt");
    m.start_ok(img.boot, {"-D", img.blobs.string()});
    // A second link (the OCI output's) keeps the bytes for putting it back.
    const fs::path kept = tmp / "out" / "blobs" / "sha256" / img.blob_ids[1];
    REQUIRE(fs::exists(kept));
    REQUIRE(fs::remove(img.blob_file(1)));

    check_whole_files(m, img, 1);
    std::string got;
    for (const Chunk& c : img.files.at("two/c").chunks) {
      CAPTURE(c.file_offset);
      CHECK(read_direct(m / "two/c", c.file_offset, k_chunk, got) == EIO);
    }
    check_metadata(m, img);
    check_alive(m);
    check_whole_files(m, img, 1); // the same again

    fs::create_hard_link(kept, img.blob_file(1));
    check_whole_files(m, img, -1);
    check_serving_then_unmount(m, img);
  }

  TEST_CASE("a blob removed after it was opened still reads right through the descriptor the daemon holds") {
    TempDir tmp;
    const TwoBlobImage img = make_image(tmp);
    Mount m(tmp / "mnt");
    m.start_ok(img.boot, {"-D", img.blobs.string()});
    std::string got;
    REQUIRE(read_direct(m / "two/c", 0, k_chunk, got) == 0); // opens blob 1
    REQUIRE(fs::remove(img.blob_file(1)));
    REQUIRE(fs::remove(tmp / "out" / "blobs" / "sha256" / img.blob_ids[1])); // its last name
    check_whole_files(m, img, -1);
    check_serving_then_unmount(m, img);
  }

  TEST_CASE("a blob truncated to half after it was opened: chunks before the cut read right, chunks reaching "
            "past it fail with EIO, the same every time, clean unmount") {
    TempDir tmp;
    const TwoBlobImage img = make_image(tmp);
    std::vector<std::string> args{"-D", img.blobs.string()};
    SUBCASE("no cache") {}
    SUBCASE("with the chunk cache") { // misses are fetched together (amplify_io) there
      args.insert(args.end(), {"--cache-dir", (tmp / "cache").string()});
    }
    Mount m(tmp / "mnt");
    m.start_ok(img.boot, args);
    std::string got;
    REQUIRE(read_direct(m / "two/c", 0, k_chunk, got) == 0); // opens blob 1
    const std::uint64_t cut = fs::file_size(img.blob_file(1)) / 2;
    fs::resize_file(img.blob_file(1), cut); // the OCI output's link is the same file

    std::size_t good = 0;
    std::size_t bad = 0;
    for (int round = 0; round < 2; ++round) {
      for (const auto& [path, f] : img.files) {
        for (const Chunk& c : f.chunks) {
          CAPTURE(path);
          CAPTURE(c.file_offset);
          const int err = read_direct(m / path, c.file_offset, k_chunk, got);
          if (f.blob == 1 && c.blob_offset + c.size > cut) {
            CHECK(err == EIO);
            bad += round == 0 ? 1 : 0;
          } else {
            CHECK(err == 0);
            CHECK(got == f.data.substr(c.file_offset, k_chunk));
            good += round == 0 && f.blob == 1 ? 1 : 0;
          }
        }
      }
    }
    CHECK(good >= 3); // both sides of the cut were read
    CHECK(bad >= 3);
    for (const char* path : {"two/c", "two/d"}) {
      CAPTURE(path);
      CHECK(read_direct(m / path, 0, img.files.at(path).data.size(), got) == EIO);
    }
    check_serving_then_unmount(m, img);
  }

  TEST_CASE("with the chunk cache, a later mount serves cached chunks of a removed blob and fails the others "
            "with EIO") {
    TempDir tmp;
    const TwoBlobImage img = make_image(tmp);
    const std::vector<std::string> args{"-D", img.blobs.string(), "--cache-dir", (tmp / "cache").string()};
    {
      Mount m(tmp / "mnt");
      m.start_ok(img.boot, args);
      std::string got;
      REQUIRE(read_direct(m / "two/c", 0, img.files.at("two/c").data.size(), got) == 0);
      REQUIRE(got == img.files.at("two/c").data);
      CHECK(m.unmount() == 0);
    }
    REQUIRE(fs::remove(img.blob_file(1)));
    Mount m(tmp / "mnt");
    m.start_ok(img.boot, args);
    std::string got;
    CHECK(read_direct(m / "two/c", 0, img.files.at("two/c").data.size(), got) == 0);
    CHECK(got == img.files.at("two/c").data);
    CHECK(read_direct(m / "two/d", 0, img.files.at("two/d").data.size(), got) == EIO);
    CHECK(read_direct(m / "one/a", 0, img.files.at("one/a").data.size(), got) == 0);
    CHECK(got == img.files.at("one/a").data);
    check_serving_then_unmount(m, img);
  }
}
