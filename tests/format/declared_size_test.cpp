// Sizes and counts a bootstrap declares that lie: each is refused at open
// with one error naming the structure, before anything is allocated in
// proportion to it, and where a cap decides, the capped value itself is
// accepted and one more is refused.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "format/bootstrap.hpp"
#include "format/chunk_reader.hpp"
#include "format/layout.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_image.hpp"

namespace {

using Buf = std::vector<std::uint8_t>;
using rafs::v5::Bootstrap;
using rafs::test::make_tiny_image;
using rafs::test::TinyImage;
using namespace rafs::test::tiny;

// Inode record field offsets (FORMAT.md §3.6) and superblock ones (§3.1).
constexpr std::uint64_t k_i_size = 64;
constexpr std::uint64_t k_i_flags = 80;
constexpr std::uint64_t k_i_child_count = 96;
constexpr std::uint64_t k_i_name_size = 100;
constexpr std::uint64_t k_i_symlink_size = 102;
constexpr std::uint64_t k_sb_inode_table_offset = 32;
constexpr std::uint64_t k_sb_entries = 56;
constexpr std::uint64_t k_sb_prefetch_entries = 60;
constexpr std::uint64_t k_sb_blob_table_size = 64;
constexpr std::uint64_t k_sb_ext_entries = 68;

rafs::Result<Bootstrap> open_bytes(Buf bytes) { return Bootstrap::from_bytes(std::move(bytes), "tiny.boot"); }

Bootstrap open_ok(Buf bytes) {
  auto r = open_bytes(std::move(bytes));
  if (!r) {
    FAIL("open failed: " << r.error().message);
  }
  return std::move(r).value();
}

// The whole message of a refused open.
std::string open_error(Buf bytes) {
  auto r = open_bytes(std::move(bytes));
  REQUIRE_FALSE(r);
  return r.error().message;
}

std::string open_error(const TinyImage& img) { return open_error(img.encode()); }

// "tiny.boot: inode N at offset 0x...: " for the good image's layout.
std::string inode_at(std::uint32_t index) {
  static const Bootstrap good = open_ok(make_tiny_image().encode());
  return "tiny.boot: inode " + std::to_string(index) + " at offset " + rafs::hex_number(good.record_offset(index)) +
         ": ";
}

template <typename T> void put(Buf& b, std::uint64_t at, T v) { rafs::store_le<T>(b.data() + at, v); }

} // namespace

TEST_SUITE("format::declared sizes") {
  TEST_CASE("a chunk claiming 4 GiB uncompressed or compressed is refused naming the inode and chunk") {
    TinyImage img = make_tiny_image();
    img.at(k_one).chunks[0].uncompressed_size = 0xFFFFFFFF;
    CHECK(open_error(img) == inode_at(k_one) + "chunk 0: uncompressed size 4294967295 != 4096");
    img = make_tiny_image();
    img.at(k_one).chunks[0].compressed_size = 0xFFFFFFFF;
    CHECK(open_error(img) == inode_at(k_one) + "chunk 0: compressed size 4294967295 is invalid");
  }

  TEST_CASE("a compressed size of 2 x chunk size + 4096 opens and reads as a clean error, one more is refused") {
    constexpr std::uint32_t k_cap = 2 * k_chunk_size + 4096;
    TinyImage img = make_tiny_image();
    img.spec.blobs[0].compressed_size = 100 + k_cap + 1; // the blob table allows the range
    img.at(k_one).chunks[0].compressed_size = k_cap + 1;
    CHECK(open_error(img) == inode_at(k_one) + "chunk 0: compressed size 12289 is invalid");

    img.at(k_one).chunks[0].compressed_size = k_cap;
    const Bootstrap b = open_ok(img.encode());
    rafs::test::TempDir blobs;
    img.write_blobs(blobs.path());
    rafs::v5::ChunkReader reader(b, blobs.path());
    Buf out(0x1000);
    auto r = reader.read_file(k_one, 0, out, true);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == (blobs / img.spec.blobs[0].id).string() + ": range 100+12288 is beyond the end (" +
                                   std::to_string(img.blob_data[0].size()) + " bytes)");
  }

  TEST_CASE("a name or symlink size running past the end of the file is refused") {
    const Buf good = make_tiny_image().encode();
    const Bootstrap b = open_ok(good);
    // /dir/sub, the last record: "sub" padded to 8 bytes ends the file.
    Buf bytes = good;
    put<std::uint16_t>(bytes, b.record_offset(k_sub) + k_i_name_size, 255);
    CHECK(open_error(bytes) == inode_at(k_sub) + "name or symlink target runs past the end of the file");
    put<std::uint16_t>(bytes, b.record_offset(k_sub) + k_i_name_size, 0xFFFF);
    CHECK(open_error(bytes) == inode_at(k_sub) + "name size 65535 is outside 1..255");
  }

  TEST_CASE("a symlink target of 4096 bytes opens, 4097 and 65535 are refused") {
    TinyImage img = make_tiny_image();
    img.at(k_link).symlink = std::string(4096, 'x');
    CHECK(open_ok(img.encode()).symlink_target(k_link).size() == 4096);
    img.at(k_link).symlink = std::string(4097, 'x');
    CHECK(open_error(img) == inode_at(k_link) + "symlink target of 4097 bytes is longer than 4096 (PATH_MAX)");

    const Buf good = make_tiny_image().encode();
    Buf bytes = good;
    put<std::uint16_t>(bytes, open_ok(good).record_offset(k_link) + k_i_symlink_size, 0xFFFF);
    CHECK(open_error(bytes) == inode_at(k_link) + "symlink target of 65535 bytes is longer than 4096 (PATH_MAX)");
  }

  TEST_CASE("an xattr value of 65536 bytes and a name of 255 open, 65537 and 256 are refused") {
    TinyImage img = make_tiny_image();
    img.at(k_one).xattrs = {{"user.x", std::string(65536, 'v')}};
    CHECK(open_ok(img.encode()).xattrs(k_one).at(0).value.size() == 65536);
    img.at(k_one).xattrs = {{"user.x", std::string(65537, 'v')}};
    CHECK(open_error(img) == inode_at(k_one) + "xattr 'user.x' value over 64 KiB");

    const std::string name255 = "user." + std::string(250, 'n');
    img.at(k_one).xattrs = {{name255, "v"}};
    CHECK(open_ok(img.encode()).xattrs(k_one).at(0).name == name255);
    img.at(k_one).xattrs = {{name255 + "n", "v"}};
    CHECK(open_error(img) == inode_at(k_one) + "xattr pair has no valid name");
  }

  TEST_CASE("a blob id of 255 bytes opens, 256 is refused") {
    TinyImage img = make_tiny_image();
    img.spec.blobs[1].id = std::string(255, 'b');
    CHECK(open_ok(img.encode()).blobs().at(1).id.size() == 255);
    img.spec.blobs[1].id = std::string(256, 'b');
    CHECK(open_error(img) == "tiny.boot: blob table at offset " + rafs::hex_number(k_blob_table_at) +
                                 ": blob table entry 1: blob id longer than 255 bytes");
  }

  // An inode table of 2^32 - 1 entries: bootstrap_test.cpp.
  TEST_CASE("prefetch, blob and extended blob table sizes of 2^32 - 1 are refused as lying outside the file") {
    const Buf good = make_tiny_image().encode();
    const std::string size = std::to_string(good.size());
    Buf bytes = good;
    put<std::uint32_t>(bytes, k_sb_prefetch_entries, 0xFFFFFFFF);
    CHECK(open_error(bytes) == "tiny.boot: superblock: prefetch table [0x2030, +0x400000000) lies outside the "
                               "file (" + size + " bytes)");
    bytes = good;
    put<std::uint32_t>(bytes, k_sb_blob_table_size, 0xFFFFFFFF);
    CHECK(open_error(bytes) == "tiny.boot: superblock: blob table [0x2040, +0xffffffff) lies outside the file (" +
                                   size + " bytes)");
    bytes = good;
    put<std::uint32_t>(bytes, k_sb_ext_entries, 0xFFFFFFFF);
    CHECK(open_error(bytes) == "tiny.boot: superblock: extended blob table [0x20d8, +0x3fffffffc0) lies outside "
                               "the file (" + size + " bytes)");
  }

  TEST_CASE("the inode allocation bound: 140 x N bytes, N = file size / 140 passes it, N + 1 is refused") {
    const Buf good = make_tiny_image().encode();
    const auto fit = static_cast<std::uint32_t>(good.size() / 140);
    Buf bytes = good;
    put<std::uint64_t>(bytes, k_sb_inode_table_offset, k_records_at); // room for the larger table
    put<std::uint32_t>(bytes, k_sb_entries, fit + 1);
    CHECK(open_error(bytes) == "tiny.boot: superblock: " + std::to_string(fit + 1) + " inodes cannot fit in " +
                                   std::to_string(good.size()) + " bytes");
    put<std::uint32_t>(bytes, k_sb_entries, fit);
    // Past the bound, the slots (here: record bytes) are read one by one.
    CHECK(open_error(bytes).rfind("tiny.boot: inode table slot 1 at offset " + rafs::hex_number(k_records_at) +
                                      ": record offset ",
                                  0) == 0);
  }

  TEST_CASE("an extended uncompressed blob size of 2^51 opens, one more is refused") {
    TinyImage img = make_tiny_image();
    img.spec.blobs[1].uncompressed_size = std::uint64_t{1} << 51;
    CHECK(open_ok(img.encode()).blobs().at(1).uncompressed_size == std::uint64_t{1} << 51);
    img.spec.blobs[1].uncompressed_size = (std::uint64_t{1} << 51) + 1;
    CHECK(open_error(img) == "tiny.boot: at offset " + rafs::hex_number(k_ext_table_at) +
                                 ": extended blob table entry 1: uncompressed size out of range");
  }

  TEST_CASE("a file declaring 1 TiB needs 2^28 chunk records: refused as running past the end, or "
            "for 2 records as the wrong count") {
    TinyImage img = make_tiny_image();
    img.at(k_two).inode.size = std::uint64_t{1} << 40;
    CHECK(open_error(img) ==
          inode_at(k_two) + "2 chunk records for a file of 1099511627776 bytes (expected 268435456)");
    img.at(k_two).inode.child_count = 1u << 28; // the writer still writes the 2 records it has
    CHECK(open_error(img) == inode_at(k_two) + "chunk array runs past the end of the file");
  }

  TEST_CASE("a HAS_HOLE file declaring 1 TiB over one chunk opens and reads zeros past it without "
            "allocating for its size") {
    const TinyImage img = make_tiny_image();
    Buf bytes = img.encode();
    const std::uint64_t at = open_ok(bytes).record_offset(k_one);
    put<std::uint64_t>(bytes, at + k_i_size, std::uint64_t{1} << 40);
    put<std::uint64_t>(bytes, at + k_i_flags, rafs::v5::k_inode_xattr | rafs::v5::k_inode_has_hole);
    const Bootstrap b = open_ok(bytes);
    CHECK(b.chunk_count(k_one) == 1);
    rafs::test::TempDir blobs;
    img.write_blobs(blobs.path());
    rafs::v5::ChunkReader reader(b, blobs.path());
    Buf out(0x2000, 0xAA);
    REQUIRE(reader.read_file(k_one, 0, out, true));
    Buf expected = img.contents.at("/one");
    expected.resize(0x2000, 0); // the lz4 chunk, then a hole
    CHECK(out == expected);
    REQUIRE(reader.read_file(k_one, (std::uint64_t{1} << 40) - 0x1000, out, true));
    CHECK(out == Buf(0x2000, 0)); // the last 4096 bytes, then past the end
  }
}
