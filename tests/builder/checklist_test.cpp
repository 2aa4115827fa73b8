// RAFS v5 compatibility checklist (../shared/design/rafs-v5-format.md §16):
// one test per item, each reading an image rafs built through the format
// library and asserting the rule on the bytes.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "builder/build.hpp"
#include "builder/tar_source.hpp"
#include "format/bootstrap.hpp"
#include "format/chunk_reader.hpp"
#include "format/inode_digest.hpp"
#include "format/layout.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace rafs;

namespace {

struct Built {
  std::unique_ptr<test::TempDir> dir;
  v5::Bootstrap boot;
  std::vector<std::uint8_t> bytes;
  fs::path blob;
};

// A layer with directories at several depths, files of 0, 1, 4096 + 1 bytes,
// a duplicated file, a 3-link hard-link group, a symlink, a fifo, an xattr.
std::unique_ptr<Built> build_layer(Compressor compressor = Compressor::zstd) {
  auto dir = std::make_unique<test::TempDir>();
  const fs::path src = *dir / "src";
  auto r = test::sh("set -e; mkdir -p '" + src.string() + "/b/d' '" + src.string() + "/a' '" +
                    src.string() + "/c'; cd '" + src.string() +
                    "'; : > a/empty; printf x > a/one; head -c 4097 /dev/urandom > b/big;"
                    " cp b/big b/d/copy; seq 1 2000 > c/text; ln c/text a/link1; ln c/text b/d/link2;"
                    " ln -s ../c/text b/sym; mkfifo c/fifo; setfattr -n user.k -v v a/one || true;"
                    " tar --xattrs --numeric-owner -cf ../layer.tar .");
  REQUIRE(r.exit_code == 0);
  auto source = builder::open_tar_source((*dir / "layer.tar").string());
  REQUIRE(source);
  builder::BuildOptions opt;
  opt.chunk_size = 0x1000;
  opt.compressor = compressor;
  opt.threads = 2;
  fs::create_directory(*dir / "blobs");
  builder::BuildOutputs out{*dir / "image.boot", *dir / "blobs", {}, {}};
  auto built = builder::build(**source, opt, out);
  REQUIRE(built);
  auto bytes = test::read_file(*dir / "image.boot");
  auto boot = v5::Bootstrap::from_bytes(bytes, "image.boot");
  REQUIRE(boot);
  auto result = std::unique_ptr<Built>(new Built{std::move(dir), std::move(*boot), bytes, built->blob});
  return result;
}

} // namespace

TEST_SUITE("builder::compatibility checklist") {
  TEST_CASE("1: superblock has magic, v5, 8192 bytes, one compression and one hash bit, zero reserved area") {
    auto b = build_layer();
    const auto& sb = b->boot.super_block();
    CHECK(sb.magic == v5::k_magic);
    CHECK(sb.fs_version == 0x500);
    CHECK(sb.sb_size == 8192);
    CHECK(sb.block_size == 0x1000);
    const std::uint64_t comp = sb.flags & (v5::k_sb_compression_none | v5::k_sb_compression_lz4 |
                                           v5::k_sb_compression_gzip | v5::k_sb_compression_zstd);
    const std::uint64_t hash = sb.flags & (v5::k_sb_hash_blake3 | v5::k_sb_hash_sha256);
    CHECK(comp == v5::k_sb_compression_zstd);
    CHECK(hash == v5::k_sb_hash_blake3);
    CHECK((sb.flags & ~v5::k_sb_known_flags) == 0);
    CHECK(std::all_of(b->bytes.begin() + 80, b->bytes.begin() + 8192, [](std::uint8_t x) { return x == 0; }));
    CHECK(sb.extended_blob_table_entries == 1);
    CHECK(sb.extended_blob_table_offset == sb.blob_table_offset + sb.blob_table_size);
  }

  TEST_CASE("2: inode table holds record offsets >> 3, 1-based, root first") {
    auto b = build_layer();
    const auto& sb = b->boot.super_block();
    CHECK(sb.inode_table_offset == 8192);
    for (std::uint32_t i = 1; i <= b->boot.inode_count(); ++i) {
      std::uint32_t slot = load_le<std::uint32_t>(b->bytes.data() + 8192 + 4 * (i - 1));
      CHECK((std::uint64_t{slot} << 3) == b->boot.record_offset(i));
    }
    CHECK(b->boot.record_offset(1) == sb.extended_blob_table_offset + 64);
    CHECK(b->boot.name(1) == "/");
  }

  TEST_CASE("3: every table starts 8-aligned inside the file, without overlap, sizes in bytes") {
    auto b = build_layer();
    const auto& sb = b->boot.super_block();
    for (std::uint64_t off : {sb.inode_table_offset, sb.prefetch_table_offset, sb.blob_table_offset,
                              sb.extended_blob_table_offset}) {
      CHECK(off % 8 == 0);
      CHECK(off < b->bytes.size());
    }
    CHECK(sb.prefetch_table_offset == sb.inode_table_offset + align8(4ull * sb.inode_table_entries));
    CHECK(sb.blob_table_offset == sb.prefetch_table_offset); // no prefetch table
    CHECK(sb.blob_table_size == 72);                          // 8 + 64-char id, no padding needed
  }

  TEST_CASE("4: blob table entry is readahead pair plus id, no NUL after the last, one ext entry") {
    auto b = build_layer();
    const auto& sb = b->boot.super_block();
    const std::uint8_t* t = b->bytes.data() + sb.blob_table_offset;
    CHECK(load_le<std::uint32_t>(t) == 0);
    CHECK(load_le<std::uint32_t>(t + 4) == 0);
    std::string id(reinterpret_cast<const char*>(t + 8), 64);
    CHECK(id == b->boot.blobs()[0].id);
    const auto& blob = b->boot.blobs()[0];
    CHECK(blob.features == v5::k_blob_cap_tar_toc);
    CHECK(blob.compressed_size == fs::file_size(b->blob));
  }

  TEST_CASE("5: records are 128 bytes, names and targets padded to 8, xattr block iff the flag, chunks follow") {
    auto b = build_layer();
    for (std::uint32_t i = 1; i <= b->boot.inode_count(); ++i) {
      const auto& n = b->boot.inode(i);
      std::uint64_t expect_end = b->boot.record_offset(i) + 128 + align8(n.name_size) + align8(n.symlink_size);
      auto xs = b->boot.xattrs(i);
      CHECK(n.has_xattr() == !xs.empty());
      if (n.has_xattr()) {
        expect_end += v5::encode_xattrs(xs).size();
      }
      expect_end += 80ull * b->boot.chunk_count(i);
      std::uint64_t next = i < b->boot.inode_count() ? b->boot.record_offset(i + 1) : b->bytes.size();
      CHECK(expect_end == next); // 8: records back to back up to EOF
      if (n.is_reg()) {
        CHECK(b->boot.chunk_count(i) == (n.size + 0xFFF) / 0x1000);
      }
    }
    auto one = b->boot.lookup("/a/one");
    REQUIRE(one);
    auto xs = b->boot.xattrs(*one);
    if (!xs.empty()) { // setfattr may be unavailable on the test filesystem
      CHECK(xs[0].name == "user.k");
      CHECK(xs[0].value == "v");
      CHECK((b->boot.super_block().flags & v5::k_sb_has_xattr) != 0);
    }
  }

  TEST_CASE("6: children are contiguous, sorted by raw bytes, and indexes follow the breadth-then-depth rule") {
    auto b = build_layer();
    // root: a b c ; then a's children, then b's (b/d's children after b's), then c's.
    std::vector<std::string> order;
    for (std::uint32_t i = 1; i <= b->boot.inode_count(); ++i) {
      order.push_back(b->boot.path(i));
    }
    const std::vector<std::string> expected{
        "/", "/a", "/b", "/c", "/a/empty", "/a/link1", "/a/one", "/b/big", "/b/d", "/b/sym",
        "/b/d/copy", "/b/d/link2", "/c/fifo", "/c/text"};
    CHECK(order == expected);
    for (std::uint32_t i = 1; i <= b->boot.inode_count(); ++i) {
      const auto& n = b->boot.inode(i);
      if (!n.is_hardlink()) {
        CHECK((i == 1 || n.parent < n.ino));
      }
      if (n.is_dir() && n.child_count > 0) {
        CHECK(n.child_index > i);
      }
    }
  }

  TEST_CASE("7: a hard-link group has one record per link, the first link's ino, shared nlink and chunks") {
    auto b = build_layer();
    auto first = *b->boot.lookup("/a/link1");
    auto second = *b->boot.lookup("/b/d/link2");
    auto third = *b->boot.lookup("/c/text");
    CHECK(b->boot.inode(first).ino == first);
    for (auto i : {first, second, third}) {
      CHECK(b->boot.inode(i).ino == first);
      CHECK(b->boot.inode(i).nlink == 3);
      CHECK((b->boot.inode(i).flags & v5::k_inode_hardlink) != 0);
      CHECK(b->boot.chunk_count(i) == b->boot.chunk_count(first));
      CHECK(b->boot.inode(i).digest == b->boot.inode(first).digest);
    }
    CHECK(b->boot.super_block().inodes_count == b->boot.inode_count() - 2);
  }

  TEST_CASE("9: inode digests follow the Merkle rules and chunk digests hash the uncompressed data") {
    auto b = build_layer();
    CHECK(v5::verify_inode_digests(b->boot).empty());
    auto empty = *b->boot.lookup("/a/empty");
    auto fifo = *b->boot.lookup("/c/fifo");
    const Digest h_empty = digest_of(DigestAlgo::blake3, Bytes{});
    CHECK(b->boot.inode(empty).digest == h_empty);
    CHECK(b->boot.inode(fifo).digest == h_empty);
    v5::ChunkReader reader(b->boot, b->blob.parent_path());
    for (std::uint32_t i = 1; i <= b->boot.inode_count(); ++i) {
      for (std::uint32_t k = 0; k < b->boot.chunk_count(i); ++k) {
        auto c = b->boot.chunk(i, k);
        std::vector<std::uint8_t> data(c.uncompressed_size);
        CHECK(reader.read_chunk(c, data, true));
      }
    }
  }

  TEST_CASE("10: chunk records: file offsets, exact payload ranges, raw when not smaller, sequential indexes, dedup") {
    auto b = build_layer();
    std::map<std::uint32_t, v5::ChunkInfo> by_index;
    for (std::uint32_t i = 1; i <= b->boot.inode_count(); ++i) {
      for (std::uint32_t k = 0; k < b->boot.chunk_count(i); ++k) {
        auto c = b->boot.chunk(i, k);
        CHECK(c.file_offset == k * 0x1000ull);
        CHECK((c.compressed() || c.compressed_size == c.uncompressed_size));
        auto [it, fresh] = by_index.emplace(c.index, c);
        if (!fresh) {
          CHECK(it->second == [&] { auto x = c; x.file_offset = it->second.file_offset; return x; }());
        }
      }
    }
    // Indexes 0..n-1, payloads back to back from offset 0 to the end of the blob.
    std::uint64_t pos = 0;
    std::uint64_t upos = 0;
    std::uint32_t expect = 0;
    for (const auto& [index, c] : by_index) {
      CHECK(index == expect++);
      CHECK(c.compressed_offset == pos);
      CHECK(c.uncompressed_offset == upos);
      pos += c.compressed_size;
      upos += c.uncompressed_size;
    }
    CHECK(pos == fs::file_size(b->blob));                // 11: no framing, nothing else
    CHECK(by_index.size() == b->boot.blobs()[0].chunk_count);
    // b/big and b/d/copy share their chunks.
    auto big = *b->boot.lookup("/b/big");
    auto copy = *b->boot.lookup("/b/d/copy");
    CHECK(b->boot.chunk(big, 1).compressed_offset == b->boot.chunk(copy, 1).compressed_offset);
    // The 1-byte file cannot shrink: stored raw.
    auto one = *b->boot.lookup("/a/one");
    CHECK_FALSE(b->boot.chunk(one, 0).compressed());
  }

  TEST_CASE("11: the blob is named by its sha256, lz4 chunks are raw blocks without a frame") {
    auto b = build_layer(Compressor::lz4_block);
    auto bytes = test::read_file(b->blob);
    Sha256 h;
    h.update(bytes);
    CHECK(to_hex(h.finalize()) == b->blob.filename().string());
    auto text = *b->boot.lookup("/c/text");
    auto c = b->boot.chunk(text, 0);
    REQUIRE(c.compressed());
    CHECK_FALSE((bytes[c.compressed_offset] == 0x04 && bytes[c.compressed_offset + 1] == 0x22));
    CHECK(v5::verify_inode_digests(b->boot).empty());
  }

  TEST_CASE("12: HAS_CRC32 is left clear and crc32 fields are zero") {
    auto b = build_layer();
    for (std::uint32_t i = 1; i <= b->boot.inode_count(); ++i) {
      for (std::uint32_t k = 0; k < b->boot.chunk_count(i); ++k) {
        CHECK((b->boot.chunk(i, k).flags & v5::k_chunk_has_crc32) == 0);
        CHECK(b->boot.chunk(i, k).crc32 == 0);
      }
    }
  }

  TEST_CASE("13: nlink, i_size, i_blocks and the uid/gid flag follow the rules") {
    auto b = build_layer();
    CHECK(b->boot.inode(1).nlink == 5);                 // 2 + a, b, c
    CHECK(b->boot.inode(*b->boot.lookup("/b")).nlink == 3);
    auto sym = *b->boot.lookup("/b/sym");
    CHECK(b->boot.inode(sym).size == std::string("../c/text").size());
    CHECK(b->boot.symlink_target(sym) == "../c/text");
    CHECK((b->boot.inode(sym).flags & v5::k_inode_symlink) != 0);
    for (std::uint32_t i = 1; i <= b->boot.inode_count(); ++i) {
      const auto& n = b->boot.inode(i);
      std::uint64_t xt = 0;
      for (const auto& x : b->boot.xattrs(i)) {
        xt += 4 + x.name.size() + 1 + x.value.size();
      }
      CHECK(n.blocks == v5::blocks_for(n.mode, n.size, xt));
      if (n.is_dir()) {
        CHECK(n.size % 4096 == 0);
      }
    }
    CHECK((b->boot.super_block().flags & v5::k_sb_explicit_uid_gid) != 0);
  }
}
