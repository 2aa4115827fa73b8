#include "format/superblock.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <optional>

#include "format/layout.hpp"

namespace rafs::v5 {

SuperBlock decode(const SuperBlockRecord& r) noexcept {
  SuperBlock sb;
  sb.magic = r.s_magic.get();
  sb.fs_version = r.s_fs_version.get();
  sb.sb_size = r.s_sb_size.get();
  sb.block_size = r.s_block_size.get();
  sb.flags = r.s_flags.get();
  sb.inodes_count = r.s_inodes_count.get();
  sb.inode_table_offset = r.s_inode_table_offset.get();
  sb.prefetch_table_offset = r.s_prefetch_table_offset.get();
  sb.blob_table_offset = r.s_blob_table_offset.get();
  sb.inode_table_entries = r.s_inode_table_entries.get();
  sb.prefetch_table_entries = r.s_prefetch_table_entries.get();
  sb.blob_table_size = r.s_blob_table_size.get();
  sb.extended_blob_table_entries = r.s_extended_blob_table_entries.get();
  sb.extended_blob_table_offset = r.s_extended_blob_table_offset.get();
  return sb;
}

SuperBlockRecord encode(const SuperBlock& sb) noexcept {
  SuperBlockRecord r;
  r.s_magic = sb.magic;
  r.s_fs_version = sb.fs_version;
  r.s_sb_size = sb.sb_size;
  r.s_block_size = sb.block_size;
  r.s_flags = sb.flags;
  r.s_inodes_count = sb.inodes_count;
  r.s_inode_table_offset = sb.inode_table_offset;
  r.s_prefetch_table_offset = sb.prefetch_table_offset;
  r.s_blob_table_offset = sb.blob_table_offset;
  r.s_inode_table_entries = sb.inode_table_entries;
  r.s_prefetch_table_entries = sb.prefetch_table_entries;
  r.s_blob_table_size = sb.blob_table_size;
  r.s_extended_blob_table_entries = sb.extended_blob_table_entries;
  r.s_extended_blob_table_offset = sb.extended_blob_table_offset;
  return r;
}

namespace {

struct Range {
  const char* name;
  std::uint64_t offset;
  std::uint64_t size;
};

Error bad(std::string what) { return make_error(Errc::corrupted, "superblock: " + std::move(what)); }

Result<void> check_range(const Range& r, std::uint64_t file_size) {
  if (r.offset % 8 != 0) {
    return bad(std::string(r.name) + " offset " + hex_number(r.offset) + " is not 8-aligned");
  }
  if (r.offset < k_sb_size || r.offset > file_size || r.size > file_size - r.offset) {
    return bad(std::string(r.name) + " [" + hex_number(r.offset) + ", +" + hex_number(r.size) +
               ") lies outside the file (" + std::to_string(file_size) + " bytes)");
  }
  return {};
}

} // namespace

Result<void> validate(const SuperBlock& sb, std::uint64_t file_size, Bytes reserved) {
  if (sb.magic != k_magic) {
    return bad("bad magic " + hex_number(sb.magic) + " (expected " + hex_number(k_magic) + ") at offset 0");
  }
  if (sb.fs_version != k_fs_version) {
    return make_error(Errc::unsupported, "superblock: fs version " + hex_number(sb.fs_version) +
                                             " at offset 4 is not RAFS v5 (0x500)");
  }
  if (sb.sb_size != k_sb_size) {
    return bad("sb_size " + std::to_string(sb.sb_size) + " at offset 8 is not 8192");
  }
  if (!std::has_single_bit(sb.block_size) || sb.block_size < k_min_chunk_size ||
      sb.block_size > k_max_chunk_size) {
    return bad("chunk size " + hex_number(sb.block_size) +
               " at offset 12 is not a power of two in [0x1000, 0x1000000]");
  }
  if ((sb.flags & ~k_sb_known_flags) != 0) {
    return bad("undefined flag bits " + hex_number(sb.flags & ~k_sb_known_flags) + " at offset 16");
  }
  if (file_size <= k_sb_size || file_size % 8 != 0 || file_size > k_max_bootstrap_size) {
    return bad("file size " + std::to_string(file_size) +
               " is not a multiple of 8 in (8192, 2 GiB]");
  }
  if (std::any_of(reserved.begin(), reserved.end(), [](std::uint8_t b) { return b != 0; })) {
    return bad("reserved bytes 80..8191 are not zero");
  }
  if (sb.inodes_count > sb.inode_table_entries) {
    return bad("inodes_count " + std::to_string(sb.inodes_count) + " exceeds inode table entries " +
               std::to_string(sb.inode_table_entries));
  }
  if (sb.inode_table_entries == 0) {
    return bad("inode table is empty (no root)");
  }
  std::array<Range, 4> ranges{{
      {"inode table", sb.inode_table_offset, align8(std::uint64_t{sb.inode_table_entries} * 4)},
      {"prefetch table", sb.prefetch_table_offset,
       align8(std::uint64_t{sb.prefetch_table_entries} * 4)},
      {"blob table", sb.blob_table_offset, sb.blob_table_size},
      {"extended blob table", sb.extended_blob_table_offset,
       std::uint64_t{sb.extended_blob_table_entries} * 64},
  }};
  for (const Range& r : ranges) {
    if (r.size == 0 && (r.offset == 0 || r.offset == file_size)) {
      continue; // an absent table may point nowhere
    }
    RAFS_TRY(check_range(r, file_size));
  }
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    for (std::size_t j = i + 1; j < ranges.size(); ++j) {
      const Range& a = ranges[i];
      const Range& b = ranges[j];
      if (a.size == 0 || b.size == 0) {
        continue;
      }
      if (a.offset < b.offset + b.size && b.offset < a.offset + a.size) {
        return bad(std::string(a.name) + " at " + hex_number(a.offset) + " overlaps " + b.name + " at " +
                   hex_number(b.offset));
      }
    }
  }
  return {};
}

Compressor compressor_of(std::uint64_t flags) noexcept {
  if ((flags & k_sb_compression_none) != 0) {
    return Compressor::none;
  }
  if ((flags & k_sb_compression_lz4) != 0) {
    return Compressor::lz4_block;
  }
  if ((flags & k_sb_compression_gzip) != 0) {
    return Compressor::gzip;
  }
  if ((flags & k_sb_compression_zstd) != 0) {
    return Compressor::zstd;
  }
  return Compressor::lz4_block;
}

DigestAlgo digester_of(std::uint64_t flags) noexcept {
  if ((flags & k_sb_hash_blake3) != 0) {
    return DigestAlgo::blake3;
  }
  if ((flags & k_sb_hash_sha256) != 0) {
    return DigestAlgo::sha256;
  }
  return DigestAlgo::blake3;
}

std::uint64_t compressor_flag(Compressor c) noexcept {
  switch (c) {
  case Compressor::none: return k_sb_compression_none;
  case Compressor::lz4_block: return k_sb_compression_lz4;
  case Compressor::gzip: return k_sb_compression_gzip;
  case Compressor::zstd: return k_sb_compression_zstd;
  }
  return k_sb_compression_none;
}

std::uint64_t digester_flag(DigestAlgo d) noexcept {
  return d == DigestAlgo::sha256 ? k_sb_hash_sha256 : k_sb_hash_blake3;
}

std::vector<std::string> super_flag_names(std::uint64_t flags) {
  static constexpr std::pair<std::uint64_t, const char*> k_names[] = {
      {k_sb_compression_none, "COMPRESSION_NONE"},
      {k_sb_compression_lz4, "COMPRESSION_LZ4"},
      {k_sb_hash_blake3, "HASH_BLAKE3"},
      {k_sb_hash_sha256, "HASH_SHA256"},
      {k_sb_explicit_uid_gid, "EXPLICIT_UID_GID"},
      {k_sb_has_xattr, "HAS_XATTR"},
      {k_sb_compression_gzip, "COMPRESSION_GZIP"},
      {k_sb_compression_zstd, "COMPRESSION_ZSTD"},
      {k_sb_inlined_chunk_digest, "INLINED_CHUNK_DIGEST"},
      {k_sb_tartfs_mode, "TARTFS_MODE"},
      {k_sb_encryption_none, "ENCRYPTION_NONE"},
      {k_sb_encryption_aes_128_xts, "ENCRYPTION_AES_128_XTS"},
  };
  std::vector<std::string> out;
  for (const auto& [bit, name] : k_names) {
    if ((flags & bit) != 0) {
      out.emplace_back(name);
    }
  }
  if ((flags & k_sb_reserved_compat) != 0) {
    out.push_back("RESERVED_COMPAT(" + hex_number(flags & k_sb_reserved_compat) + ")");
  }
  return out;
}

} // namespace rafs::v5
