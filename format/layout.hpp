// RAFS v5 constants: magic numbers, sizes and flag bits. Every value here is
// written to disk by upstream nydus-image and must never change. The byte
// tables live in format/FORMAT.md.
#pragma once

#include <cstdint>

namespace rafs::v5 {

inline constexpr std::uint32_t k_magic = 0x52414653;      // bytes "SFAR"
inline constexpr std::uint32_t k_fs_version = 0x500;
inline constexpr std::uint32_t k_sb_size = 8192;
inline constexpr std::uint64_t k_inode_table_offset = 8192;
inline constexpr std::uint32_t k_min_chunk_size = 0x1000;
inline constexpr std::uint32_t k_max_chunk_size = 0x1000000;
inline constexpr std::uint32_t k_default_chunk_size = 0x100000;
inline constexpr std::uint64_t k_max_bootstrap_size = 0x80000000; // 2 GiB
// Chunk records (80 bytes each) a bootstrap can hold: builders refuse a layer
// whose files would need more before cutting them (26,843,545).
inline constexpr std::uint64_t k_max_chunk_records = k_max_bootstrap_size / 80;
inline constexpr std::uint32_t k_max_name_size = 255;
inline constexpr std::uint32_t k_max_symlink_size = 4096;   // PATH_MAX; checked at open
inline constexpr std::uint32_t k_max_xattr_value = 65536;
inline constexpr std::uint32_t k_max_xattr_name = 255;
inline constexpr std::uint32_t k_max_blob_id = 255;

// Superblock s_flags (u64).
inline constexpr std::uint64_t k_sb_compression_none = 0x1;
inline constexpr std::uint64_t k_sb_compression_lz4 = 0x2;
inline constexpr std::uint64_t k_sb_hash_blake3 = 0x4;
inline constexpr std::uint64_t k_sb_hash_sha256 = 0x8;
inline constexpr std::uint64_t k_sb_explicit_uid_gid = 0x10;
inline constexpr std::uint64_t k_sb_has_xattr = 0x20;
inline constexpr std::uint64_t k_sb_compression_gzip = 0x40;
inline constexpr std::uint64_t k_sb_compression_zstd = 0x80;
inline constexpr std::uint64_t k_sb_inlined_chunk_digest = 0x100; // v6
inline constexpr std::uint64_t k_sb_tartfs_mode = 0x200;          // v6
inline constexpr std::uint64_t k_sb_encryption_none = 0x0100'0000;
inline constexpr std::uint64_t k_sb_encryption_aes_128_xts = 0x0200'0000;
inline constexpr std::uint64_t k_sb_reserved_compat = 0xFC00'0000; // six bits, accepted and unused
inline constexpr std::uint64_t k_sb_known_flags = 0x3FF | 0x0100'0000 | 0x0200'0000 | 0xFC00'0000;

// Inode i_flags (u64).
inline constexpr std::uint64_t k_inode_symlink = 0x1;
inline constexpr std::uint64_t k_inode_hardlink = 0x2;
inline constexpr std::uint64_t k_inode_xattr = 0x4;
inline constexpr std::uint64_t k_inode_has_hole = 0x8;
inline constexpr std::uint64_t k_inode_known_flags = 0xF;

// Chunk flags (u32).
inline constexpr std::uint32_t k_chunk_compressed = 0x1;
inline constexpr std::uint32_t k_chunk_hole = 0x2; // legacy, unused
inline constexpr std::uint32_t k_chunk_encrypted = 0x4;
inline constexpr std::uint32_t k_chunk_batch = 0x8;
inline constexpr std::uint32_t k_chunk_has_crc32 = 0x10;

// Extended blob table feature bits (u32).
inline constexpr std::uint32_t k_blob_aligned = 0x1;
inline constexpr std::uint32_t k_blob_inlined_fs_meta = 0x2;
inline constexpr std::uint32_t k_blob_chunk_info_v2 = 0x4;
inline constexpr std::uint32_t k_blob_zran = 0x8;
inline constexpr std::uint32_t k_blob_separate = 0x10;
inline constexpr std::uint32_t k_blob_inlined_chunk_digest = 0x20;
inline constexpr std::uint32_t k_blob_tarfs = 0x40;
inline constexpr std::uint32_t k_blob_batch = 0x80;
inline constexpr std::uint32_t k_blob_encrypted = 0x100;
inline constexpr std::uint32_t k_blob_is_chunkdict_generated = 0x200;
inline constexpr std::uint32_t k_blob_separated_with_prefetch = 0x400;
inline constexpr std::uint32_t k_blob_external = 0x800;
inline constexpr std::uint32_t k_blob_has_tar_header = 0x1000'0000;
inline constexpr std::uint32_t k_blob_has_toc = 0x2000'0000;
inline constexpr std::uint32_t k_blob_cap_tar_toc = 0x4000'0000;

} // namespace rafs::v5
