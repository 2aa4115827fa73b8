// A small, valid RAFS v5 image built in memory with rafs::v5::encode_bootstrap,
// plus the bytes of its two data blobs. Tests edit `spec` (or the encoded
// bytes) to break exactly one rule at a time.
//
// Tree, indexes assigned as spec §9.2 prescribes (chunk size 0x1000,
// lz4_block + blake3, explicit uid/gid, xattrs):
//
//    1 /                    dir, children 2..9
//    2 /chr                 char device 1:3
//    3 /dir                 dir, children 10..11, xattrs trusted.overlay.opaque, user.dir
//    4 /empty               regular, 0 bytes, no chunk
//    5 /fifo                fifo
//    6 /hard                regular, 100 bytes, 1 chunk; hard-link group {6, 10}
//    7 /link                symlink -> "one"
//    8 /one                 regular, exactly 0x1000 bytes, 1 lz4 chunk; xattr user.x
//    9 /two                 regular, 0x1001 bytes, 2 raw chunks in blob 1
//   10 /dir/hard2           second link of /hard (ino 6, nlink 2)
//   11 /dir/sub             empty dir (child_index 12, child_count 0)
//
// Blob 0 holds hard's chunk then one's (compressed); blob 1 holds two's two
// chunks. Blob ids are the sha256 hex of the blob bytes. The prefetch table
// is {8, 3, 9}. 11 inode-table entries (odd, so one padding slot).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "format/bootstrap_writer.hpp"
#include "format/digest.hpp"

namespace rafs::test {

namespace tiny {
inline constexpr std::uint32_t k_root = 1;
inline constexpr std::uint32_t k_chr = 2;
inline constexpr std::uint32_t k_dir = 3;
inline constexpr std::uint32_t k_empty = 4;
inline constexpr std::uint32_t k_fifo = 5;
inline constexpr std::uint32_t k_hard = 6;
inline constexpr std::uint32_t k_link = 7;
inline constexpr std::uint32_t k_one = 8;
inline constexpr std::uint32_t k_two = 9;
inline constexpr std::uint32_t k_hard2 = 10;
inline constexpr std::uint32_t k_sub = 11;
inline constexpr std::uint32_t k_count = 11;
inline constexpr std::uint32_t k_chunk_size = 0x1000;

// st_mode values (written out so they are unsigned without casts).
inline constexpr std::uint32_t k_mode_dir = 0040755;
inline constexpr std::uint32_t k_mode_sub = 0040700;
inline constexpr std::uint32_t k_mode_file = 0100644;
inline constexpr std::uint32_t k_mode_exec = 0100755;
inline constexpr std::uint32_t k_mode_link = 0120777;
inline constexpr std::uint32_t k_mode_chr = 0020644;
inline constexpr std::uint32_t k_mode_fifo = 0010644;

// Byte offsets of the sections in the encoded image.
inline constexpr std::uint64_t k_inode_table_at = 8192;
inline constexpr std::uint64_t k_prefetch_table_at = 8192 + 48; // 11 slots + 1 padding slot
inline constexpr std::uint64_t k_blob_table_at = k_prefetch_table_at + 16; // 3 entries + padding
inline constexpr std::uint32_t k_blob_table_size = 152; // 8+64 + NUL + 8+64 = 145, padded
inline constexpr std::uint64_t k_ext_table_at = k_blob_table_at + k_blob_table_size;
inline constexpr std::uint64_t k_records_at = k_ext_table_at + 2 * 64;
} // namespace tiny

struct TinyImage {
  v5::BootstrapSpec spec;
  std::vector<std::vector<std::uint8_t>> blob_data;           // by blob index
  std::map<std::string, std::vector<std::uint8_t>> contents; // regular files by path

  // The inode spec of a 1-based index.
  v5::InodeSpec& at(std::uint32_t index) { return spec.inodes.at(index - 1); }
  const v5::InodeSpec& at(std::uint32_t index) const { return spec.inodes.at(index - 1); }
  std::vector<std::uint8_t> encode() const { return v5::encode_bootstrap(spec); }
  // Writes each blob as DIR/<blob id>.
  void write_blobs(const std::filesystem::path& dir) const;
};

TinyImage make_tiny_image();

// Sets every inode digest by the rules of spec §12.2 (highest index first, so
// children are done before their directory).
void fill_inode_digests(v5::BootstrapSpec& spec);
// Recomputes only the directories' digests from their children's current
// digests.
void fill_dir_digests(v5::BootstrapSpec& spec);

} // namespace rafs::test
