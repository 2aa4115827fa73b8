// Interop with upstream's v5 fixtures in ../shared/testdata/nydus (see its
// README for the values checked here).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "format/bootstrap.hpp"
#include "format/bootstrap_writer.hpp"
#include "format/chunk_reader.hpp"
#include "format/inode_digest.hpp"
#include "format/layout.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using Buf = std::vector<std::uint8_t>;
using rafs::Errc;
using rafs::v5::Bootstrap;

const std::string k_blob_id = "7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00";
constexpr std::uint64_t k_blob_size = 3508766;

struct Fixture {
  const char* file;
  std::uint64_t flags;
  rafs::DigestAlgo digester;
};

const Fixture k_fixtures[] = {
    {"sha256-nocompress-repeatable", 0x9, rafs::DigestAlgo::sha256},
    {"blake3-lz4_block-non_repeatable", 0x5, rafs::DigestAlgo::blake3},
};

// The fixtures directory, or empty after saying the test is skipped.
Bootstrap open_fixture(const fs::path& dir, const Fixture& f) {
  auto b = Bootstrap::open(dir / "repeatable" / f.file);
  if (!b) {
    FAIL("cannot open " << f.file << ": " << b.error().message);
  }
  return std::move(b).value();
}

std::uint32_t lookup(const Bootstrap& b, const std::string& path) {
  auto r = b.lookup(path);
  if (!r) {
    FAIL(r.error().message);
  }
  return *r;
}

} // namespace

TEST_SUITE("format::Bootstrap fixtures") {
  TEST_CASE("both repeatable bootstraps open with the superblock the testdata README states") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path& dir = nydus;
    for (const Fixture& f : k_fixtures) {
      CAPTURE(f.file);
      Bootstrap b = open_fixture(dir, f);
      const auto& sb = b.super_block();
      CHECK(sb.flags == f.flags);
      CHECK(b.digester() == f.digester);
      CHECK(b.compressor() == rafs::Compressor::none);
      CHECK(sb.block_size == 0x100000u);
      CHECK(sb.inode_table_offset == 8192u);
      CHECK(sb.inode_table_entries == 54u);
      CHECK(sb.inodes_count == 51u);
      CHECK(sb.prefetch_table_entries == 0u);
      CHECK(sb.prefetch_table_offset == 8408u);
      CHECK(sb.blob_table_offset == 8408u);
      CHECK(sb.blob_table_size == 72u);
      CHECK(sb.extended_blob_table_offset == 8480u);
      CHECK(sb.extended_blob_table_entries == 1u);
      CHECK(b.record_offset(Bootstrap::k_root) == 8544u);
      CHECK(b.bytes().size() == 18648u);
      CHECK(b.inode_count() == 54u);
      CHECK(b.prefetch_table().empty());
      REQUIRE(b.blobs().size() == 1);
      const rafs::v5::BlobInfo& blob = b.blobs()[0];
      CHECK(blob.id == k_blob_id);
      CHECK(blob.chunk_count == 23u);
      CHECK(blob.features == 0u);
      CHECK(blob.compressed_size == k_blob_size);
      CHECK(blob.uncompressed_size == k_blob_size);
      CHECK(blob.readahead_offset == 0u);
      CHECK(blob.readahead_size == 0u);
    }
  }

  TEST_CASE("the fixture tree has 24 directories, 23 regular files and 7 symlinks") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path& dir = nydus;
    Bootstrap b = open_fixture(dir, k_fixtures[0]);
    int dirs = 0;
    int files = 0;
    int links = 0;
    for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
      dirs += b.inode(i).is_dir() ? 1 : 0;
      files += b.inode(i).is_reg() ? 1 : 0;
      links += b.inode(i).is_symlink() ? 1 : 0;
    }
    CHECK(dirs == 24);
    CHECK(files == 23);
    CHECK(links == 7);
    CHECK(b.inode(Bootstrap::k_root).mtime == 0u);
    CHECK(b.path(Bootstrap::k_root) == "/");
  }

  TEST_CASE("the hard-link group shares ino 5 and nlink 3") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path& dir = nydus;
    for (const Fixture& f : k_fixtures) {
      CAPTURE(f.file);
      Bootstrap b = open_fixture(dir, f);
      const std::vector<std::pair<std::string, std::uint32_t>> links = {
          {"/hardlink-test/foo", 5}, {"/hardlink-test/test.sh", 6}, {"/normal-file-test/test.sh", 9}};
      for (const auto& [path, index] : links) {
        CAPTURE(path);
        CHECK(lookup(b, path) == index);
        CHECK(b.path(index) == path);
        CHECK(b.inode(index).ino == 5u);
        CHECK(b.inode(index).nlink == 3u);
        CHECK(b.inode(index).flags == 0u);
        CHECK(b.inode(index).is_hardlink());
        CHECK(b.ino_index(index) == 5u);
        CHECK(b.inode(index).digest == b.inode(5).digest);
        REQUIRE(b.chunk_count(index) == b.chunk_count(5));
        for (std::uint32_t k = 0; k < b.chunk_count(index); ++k) {
          CHECK(b.chunk(index, k) == b.chunk(5, k));
        }
      }
    }
  }

  TEST_CASE("the symlink /symlink-test/root-1 points at seventeen slashes") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path& dir = nydus;
    Bootstrap b = open_fixture(dir, k_fixtures[0]);
    const std::uint32_t i = lookup(b, "/symlink-test/root-1");
    CHECK(b.inode(i).is_symlink());
    CHECK(b.inode(i).flags == rafs::v5::k_inode_symlink);
    CHECK(std::string(b.symlink_target(i)) == std::string(17, '/'));
    CHECK(b.inode(i).size == 17u);
    CHECK(std::string(b.symlink_target(lookup(b, "/symlink-test/root-2"))) == "/foobar");
  }

  TEST_CASE("every inode digest of both fixtures verifies") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path& dir = nydus;
    for (const Fixture& f : k_fixtures) {
      CAPTURE(f.file);
      Bootstrap b = open_fixture(dir, f);
      CHECK(rafs::v5::verify_inode_digests(b).empty());
    }
  }

  TEST_CASE("re-encoding a fixture from its accessors gives the identical bytes") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path& dir = nydus;
    for (const Fixture& f : k_fixtures) {
      CAPTURE(f.file);
      Bootstrap b = open_fixture(dir, f);
      rafs::v5::BootstrapSpec spec;
      spec.chunk_size = b.chunk_size();
      spec.flags = b.super_block().flags;
      spec.inodes_count = b.super_block().inodes_count;
      spec.blobs = b.blobs();
      spec.ext_blob_table = b.has_ext_blob_table();
      spec.prefetch = b.prefetch_table();
      for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
        rafs::v5::InodeSpec s;
        s.inode = b.inode(i);
        s.name = std::string(b.name(i));
        s.symlink = std::string(b.symlink_target(i));
        s.xattrs = b.xattrs(i);
        for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
          s.chunks.push_back(b.chunk(i, k));
        }
        spec.inodes.push_back(std::move(s));
      }
      const Buf encoded = rafs::v5::encode_bootstrap(spec);
      const Buf original(b.bytes().begin(), b.bytes().end());
      REQUIRE(encoded.size() == original.size());
      auto diff = std::mismatch(encoded.begin(), encoded.end(), original.begin());
      CAPTURE(diff.first - encoded.begin());
      CHECK(encoded == original);
    }
  }

  TEST_CASE("every chunk of every regular file reads back verified from the fixture blob") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path& dir = nydus;
    for (const Fixture& f : k_fixtures) {
      CAPTURE(f.file);
      Bootstrap b = open_fixture(dir, f);
      rafs::v5::ChunkReader reader(b, dir / "repeatable" / "blobs");
      std::set<std::pair<std::uint32_t, std::uint32_t>> stored; // (blob, chunk index)
      std::uint64_t stored_bytes = 0;
      int regular = 0;
      for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
        if (!b.inode(i).is_reg()) {
          continue;
        }
        ++regular;
        CAPTURE(b.path(i));
        std::uint64_t total = 0;
        for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
          const rafs::v5::ChunkInfo c = b.chunk(i, k);
          Buf data(c.uncompressed_size);
          auto r = reader.read_chunk(c, data, true);
          REQUIRE_MESSAGE(r.ok(), r.error().message);
          total += data.size();
          if (stored.insert({c.blob_index, c.index}).second) {
            stored_bytes += c.compressed_size;
          }
        }
        CHECK(total == b.inode(i).size);
        Buf whole(b.inode(i).size);
        REQUIRE(reader.read_file(i, 0, whole, true).ok());
      }
      CHECK(regular == 23);
      CHECK(stored.size() == 23u); // the blob's chunk_count
      CHECK(stored_bytes == k_blob_size); // payloads back to back, no framing
    }
  }

  TEST_CASE("the zero chunks of the hole files are stored once and shared") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path& dir = nydus;
    Bootstrap b = open_fixture(dir, k_fixtures[0]);
    rafs::v5::ChunkReader reader(b, dir / "repeatable" / "blobs");
    const std::uint32_t holes = lookup(b, "/normal-file-test/holefiles");
    // uncompressed size -> the (blob index, compressed offset) of its all-zero chunks
    std::map<std::uint32_t, std::set<std::pair<std::uint32_t, std::uint64_t>>> zero_chunks;
    int zero_records = 0;
    for (std::uint32_t i = b.child_begin(holes); i < b.child_end(holes); ++i) {
      if (!b.inode(i).is_reg()) {
        continue;
      }
      for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
        const rafs::v5::ChunkInfo c = b.chunk(i, k);
        Buf data(c.uncompressed_size);
        REQUIRE(reader.read_chunk(c, data, true).ok());
        if (std::all_of(data.begin(), data.end(), [](std::uint8_t x) { return x == 0; })) {
          zero_chunks[c.uncompressed_size].insert({c.blob_index, c.compressed_offset});
          ++zero_records;
        }
      }
    }
    CHECK(zero_records == 5);
    REQUIRE(zero_chunks.count(0x100000) == 1);
    for (const auto& [size, places] : zero_chunks) {
      CAPTURE(size);
      CHECK(places.size() == 1);
    }
  }

  TEST_CASE("nydusd_daemon_test_bootstrap parses its superblock and tables but no inode opens") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path& dir = nydus;
    const fs::path path = dir / "bootstrap" / "nydusd_daemon_test_bootstrap";
    auto b = Bootstrap::open(path);
    REQUIRE_FALSE(b.ok());
    INFO(b.error().message);
    CHECK(b.error().code == Errc::corrupted);
    CHECK(b.error().message.rfind(path.string() + ": ", 0) == 0);
    CHECK(b.error().message.find("inode 1") != std::string::npos);

    const Buf bytes = rafs::test::read_file(path);
    const auto sb = rafs::v5::decode(rafs::load_record<rafs::v5::SuperBlockRecord>(bytes.data()));
    CHECK(rafs::v5::validate(sb, bytes.size(), rafs::Bytes(bytes).subspan(80, 8192 - 80)).ok());
    CHECK(sb.flags == 0x1u);
    CHECK(sb.inodes_count == 16816u);
    CHECK(sb.inode_table_entries == 16832u);
    CHECK(sb.blob_table_offset == 75520u);
    CHECK(sb.blob_table_size == 72u);
    CHECK(sb.extended_blob_table_entries == 0u);
    auto blobs = rafs::v5::decode_blob_table(rafs::Bytes(bytes).subspan(75520, 72));
    REQUIRE(blobs.ok());
    REQUIRE(blobs->size() == 1);
    CHECK((*blobs)[0].id == "66b413a71ac1dc91c0c331ea16867123924cf5a393b65bb025ec8255531463fe");
  }

  TEST_CASE("a flipped byte in a blob copy fails the digest check of the chunk holding it") {
    SKIP_WITHOUT_FIXTURES();
    const fs::path& dir = nydus;
    Bootstrap b = open_fixture(dir, k_fixtures[0]);
    const std::uint32_t foo = lookup(b, "/hardlink-test/foo");
    REQUIRE(b.chunk_count(foo) >= 1);
    const rafs::v5::ChunkInfo target = b.chunk(foo, 0);

    rafs::test::TempDir tmp;
    Buf blob = rafs::test::read_file(dir / "repeatable" / "blobs" / k_blob_id);
    REQUIRE(blob.size() == k_blob_size);
    blob[target.compressed_offset + target.compressed_size / 2] ^= 0x01;
    rafs::test::write_file(tmp / k_blob_id, blob);

    rafs::v5::ChunkReader reader(b, tmp.path());
    Buf data(target.uncompressed_size);
    auto r = reader.read_chunk(target, data, true);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().code == Errc::corrupted);
    CHECK(r.error().message.find("digest mismatch") != std::string::npos);
    CHECK(r.error().message.find((tmp / k_blob_id).string()) != std::string::npos);
    CHECK(r.error().message.find("chunk at offset " + std::to_string(target.compressed_offset)) !=
          std::string::npos);
    // Without verification the (wrong) bytes are returned.
    CHECK(reader.read_chunk(target, data, false).ok());
    // The other chunks are untouched.
    for (std::uint32_t i = 1; i <= b.inode_count(); ++i) {
      for (std::uint32_t k = 0; k < b.chunk_count(i); ++k) {
        const rafs::v5::ChunkInfo c = b.chunk(i, k);
        if (c.compressed_offset == target.compressed_offset) {
          continue;
        }
        Buf other(c.uncompressed_size);
        CHECK(reader.read_chunk(c, other, true).ok());
      }
    }
  }
}
