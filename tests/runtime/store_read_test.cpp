// ChunkStore::read_file: bytes assembled from chunks, holes, EOF, the
// localfs backend's blob lookup, and a blob that is missing.
#include <doctest/doctest.h>

#include <cstring>

#include "format/bootstrap_writer.hpp"
#include "format/layout.hpp"
#include "runtime/fetcher.hpp"
#include "store_fixture.hpp"

using namespace rafs;
using namespace rafs::store_test;

namespace {

std::string read_range(ChunkStore& store, std::uint32_t index, std::uint64_t offset,
                       std::size_t len) {
  std::vector<std::uint8_t> buf(len, 0xEE);
  auto n = store.read_file(index, offset, buf);
  REQUIRE_MESSAGE(n, (n ? std::string() : n.error().message));
  return {reinterpret_cast<const char*>(buf.data()), *n};
}

std::string expected_range(const std::string& data, std::uint64_t offset, std::size_t len) {
  if (offset >= data.size()) {
    return {};
  }
  return data.substr(offset, len);
}

// A bootstrap whose /sparse (HAS_HOLE) has chunks only at 0x1000 and at
// 0x5000 (10 bytes): everything else is a hole. Raw chunks, one blob.
struct HoleImage {
  test::TempDir dir;
  std::unique_ptr<v5::Bootstrap> boot;
  std::string expected;
};

std::unique_ptr<HoleImage> make_hole_image() {
  auto img = std::make_unique<HoleImage>();
  const std::string a = test::random_bytes(0x1000, 7);
  const std::string b = test::random_bytes(10, 8);
  std::vector<std::uint8_t> blob(a.begin(), a.end());
  blob.insert(blob.end(), b.begin(), b.end());
  const std::uint64_t size = 0x5000 + 10;
  img->expected.assign(size, '\0');
  std::memcpy(img->expected.data() + 0x1000, a.data(), a.size());
  std::memcpy(img->expected.data() + 0x5000, b.data(), b.size());

  v5::BootstrapSpec spec;
  spec.chunk_size = 0x1000;
  spec.flags = v5::k_sb_compression_none | v5::k_sb_hash_blake3 | v5::k_sb_explicit_uid_gid;
  spec.inodes_count = 2;
  v5::BlobInfo info;
  info.id = to_hex(digest_of(DigestAlgo::sha256, blob));
  info.chunk_count = 2;
  info.uncompressed_size = blob.size();
  info.compressed_size = blob.size();
  spec.blobs = {info};

  auto chunk = [&](const std::string& data, std::uint64_t blob_off, std::uint64_t file_off,
                   std::uint32_t index) {
    v5::ChunkInfo c;
    c.block_id = digest_of(DigestAlgo::blake3,
                           Bytes(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
    c.compressed_size = static_cast<std::uint32_t>(data.size());
    c.uncompressed_size = static_cast<std::uint32_t>(data.size());
    c.compressed_offset = blob_off;
    c.uncompressed_offset = blob_off;
    c.file_offset = file_off;
    c.index = index;
    return c;
  };
  v5::InodeSpec root;
  root.name = "/";
  root.inode.ino = 1;
  root.inode.mode = 0040755;
  root.inode.nlink = 2;
  root.inode.size = 4096;
  root.inode.child_index = 2;
  root.inode.child_count = 1;
  v5::InodeSpec file;
  file.name = "sparse";
  file.inode.ino = 2;
  file.inode.parent = 1;
  file.inode.mode = 0100644;
  file.inode.nlink = 1;
  file.inode.size = size;
  file.inode.flags = v5::k_inode_has_hole;
  file.chunks = {chunk(a, 0, 0x1000, 0), chunk(b, 0x1000, 0x5000, 1)};
  file.inode.child_count = 2;
  spec.inodes = {root, file};
  auto boot = v5::Bootstrap::from_bytes(v5::encode_bootstrap(spec), "holes.boot");
  REQUIRE_MESSAGE(boot, (boot ? std::string() : boot.error().message));
  img->boot = std::make_unique<v5::Bootstrap>(std::move(*boot));
  fs::create_directories(img->dir / "blobs");
  test::write_file(img->dir / "blobs" / info.id, blob);
  return img;
}

} // namespace

TEST_SUITE("runtime::ChunkStore read") {
  TEST_CASE("read_file returns the exact bytes of every file, across chunk boundaries") {
    for (Compressor comp : {Compressor::none, Compressor::lz4_block, Compressor::zstd}) {
      for (bool cache : {false, true}) {
        INFO("compressor " << compressor_name(comp) << ", cache " << cache);
        StoreImage img = build_image({sample_layer()}, small_chunks(comp));
        auto store = open_store(img, config_for(img, cache));
        check_all_files(*store, img);
        const std::uint32_t big = img.index("/big");
        const std::string& data = img.files.at("/big");
        const std::vector<std::pair<std::uint64_t, std::size_t>> ranges = {{0, 1},
                                                                           {0x0fff, 2},
                                                                           {0x1000, 0x1000},
                                                                           {0x0fff, 0x2002},
                                                                           {0x3456, 0x9999},
                                                                           {data.size() - 1, 1},
                                                                           {data.size() - 5, 100},
                                                                           {data.size(), 10},
                                                                           {data.size() + 4096, 10},
                                                                           {12345, 0}};
        for (auto [off, len] : ranges) {
          INFO("offset " << off << " length " << len);
          CHECK(read_range(*store, big, off, len) == expected_range(data, off, len));
        }
        // Again, now that the chunks are cached (or fetched once more).
        check_all_files(*store, img);
      }
    }
  }

  TEST_CASE("holes of a HAS_HOLE file read as zeros") {
    auto img = make_hole_image();
    RuntimeConfig config;
    config.blob_dir = img->dir / "blobs";
    config.digest_validate = true;
    for (bool cache : {false, true}) {
      config.cache_enabled = cache;
      config.cache_dir = img->dir / "cache";
      auto store = runtime::open_chunk_store(*img->boot, config);
      REQUIRE(store);
      std::vector<std::uint8_t> all(img->expected.size() + 100, 0xAA);
      auto n = (*store)->read_file(2, 0, all);
      REQUIRE(n);
      CHECK(*n == img->expected.size());
      CHECK(std::string(reinterpret_cast<const char*>(all.data()), *n) == img->expected);
      for (std::uint64_t off : {0x0ULL, 0xfffULL, 0x1fffULL, 0x2000ULL, 0x4ffaULL}) {
        std::vector<std::uint8_t> buf(0x20, 0xAA);
        auto m = (*store)->read_file(2, off, buf);
        REQUIRE(m);
        CHECK(std::string(reinterpret_cast<const char*>(buf.data()), *m) ==
              img->expected.substr(off, 0x20));
      }
    }
  }

  TEST_CASE("a missing blob fails the reads of its own files only, until it appears") {
    StoreImage img = build_image(
        {{test::tar_file("lower", test::random_bytes(3 * 0x1000, 1)), test::tar_file("none", "")},
         {test::tar_file("upper", test::random_bytes(2 * 0x1000 + 5, 2))}});
    REQUIRE(img.boot->blobs().size() == 2);
    const fs::path upper_blob = img.blob_dir / img.boot->blobs()[1].id;
    const fs::path aside = img.dir->path() / "aside";
    fs::rename(upper_blob, aside);
    LogCapture log;
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config_for(img, true), backend, {log.sink()});
    std::vector<std::uint8_t> buf(0x3000);
    auto r = store->read_file(img.index("/upper"), 0, buf);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::io);
    CHECK(r.error().to_errno() == EIO);
    CHECK(r.error().message.find("blob " + img.boot->blobs()[1].id + " chunk ") !=
          std::string::npos);
    CHECK(read_all(*store, img.index("/lower")) == img.files.at("/lower"));
    CHECK(read_all(*store, img.index("/none")).empty());
    CHECK_FALSE(store->read_file(img.index("/upper"), 0, buf));
    // Logged once per chunk however often it fails.
    CHECK(log.count_containing(img.boot->blobs()[1].id) == store->stats().bad_chunks);
    fs::rename(aside, upper_blob);
    CHECK(read_all(*store, img.index("/upper")) == img.files.at("/upper"));
  }

  TEST_CASE("alt_dirs are searched in order, and blob_file serves every blob id") {
    StoreImage img = build_image({sample_layer()});
    const fs::path blob = only_blob(img);
    const fs::path alt1 = img.dir->path() / "alt1";
    const fs::path alt2 = img.dir->path() / "alt2";
    fs::create_directories(alt1);
    fs::create_directories(alt2);
    fs::rename(blob, alt2 / blob.filename());
    {
      RuntimeConfig c = config_for(img, false);
      c.alt_dirs = {alt1, alt2};
      auto store = open_store(img, c);
      check_all_files(*store, img);
    }
    {
      RuntimeConfig c = config_for(img, false);
      c.blob_dir.clear();
      c.blob_file = img.dir->path() / "single";
      fs::rename(alt2 / blob.filename(), c.blob_file);
      auto store = open_store(img, c);
      check_all_files(*store, img);
    }
  }

  TEST_CASE("blob_extents read each blob at its offset inside a larger file, and only the blobs listed") {
    StoreImage img = build_image(
        {{test::tar_file("lower", test::random_bytes(3 * 0x1000, 1))}, {test::tar_file("upper", test::random_bytes(0x1800, 2))}});
    REQUIRE(img.boot->blobs().size() == 2);
    // Both blobs packed into one file behind 1000 bytes of junk and between junk, as an archive's members lie.
    const fs::path packed = img.dir->path() / "packed";
    std::vector<std::uint8_t> bytes(1000, 'J');
    RuntimeConfig c = config_for(img, false);
    c.blob_dir.clear();
    for (const auto& b : img.boot->blobs()) {
      const std::vector<std::uint8_t> blob = test::read_file(img.blob_dir / b.id);
      c.blob_extents[b.id] = {packed, bytes.size(), blob.size()};
      bytes.insert(bytes.end(), blob.begin(), blob.end());
      bytes.insert(bytes.end(), 333, 'K');
    }
    test::write_file(packed, bytes);
    {
      auto store = open_store(img, c);
      check_all_files(*store, img);
    }
    // A blob not listed is an error of its own files' reads only.
    c.blob_extents.erase(img.boot->blobs()[1].id);
    {
      auto store = open_store(img, c);
      CHECK(read_all(*store, img.index("/lower")) == img.files.at("/lower"));
      std::vector<std::uint8_t> buf(0x100);
      auto r = store->read_file(img.index("/upper"), 0, buf);
      REQUIRE_FALSE(r);
      CHECK(r.error().to_errno() == EIO);
    }
    // An extent past the end of its file (the archive was cut) fails its reads.
    const auto& lower_id = img.boot->blobs()[0].id;
    c.blob_extents[lower_id].offset = bytes.size() - 10;
    {
      auto store = open_store(img, c);
      std::vector<std::uint8_t> buf(0x100);
      auto r = store->read_file(img.index("/lower"), 0, buf);
      REQUIRE_FALSE(r);
      CHECK(r.error().to_errno() == EIO);
    }
  }

  TEST_CASE("reading a directory or an index out of range is invalid_argument") {
    StoreImage img = build_image({sample_layer()});
    auto store = open_store(img, config_for(img, false));
    std::vector<std::uint8_t> buf(10);
    for (std::uint32_t i : {0U, 1U, img.index("/d"), img.boot->inode_count() + 1}) {
      auto r = store->read_file(i, 0, buf);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::invalid_argument);
    }
  }

  TEST_CASE("a config with neither a blob directory nor a blob file is refused") {
    StoreImage img = build_image({sample_layer()});
    RuntimeConfig c;
    auto store = runtime::open_chunk_store(*img.boot, c);
    REQUIRE_FALSE(store);
    CHECK(store.error().code == Errc::invalid_argument);
  }

  TEST_CASE("the same chunk twice in one request is fetched once") {
    const std::string block = test::random_bytes(0x1000, 3);
    StoreImage img = build_image({{test::tar_file("rep", block + block + block + block + "x")}},
                                 small_chunks(Compressor::none));
    for (bool cache : {false, true}) {
      TestBackend* backend = nullptr;
      auto store = open_test_store(img, config_for(img, cache), backend);
      CHECK(read_all(*store, img.index("/rep"), 1 << 20) == img.files.at("/rep"));
      CHECK(store->stats().chunks_fetched == 2);
    }
  }

  TEST_CASE("without a cache, reads smaller than a chunk fetch it once (recent chunks are kept)") {
    StoreImage img = build_image({sample_layer()});
    TestBackend* backend = nullptr;
    auto store = open_test_store(img, config_for(img, false), backend);
    const std::uint32_t big = img.index("/big");
    for (std::uint64_t off = 0; off < 2 * 0x1000; off += 256) {
      CHECK(read_range(*store, big, off, 256) == img.files.at("/big").substr(off, 256));
    }
    CHECK(store->stats().chunks_fetched == 2);
    CHECK(backend->reads() == 2);
  }
}
