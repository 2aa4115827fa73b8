// The 8192-byte v5 superblock: on-disk record, native value, encode/decode
// and validation against the file it heads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/bytes.hpp"
#include "format/codec.hpp"
#include "format/digest.hpp"
#include "format/error.hpp"

namespace rafs::v5 {

// The first 80 bytes; the remaining 8112 bytes of the superblock are zero.
struct SuperBlockRecord {
  le32 s_magic;
  le32 s_fs_version;
  le32 s_sb_size;
  le32 s_block_size;
  le64 s_flags;
  le64 s_inodes_count;
  le64 s_inode_table_offset;
  le64 s_prefetch_table_offset;
  le64 s_blob_table_offset;
  le32 s_inode_table_entries;
  le32 s_prefetch_table_entries;
  le32 s_blob_table_size;
  le32 s_extended_blob_table_entries;
  le64 s_extended_blob_table_offset;
};
static_assert(sizeof(SuperBlockRecord) == 80);
static_assert(alignof(SuperBlockRecord) == 1);
static_assert(std::is_trivially_copyable_v<SuperBlockRecord>);

struct SuperBlock {
  std::uint32_t magic = 0;
  std::uint32_t fs_version = 0;
  std::uint32_t sb_size = 0;
  std::uint32_t block_size = 0; // the chunk size
  std::uint64_t flags = 0;
  std::uint64_t inodes_count = 0;
  std::uint64_t inode_table_offset = 0;
  std::uint64_t prefetch_table_offset = 0;
  std::uint64_t blob_table_offset = 0;
  std::uint32_t inode_table_entries = 0;
  std::uint32_t prefetch_table_entries = 0;
  std::uint32_t blob_table_size = 0; // bytes, padding included
  std::uint32_t extended_blob_table_entries = 0;
  std::uint64_t extended_blob_table_offset = 0;

  bool operator==(const SuperBlock&) const = default;
};

SuperBlock decode(const SuperBlockRecord& r) noexcept;
SuperBlockRecord encode(const SuperBlock& sb) noexcept;

// Checks the superblock and table ranges against a file of `file_size`
// bytes (§10 of the spec): magic, version, sizes, flags, chunk size, every
// table 8-aligned, inside [8192, EOF), not overlapping. `reserved` is the
// superblock's bytes 80..8191, which must be zero.
[[nodiscard]] Result<void> validate(const SuperBlock& sb, std::uint64_t file_size, Bytes reserved);

// The reader's choice of algorithms from the flags (first set bit wins).
Compressor compressor_of(std::uint64_t flags) noexcept;
DigestAlgo digester_of(std::uint64_t flags) noexcept;
std::uint64_t compressor_flag(Compressor c) noexcept;
std::uint64_t digester_flag(DigestAlgo d) noexcept;

// Names of the set bits, e.g. {"COMPRESSION_NONE", "HASH_SHA256"}.
std::vector<std::string> super_flag_names(std::uint64_t flags);

} // namespace rafs::v5
