// The v5 blob table (variable-length entries) and extended blob table
// (64-byte entries, absent in images made before 2021).
//
// Blob table, per entry: u32 readahead_offset | u32 readahead_size | id bytes.
// Entries are separated by one NUL (none after the last); the table is then
// zero-padded to a multiple of 8, and its size counts the padding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/bytes.hpp"
#include "format/error.hpp"

namespace rafs::v5 {

struct ExtBlobRecord {
  le32 chunk_count;
  le32 features;
  le64 uncompressed_size;
  le64 compressed_size;
  std::array<std::uint8_t, 40> reserved;
};
static_assert(sizeof(ExtBlobRecord) == 64);
static_assert(alignof(ExtBlobRecord) == 1);
static_assert(std::is_trivially_copyable_v<ExtBlobRecord>);

// One blob: the blob table entry plus its extended entry (zeros if absent).
struct BlobInfo {
  std::string id;
  std::uint32_t readahead_offset = 0;
  std::uint32_t readahead_size = 0;
  std::uint32_t chunk_count = 0;
  std::uint32_t features = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t compressed_size = 0;

  bool operator==(const BlobInfo&) const = default;
};

// Encodes the blob table, padded to 8 bytes.
std::vector<std::uint8_t> encode_blob_table(const std::vector<BlobInfo>& blobs);
// Encodes the extended table: 64 bytes per blob.
std::vector<std::uint8_t> encode_ext_blob_table(const std::vector<BlobInfo>& blobs);

// Parses the blob table bytes (ids, readahead ranges only).
[[nodiscard]] Result<std::vector<BlobInfo>> decode_blob_table(Bytes table);
// Fills chunk_count, features and sizes of `blobs` from the extended table.
[[nodiscard]] Result<void> decode_ext_blob_table(Bytes table, std::vector<BlobInfo>& blobs);

// Names of blob feature bits, in nydus-image check's order and spelling
// ("aligned", "cap_toc", ...).
std::vector<std::string> blob_feature_names(std::uint32_t features);

} // namespace rafs::v5
