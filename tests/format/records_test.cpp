// Golden bytes of the fixed v5 records, written out by hand from the spec
// tables (rafs-v5-format.md §2, §5-§8), and the flag helpers.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "format/blob_table.hpp"
#include "format/chunk_info.hpp"
#include "format/inode.hpp"
#include "format/layout.hpp"
#include "format/superblock.hpp"
#include "format/xattr.hpp"

namespace {

using Buf = std::vector<std::uint8_t>;
using rafs::Compressor;
using rafs::DigestAlgo;

template <typename Rec> Buf bytes_of(const Rec& r) {
  Buf out(sizeof(Rec));
  rafs::store_record(out.data(), r);
  return out;
}

Buf concat(std::initializer_list<Buf> parts) {
  Buf out;
  for (const Buf& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

Buf ascii(const std::string& s) { return {s.begin(), s.end()}; }

Buf zeros(std::size_t n) { return Buf(n, 0); }

// 32 bytes first, first+1, ...
Buf counting(std::uint8_t first) {
  Buf out(32);
  for (std::size_t i = 0; i < 32; ++i) {
    out[i] = static_cast<std::uint8_t>(first + i);
  }
  return out;
}

rafs::Digest digest_counting(std::uint8_t first) {
  rafs::Digest d{};
  for (std::size_t i = 0; i < 32; ++i) {
    d[i] = static_cast<std::uint8_t>(first + i);
  }
  return d;
}

const std::string k_id64 = "7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00";

} // namespace

TEST_SUITE("format::SuperBlock") {
  rafs::v5::SuperBlock sample_superblock() {
    rafs::v5::SuperBlock sb;
    sb.magic = 0x52414653;
    sb.fs_version = 0x500;
    sb.sb_size = 8192;
    sb.block_size = 0x100000;
    sb.flags = 0x0807060504030201;
    sb.inodes_count = 0x1122334455667788;
    sb.inode_table_offset = 0x2000;
    sb.prefetch_table_offset = 0x20D8;
    sb.blob_table_offset = 0x20E8;
    sb.inode_table_entries = 54;
    sb.prefetch_table_entries = 3;
    sb.blob_table_size = 72;
    sb.extended_blob_table_entries = 1;
    sb.extended_blob_table_offset = 0x2130;
    return sb;
  }

  const Buf k_superblock_bytes = {
      0x53, 0x46, 0x41, 0x52,                         // 0  s_magic "SFAR"
      0x00, 0x05, 0x00, 0x00,                         // 4  s_fs_version 0x500
      0x00, 0x20, 0x00, 0x00,                         // 8  s_sb_size 8192
      0x00, 0x00, 0x10, 0x00,                         // 12 s_block_size 1 MiB
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // 16 s_flags
      0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // 24 s_inodes_count
      0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 32 s_inode_table_offset
      0xD8, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 40 s_prefetch_table_offset
      0xE8, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 48 s_blob_table_offset
      0x36, 0x00, 0x00, 0x00,                         // 56 s_inode_table_entries 54
      0x03, 0x00, 0x00, 0x00,                         // 60 s_prefetch_table_entries
      0x48, 0x00, 0x00, 0x00,                         // 64 s_blob_table_size 72
      0x01, 0x00, 0x00, 0x00,                         // 68 s_extended_blob_table_entries
      0x30, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 72 s_extended_blob_table_offset
  };

  TEST_CASE("encode writes every superblock field little-endian at its spec offset") {
    REQUIRE(k_superblock_bytes.size() == 80);
    CHECK(bytes_of(rafs::v5::encode(sample_superblock())) == k_superblock_bytes);
  }

  TEST_CASE("decode of the hand-written superblock bytes gives each field") {
    auto sb = rafs::v5::decode(rafs::load_record<rafs::v5::SuperBlockRecord>(k_superblock_bytes.data()));
    CHECK(sb.magic == 0x52414653u);
    CHECK(sb.fs_version == 0x500u);
    CHECK(sb.sb_size == 8192u);
    CHECK(sb.block_size == 0x100000u);
    CHECK(sb.flags == 0x0807060504030201u);
    CHECK(sb.inodes_count == 0x1122334455667788u);
    CHECK(sb.inode_table_offset == 0x2000u);
    CHECK(sb.prefetch_table_offset == 0x20D8u);
    CHECK(sb.blob_table_offset == 0x20E8u);
    CHECK(sb.inode_table_entries == 54u);
    CHECK(sb.prefetch_table_entries == 3u);
    CHECK(sb.blob_table_size == 72u);
    CHECK(sb.extended_blob_table_entries == 1u);
    CHECK(sb.extended_blob_table_offset == 0x2130u);
    CHECK(sb == sample_superblock());
  }

  TEST_CASE("decode of encode gives the superblock back") {
    auto sb = sample_superblock();
    CHECK(rafs::v5::decode(rafs::v5::encode(sb)) == sb);
    rafs::v5::SuperBlock zero;
    CHECK(rafs::v5::decode(rafs::v5::encode(zero)) == zero);
  }

  TEST_CASE("super_flag_names lists the set bits in bit order") {
    using V = std::vector<std::string>;
    CHECK(rafs::v5::super_flag_names(0) == V{});
    CHECK(rafs::v5::super_flag_names(0x9) == V{"COMPRESSION_NONE", "HASH_SHA256"});
    CHECK(rafs::v5::super_flag_names(0x5) == V{"COMPRESSION_NONE", "HASH_BLAKE3"});
    CHECK(rafs::v5::super_flag_names(0x16) ==
          V{"COMPRESSION_LZ4", "HASH_BLAKE3", "EXPLICIT_UID_GID"});
    CHECK(rafs::v5::super_flag_names(0x3FF) ==
          V{"COMPRESSION_NONE", "COMPRESSION_LZ4", "HASH_BLAKE3", "HASH_SHA256",
            "EXPLICIT_UID_GID", "HAS_XATTR", "COMPRESSION_GZIP", "COMPRESSION_ZSTD",
            "INLINED_CHUNK_DIGEST", "TARTFS_MODE"});
    CHECK(rafs::v5::super_flag_names(0x0300'0000) ==
          V{"ENCRYPTION_NONE", "ENCRYPTION_AES_128_XTS"});
    CHECK(rafs::v5::super_flag_names(0x0400'0020) == V{"HAS_XATTR", "RESERVED_COMPAT(0x4000000)"});
    CHECK(rafs::v5::super_flag_names(0xFC00'0000) == V{"RESERVED_COMPAT(0xfc000000)"});
  }

  TEST_CASE("compressor_of takes the first set bit in the order none, lz4, gzip, zstd") {
    using rafs::v5::compressor_of;
    CHECK(compressor_of(0) == Compressor::lz4_block); // none set
    CHECK(compressor_of(0x4 | 0x8 | 0x10 | 0x20) == Compressor::lz4_block);
    CHECK(compressor_of(0x1) == Compressor::none);
    CHECK(compressor_of(0x1 | 0x2 | 0x40 | 0x80) == Compressor::none);
    CHECK(compressor_of(0x2) == Compressor::lz4_block);
    CHECK(compressor_of(0x2 | 0x40 | 0x80) == Compressor::lz4_block);
    CHECK(compressor_of(0x40) == Compressor::gzip);
    CHECK(compressor_of(0x40 | 0x80) == Compressor::gzip);
    CHECK(compressor_of(0x80) == Compressor::zstd);
    CHECK(compressor_of(0x80 | 0x4) == Compressor::zstd);
  }

  TEST_CASE("digester_of takes blake3 before sha256 and falls back to blake3") {
    using rafs::v5::digester_of;
    CHECK(digester_of(0) == DigestAlgo::blake3);
    CHECK(digester_of(0x1 | 0x2 | 0x10) == DigestAlgo::blake3);
    CHECK(digester_of(0x4) == DigestAlgo::blake3);
    CHECK(digester_of(0x8) == DigestAlgo::sha256);
    CHECK(digester_of(0x4 | 0x8) == DigestAlgo::blake3);
    CHECK(digester_of(0x9) == DigestAlgo::sha256);
  }

  TEST_CASE("compressor_flag and digester_flag give the one bit the reader maps back") {
    for (Compressor c : {Compressor::none, Compressor::lz4_block, Compressor::gzip, Compressor::zstd}) {
      CHECK(rafs::v5::compressor_of(rafs::v5::compressor_flag(c)) == c);
    }
    CHECK(rafs::v5::compressor_flag(Compressor::none) == 0x1u);
    CHECK(rafs::v5::compressor_flag(Compressor::lz4_block) == 0x2u);
    CHECK(rafs::v5::compressor_flag(Compressor::gzip) == 0x40u);
    CHECK(rafs::v5::compressor_flag(Compressor::zstd) == 0x80u);
    CHECK(rafs::v5::digester_flag(DigestAlgo::blake3) == 0x4u);
    CHECK(rafs::v5::digester_flag(DigestAlgo::sha256) == 0x8u);
  }
}

TEST_SUITE("format::InodeRecord") {
  rafs::v5::Inode sample_inode() {
    rafs::v5::Inode n;
    n.digest = digest_counting(0xA0);
    n.parent = 3;
    n.ino = 0x100000002;
    n.uid = 1000;
    n.gid = 100;
    n.projid = 0x01020304;
    n.mode = 0100644;
    n.size = 0x1001;
    n.blocks = 9;
    n.flags = 0x4;
    n.nlink = 2;
    n.child_index = 0x11;
    n.child_count = 2;
    n.name_size = 5;
    n.symlink_size = 0x0102;
    n.rdev = 0x103;
    n.mtime_nsec = 999999999;
    n.mtime = 1700000000;
    return n;
  }

  const Buf k_inode_bytes = concat({
      counting(0xA0),                                   // 0   i_digest
      {0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, // 32  i_parent
      {0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}, // 40  i_ino
      {0xE8, 0x03, 0x00, 0x00},                         // 48  i_uid 1000
      {0x64, 0x00, 0x00, 0x00},                         // 52  i_gid 100
      {0x04, 0x03, 0x02, 0x01},                         // 56  i_projid
      {0xA4, 0x81, 0x00, 0x00},                         // 60  i_mode 0100644
      {0x01, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, // 64  i_size
      {0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, // 72  i_blocks
      {0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, // 80  i_flags XATTR
      {0x02, 0x00, 0x00, 0x00},                         // 88  i_nlink
      {0x11, 0x00, 0x00, 0x00},                         // 92  i_child_index
      {0x02, 0x00, 0x00, 0x00},                         // 96  i_child_count
      {0x05, 0x00},                                     // 100 i_name_size
      {0x02, 0x01},                                     // 102 i_symlink_size
      {0x03, 0x01, 0x00, 0x00},                         // 104 i_rdev
      {0xFF, 0xC9, 0x9A, 0x3B},                         // 108 i_mtime_nsec
      {0x00, 0xF1, 0x53, 0x65, 0x00, 0x00, 0x00, 0x00}, // 112 i_mtime 1700000000
      zeros(8),                                         // 120 reserved
  });

  TEST_CASE("encode writes every inode field at its spec offset") {
    REQUIRE(k_inode_bytes.size() == 128);
    CHECK(bytes_of(rafs::v5::encode(sample_inode())) == k_inode_bytes);
  }

  TEST_CASE("decode of the hand-written inode bytes gives each field") {
    auto n = rafs::v5::decode(rafs::load_record<rafs::v5::InodeRecord>(k_inode_bytes.data()));
    CHECK(n.digest == digest_counting(0xA0));
    CHECK(n.parent == 3u);
    CHECK(n.ino == 0x100000002u);
    CHECK(n.uid == 1000u);
    CHECK(n.gid == 100u);
    CHECK(n.projid == 0x01020304u);
    CHECK(n.mode == 0100644u);
    CHECK(n.size == 0x1001u);
    CHECK(n.blocks == 9u);
    CHECK(n.flags == 0x4u);
    CHECK(n.nlink == 2u);
    CHECK(n.child_index == 0x11u);
    CHECK(n.child_count == 2u);
    CHECK(n.name_size == 5u);
    CHECK(n.symlink_size == 0x0102u);
    CHECK(n.rdev == 0x103u);
    CHECK(n.mtime_nsec == 999999999u);
    CHECK(n.mtime == 1700000000u);
    CHECK(n == sample_inode());
    CHECK(n.is_reg());
    CHECK(n.is_hardlink());
    CHECK(n.has_xattr());
    CHECK_FALSE(n.is_dir());
    CHECK_FALSE(n.is_symlink());
  }

  TEST_CASE("decode of encode gives the inode back") {
    auto n = sample_inode();
    CHECK(rafs::v5::decode(rafs::v5::encode(n)) == n);
  }

  TEST_CASE("encode leaves the 8 reserved bytes zero") {
    auto r = rafs::v5::encode(sample_inode());
    CHECK(r.i_reserved == std::array<std::uint8_t, 8>{});
  }

  TEST_CASE("file_type_name names each st_mode type and valid_file_type rejects others") {
    CHECK(std::string(rafs::v5::file_type_name(0040755)) == "dir");
    CHECK(std::string(rafs::v5::file_type_name(0100644)) == "file");
    CHECK(std::string(rafs::v5::file_type_name(0120777)) == "symlink");
    CHECK(std::string(rafs::v5::file_type_name(0020644)) == "chardev");
    CHECK(std::string(rafs::v5::file_type_name(0060644)) == "blockdev");
    CHECK(std::string(rafs::v5::file_type_name(0010644)) == "fifo");
    CHECK(std::string(rafs::v5::file_type_name(0140755)) == "socket");
    CHECK(std::string(rafs::v5::file_type_name(0000644)) == "unknown");
    CHECK(rafs::v5::valid_file_type(0100644));
    CHECK_FALSE(rafs::v5::valid_file_type(0170644));
  }

  TEST_CASE("blocks_for counts xattrs for non-regular inodes only") {
    CHECK(rafs::v5::blocks_for(0040755, 4096, 0) == 8u);
    CHECK(rafs::v5::blocks_for(0040755, 4096, 1) == 9u); // align8(1) = 8 extra bytes
    CHECK(rafs::v5::blocks_for(0100644, 4096, 100) == 8u);
    CHECK(rafs::v5::blocks_for(0100644, 0, 0) == 0u);
    CHECK(rafs::v5::blocks_for(0100644, 513, 0) == 2u);
    CHECK(rafs::v5::blocks_for(0120777, 17, 0) == 1u);
  }
}

TEST_SUITE("format::ChunkRecord") {
  rafs::v5::ChunkInfo sample_chunk() {
    rafs::v5::ChunkInfo c;
    c.block_id = digest_counting(0x00);
    c.blob_index = 1;
    c.flags = 0x11;
    c.compressed_size = 0x1234;
    c.uncompressed_size = 0x100000;
    c.compressed_offset = 0x123456789;
    c.uncompressed_offset = 0x200000;
    c.file_offset = 0x300000;
    c.index = 7;
    c.crc32 = 0xE3069283;
    return c;
  }

  const Buf k_chunk_bytes = concat({
      counting(0x00),                                   // 0  block_id
      {0x01, 0x00, 0x00, 0x00},                         // 32 blob_index
      {0x11, 0x00, 0x00, 0x00},                         // 36 flags COMPRESSED|HAS_CRC32
      {0x34, 0x12, 0x00, 0x00},                         // 40 compressed_size
      {0x00, 0x00, 0x10, 0x00},                         // 44 uncompressed_size
      {0x89, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00}, // 48 compressed_offset
      {0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00}, // 56 uncompressed_offset
      {0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00}, // 64 file_offset
      {0x07, 0x00, 0x00, 0x00},                         // 72 index
      {0x83, 0x92, 0x06, 0xE3},                         // 76 crc32
  });

  TEST_CASE("encode writes every chunk field at its spec offset") {
    REQUIRE(k_chunk_bytes.size() == 80);
    CHECK(bytes_of(rafs::v5::encode(sample_chunk())) == k_chunk_bytes);
  }

  TEST_CASE("decode of the hand-written chunk bytes gives each field") {
    auto c = rafs::v5::decode(rafs::load_record<rafs::v5::ChunkRecord>(k_chunk_bytes.data()));
    CHECK(c.block_id == digest_counting(0x00));
    CHECK(c.blob_index == 1u);
    CHECK(c.flags == 0x11u);
    CHECK(c.compressed_size == 0x1234u);
    CHECK(c.uncompressed_size == 0x100000u);
    CHECK(c.compressed_offset == 0x123456789u);
    CHECK(c.uncompressed_offset == 0x200000u);
    CHECK(c.file_offset == 0x300000u);
    CHECK(c.index == 7u);
    CHECK(c.crc32 == 0xE3069283u);
    CHECK(c.compressed());
    CHECK(c == sample_chunk());
  }

  TEST_CASE("decode of encode gives the chunk back") {
    auto c = sample_chunk();
    CHECK(rafs::v5::decode(rafs::v5::encode(c)) == c);
    c.flags = 0;
    CHECK_FALSE(c.compressed());
    CHECK(rafs::v5::decode(rafs::v5::encode(c)) == c);
  }
}

TEST_SUITE("format::BlobTable") {
  rafs::v5::BlobInfo fixture_like_blob() {
    rafs::v5::BlobInfo b;
    b.id = k_id64;
    b.readahead_offset = 0;
    b.readahead_size = 0x10;
    b.chunk_count = 23;
    b.features = 0x4000'0002;
    b.uncompressed_size = 3508766;
    b.compressed_size = 0x0102030405;
    return b;
  }

  const Buf k_ext_bytes = concat({
      {0x17, 0x00, 0x00, 0x00},                         // 0  chunk_count 23
      {0x02, 0x00, 0x00, 0x40},                         // 4  features
      {0x1E, 0x8A, 0x35, 0x00, 0x00, 0x00, 0x00, 0x00}, // 8  uncompressed_size 3508766
      {0x05, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00}, // 16 compressed_size
      zeros(40),                                        // 24 reserved
  });

  TEST_CASE("an extended blob entry is 64 bytes: count, features, sizes, 40 zero bytes") {
    REQUIRE(k_ext_bytes.size() == 64);
    CHECK(rafs::v5::encode_ext_blob_table({fixture_like_blob()}) == k_ext_bytes);
    auto r = rafs::load_record<rafs::v5::ExtBlobRecord>(k_ext_bytes.data());
    CHECK(r.chunk_count.get() == 23u);
    CHECK(r.features.get() == 0x4000'0002u);
    CHECK(r.uncompressed_size.get() == 3508766u);
    CHECK(r.compressed_size.get() == 0x0102030405u);
    CHECK(bytes_of(r) == k_ext_bytes);
  }

  TEST_CASE("decode_ext_blob_table fills the sizes, count and features of each blob") {
    std::vector<rafs::v5::BlobInfo> blobs(1);
    blobs[0].id = k_id64;
    blobs[0].readahead_size = 0x10;
    auto r = rafs::v5::decode_ext_blob_table(k_ext_bytes, blobs);
    REQUIRE(r.ok());
    CHECK(blobs[0] == fixture_like_blob());
  }

  TEST_CASE("decode_ext_blob_table rejects a table whose entry count differs from the blobs") {
    std::vector<rafs::v5::BlobInfo> blobs(2);
    auto r = rafs::v5::decode_ext_blob_table(k_ext_bytes, blobs);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == rafs::Errc::corrupted);
    CHECK(r.error().message == "extended blob table: 1 entries for 2 blobs");
  }

  const Buf k_one_blob_table = concat({
      {0x00, 0x00, 0x00, 0x00}, // readahead_offset
      {0x10, 0x00, 0x00, 0x00}, // readahead_size
      ascii(k_id64),            // the id, no terminator, no padding
  });

  TEST_CASE("a blob table of one 64-character id is exactly 72 bytes") {
    REQUIRE(k_one_blob_table.size() == 72);
    CHECK(rafs::v5::encode_blob_table({fixture_like_blob()}) == k_one_blob_table);
  }

  TEST_CASE("decode of the one-blob table gives the id and readahead range") {
    auto r = rafs::v5::decode_blob_table(k_one_blob_table);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1);
    CHECK((*r)[0].id == k_id64);
    CHECK((*r)[0].readahead_offset == 0u);
    CHECK((*r)[0].readahead_size == 0x10u);
    CHECK((*r)[0].chunk_count == 0u);
  }

  const Buf k_two_blob_table = concat({
      {0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}, // 0  readahead 1 / 2
      ascii("abc"),                                     // 8  id 0
      {0x00},                                           // 11 separator
      {0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00}, // 12 readahead 3 / 4
      ascii("de"),                                      // 20 id 1, no NUL after it
      {0x00, 0x00},                                     // 22 padding to 24
  });

  TEST_CASE("a blob table of two ids has one NUL between them and zero padding to 8") {
    std::vector<rafs::v5::BlobInfo> blobs(2);
    blobs[0].id = "abc";
    blobs[0].readahead_offset = 1;
    blobs[0].readahead_size = 2;
    blobs[1].id = "de";
    blobs[1].readahead_offset = 3;
    blobs[1].readahead_size = 4;
    auto encoded = rafs::v5::encode_blob_table(blobs);
    CHECK(encoded.size() == 24);
    CHECK(encoded == k_two_blob_table);
    auto decoded = rafs::v5::decode_blob_table(k_two_blob_table);
    REQUIRE(decoded.ok());
    CHECK(*decoded == blobs);
  }

  TEST_CASE("decode of encode gives two 64-character blobs back, 145 bytes padded to 152") {
    std::vector<rafs::v5::BlobInfo> blobs(2);
    blobs[0].id = k_id64;
    blobs[1].id = std::string(64, 'x');
    blobs[1].readahead_size = 4096;
    auto encoded = rafs::v5::encode_blob_table(blobs);
    CHECK(encoded.size() == 152);
    CHECK(encoded[72] == 0);
    CHECK(encoded[144] == 'x');
    CHECK(std::all_of(encoded.begin() + 145, encoded.end(), [](std::uint8_t b) { return b == 0; }));
    auto decoded = rafs::v5::decode_blob_table(encoded);
    REQUIRE(decoded.ok());
    CHECK(*decoded == blobs);
    CHECK(rafs::v5::encode_blob_table({}).empty());
  }

  TEST_CASE("decode_blob_table rejects non-zero padding, an empty id and invalid UTF-8") {
    Buf padded = k_two_blob_table;
    padded[23] = 1;
    auto r = rafs::v5::decode_blob_table(padded);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == rafs::Errc::corrupted);
    CHECK(r.error().message == "blob table: non-zero padding byte at table offset 23");

    Buf empty_id = concat({zeros(8), {0x00}, zeros(7)});
    auto e = rafs::v5::decode_blob_table(empty_id);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().message == "blob table entry 0: empty blob id");

    Buf bad_utf8 = concat({zeros(8), {0xC3, 0x28}, zeros(6)});
    auto u = rafs::v5::decode_blob_table(bad_utf8);
    REQUIRE_FALSE(u.ok());
    CHECK(u.error().message == "blob table entry 0: blob id is not valid UTF-8");
  }

  TEST_CASE("blob_feature_names lists known bits in nydus-image check order and drops unknown") {
    using V = std::vector<std::string>;
    CHECK(rafs::v5::blob_feature_names(0) == V{});
    CHECK(rafs::v5::blob_feature_names(0x4000'0000) == V{"cap_toc"});
    CHECK(rafs::v5::blob_feature_names(0x5000'0002) == V{"cap_toc", "fs-meta", "tar-header"});
    CHECK(rafs::v5::blob_feature_names(0x7000'0021) ==
          V{"aligned", "cap_toc", "chunk-digest", "tar-header", "toc"});
    CHECK(rafs::v5::blob_feature_names(0x0000'0F00) ==
          V{"encrypted", "is-chunkdict-generated", "separated-with-prefetch", "external"});
    CHECK(rafs::v5::blob_feature_names(0x8000'0000) == V{});
  }
}

TEST_SUITE("format::Xattr") {
  const std::vector<rafs::v5::Xattr> k_pairs = {
      {"user.a", "1"},
      {"trusted.b", std::string("v\0w", 3)},
  };

  const Buf k_xattr_bytes = concat({
      {0x1D, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, // total 29 = (4+8) + (4+13)
      {0x08, 0x00, 0x00, 0x00},                         // pair size 6 + 1 + 1
      ascii("user.a"), {0x00}, ascii("1"),
      {0x0D, 0x00, 0x00, 0x00},                         // pair size 9 + 1 + 3
      ascii("trusted.b"), {0x00}, {'v', 0x00, 'w'},
      zeros(3),                                         // align8(29) - 29
  });

  TEST_CASE("an xattr block is the total, then size-prefixed name NUL value pairs, then padding") {
    REQUIRE(k_xattr_bytes.size() == 40);
    CHECK(rafs::v5::encode_xattrs(k_pairs) == k_xattr_bytes);
  }

  TEST_CASE("decode of the hand-written xattr block gives both pairs, NUL in value included") {
    auto size = rafs::v5::xattr_block_size(k_xattr_bytes);
    REQUIRE(size.ok());
    CHECK(*size == 40u);
    auto r = rafs::v5::decode_xattrs(k_xattr_bytes);
    REQUIRE(r.ok());
    CHECK(*r == k_pairs);
    CHECK((*r)[1].value.size() == 3);
  }

  TEST_CASE("decode of encode gives the pairs back, and an empty set is an 8-byte block") {
    CHECK(*rafs::v5::decode_xattrs(rafs::v5::encode_xattrs(k_pairs)) == k_pairs);
    std::vector<rafs::v5::Xattr> one = {{"security.capability", std::string(20, '\x01')}};
    CHECK(*rafs::v5::decode_xattrs(rafs::v5::encode_xattrs(one)) == one);
    CHECK(rafs::v5::encode_xattrs({}) == zeros(8));
  }

  TEST_CASE("xattr_name_allowed accepts exactly the RAFS prefixes") {
    CHECK(rafs::v5::xattr_name_allowed("user.x"));
    CHECK(rafs::v5::xattr_name_allowed("security.selinux"));
    CHECK(rafs::v5::xattr_name_allowed("trusted.overlay.opaque"));
    CHECK(rafs::v5::xattr_name_allowed("system.posix_acl_access"));
    CHECK(rafs::v5::xattr_name_allowed("system.posix_acl_default"));
    CHECK_FALSE(rafs::v5::xattr_name_allowed("user."));
    CHECK_FALSE(rafs::v5::xattr_name_allowed("system.other"));
    CHECK_FALSE(rafs::v5::xattr_name_allowed("hardlink3"));
    CHECK_FALSE(rafs::v5::xattr_name_allowed(""));
  }

  TEST_CASE("decode_xattrs rejects a bad prefix, an overrunning pair, a total past the end and "
            "non-zero padding") {
    Buf bad_name = k_xattr_bytes;
    bad_name[12] = 'X'; // "Xser.a"
    auto a = rafs::v5::decode_xattrs(bad_name);
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().code == rafs::Errc::corrupted);
    CHECK(a.error().message == "xattr name 'Xser.a' has no allowed prefix");

    Buf overrun = k_xattr_bytes;
    overrun[20] = 0x20; // second pair claims 32 bytes
    auto b = rafs::v5::decode_xattrs(overrun);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().message == "xattr pair of 32 bytes overruns the block");

    Buf long_total = k_xattr_bytes;
    long_total[0] = 0x21; // 33 bytes do not fit in the 32 that follow
    auto c = rafs::v5::xattr_block_size(long_total);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().message == "xattr block of 33 bytes runs past the end of the file");

    Buf bad_pad = k_xattr_bytes;
    bad_pad[39] = 1;
    auto d = rafs::v5::decode_xattrs(bad_pad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().message == "xattr block padding is not zero");
  }
}
