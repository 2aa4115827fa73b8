// The cache record: our own persistent list of which chunks of one blob the
// cache data file holds. (SEEK_DATA/SEEK_HOLE are never consulted: a
// filesystem may report unwritten ranges as data, or written ones as holes.)
//
// File `<cache dir>/<blob id>.rafs-record`, little-endian:
//
//   header, 104 bytes
//     0  u8[8]  magic "RAFSCREC"
//     8  u32    version (1)
//    12  u32    entry size (8)
//    16  u64    data_size: size of the data file (end of the last chunk slot)
//    24  u32    slot_count: distinct chunks of the blob the bootstrap names
//    28  u32    reserved (0)
//    32  u64    generation: random, new at every reset
//    40  u8[32] fingerprint of the blob's chunk layout (BlobLayout)
//    72  u8[32] BLAKE3 of bytes 0..72
//   then entries, 8 bytes each, appended in order:
//     0  u32    chunk index
//     4  u32    check: 32 bits of mix(generation, fingerprint, kind, index)
//
// An entry is a claim ("the data of this chunk is in the data file at its
// uncompressed_offset") or a tombstone (kind 1: "forget that claim"); the
// last entry of an index wins. Entries whose check fails (torn or garbage
// tails, stale blocks, entries of an earlier generation) or whose index the
// layout does not name are ignored, never trusted.
//
// Crash safety is by write order: a claim is appended only after the data
// it names was written and fdatasync'ed (group commit in ChunkCache), so the
// record never claims data that is not durable. A header that does not
// match (other blob with the same id, other layout, corrupt header, wrong
// data file size) makes the caller reset: record emptied and synced before
// the data file is touched, then a new header with a new generation.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "format/bytes.hpp"
#include "format/error.hpp"
#include "runtime/chunk_cache_layout.hpp"

namespace rafs::runtime {

struct CacheRecordHeader {
  std::array<std::uint8_t, 8> magic;
  le32 version;
  le32 entry_size;
  le64 data_size;
  le32 slot_count;
  le32 reserved;
  le64 generation;
  std::array<std::uint8_t, 32> fingerprint;
  std::array<std::uint8_t, 32> checksum;
};
static_assert(sizeof(CacheRecordHeader) == 104);
static_assert(alignof(CacheRecordHeader) == 1);
static_assert(std::is_trivially_copyable_v<CacheRecordHeader>);

struct CacheRecordEntry {
  le32 index;
  le32 check;
};
static_assert(sizeof(CacheRecordEntry) == 8);
static_assert(alignof(CacheRecordEntry) == 1);

// What load() found.
struct LoadedRecord {
  bool header_ok = false;
  std::string problem;               // why the header is unusable
  std::uint64_t generation = 0;      // of a usable header
  std::vector<std::uint8_t> present; // by slot: 1 when claimed
  std::uint64_t bad_entries = 0;     // ignored entries (and a partial tail)
  std::uint64_t entries = 0;         // valid entries read
};

// An open record file (not owning the descriptor). Not thread-safe: the
// caller serializes writes.
class CacheRecord {
public:
  CacheRecord(int fd, std::string name, const BlobLayout& layout)
      : m_fd(fd), m_name(std::move(name)), m_layout(&layout) {}

  // Reads the whole record (in bounded pieces) and applies its entries.
  [[nodiscard]] Result<LoadedRecord> load();
  // Empties the record, syncs, then (after the caller reset the data file)
  // writes a header with a new generation and syncs again.
  [[nodiscard]] Result<void> clear();
  [[nodiscard]] Result<void> write_header();
  // Rewrites the record as header + one claim per present slot, in place
  // (dropping bad entries and tombstones). Losing it in a crash only loses
  // claims, never adds one.
  [[nodiscard]] Result<void> rewrite(const std::vector<std::uint8_t>& present);
  // Appends entries (one write). Claims only for data already synced.
  [[nodiscard]] Result<void> append(std::span<const std::uint32_t> slots, bool tombstone);
  [[nodiscard]] Result<void> sync();

  std::uint64_t generation() const noexcept { return m_generation; }

private:
  CacheRecordEntry entry(std::uint32_t slot, bool tombstone) const;
  CacheRecordHeader header() const;
  Result<void> write_all(std::uint64_t offset, Bytes data);

  int m_fd;
  std::string m_name;
  const BlobLayout* m_layout;
  std::uint64_t m_generation = 0;
  std::uint64_t m_end = 0; // where the next entry goes
};

} // namespace rafs::runtime
