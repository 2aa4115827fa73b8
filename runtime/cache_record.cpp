#include "runtime/cache_record.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "format/digest.hpp"
#include "format/file.hpp"

namespace rafs::runtime {

namespace {

constexpr std::array<std::uint8_t, 8> k_magic = {'R', 'A', 'F', 'S', 'C', 'R', 'E', 'C'};
constexpr std::uint32_t k_version = 1;
constexpr std::size_t k_header_size = sizeof(CacheRecordHeader);
constexpr std::size_t k_entry_size = sizeof(CacheRecordEntry);
constexpr std::size_t k_checked_bytes = offsetof(CacheRecordHeader, checksum);

std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint64_t new_generation(std::uint64_t previous) {
  std::random_device rd;
  auto now =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::uint64_t g = mix64((std::uint64_t{rd()} << 32) ^ rd() ^ now);
  return g == previous ? g + 1 : g;
}

Digest header_checksum(const CacheRecordHeader& h) {
  Blake3 b;
  b.update(Bytes(reinterpret_cast<const std::uint8_t*>(&h), k_checked_bytes));
  return b.finalize();
}

} // namespace

CacheRecordHeader CacheRecord::header() const {
  CacheRecordHeader h{};
  h.magic = k_magic;
  h.version = k_version;
  h.entry_size = static_cast<std::uint32_t>(k_entry_size);
  h.data_size = m_layout->data_size;
  h.slot_count = static_cast<std::uint32_t>(m_layout->slots.size());
  h.reserved = 0;
  h.generation = m_generation;
  h.fingerprint = m_layout->fingerprint;
  h.checksum = header_checksum(h);
  return h;
}

CacheRecordEntry CacheRecord::entry(std::uint32_t slot, bool tombstone) const {
  const std::uint32_t index = m_layout->indexes[slot];
  const std::uint64_t salt = m_generation ^ load_le<std::uint64_t>(m_layout->fingerprint.data());
  const std::uint64_t kind = tombstone ? 2 : 1;
  const std::uint64_t m = mix64(salt ^ (std::uint64_t{index} | kind << 32));
  CacheRecordEntry e;
  e.index = index;
  e.check = static_cast<std::uint32_t>(m ^ (m >> 32));
  return e;
}

Result<LoadedRecord> CacheRecord::load() {
  LoadedRecord out;
  struct stat st {};
  if (::fstat(m_fd, &st) != 0) {
    return sys_error(m_name);
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < k_header_size) {
    out.problem = size == 0 ? "new cache" : "record shorter than its header";
    return out;
  }
  CacheRecordHeader h{};
  RAFS_TRY(pread_full(m_fd, 0, MutableBytes(reinterpret_cast<std::uint8_t*>(&h), k_header_size),
                      m_name));
  const CacheRecordHeader want = [&] {
    CacheRecordHeader w = header();
    w.generation = h.generation;
    w.checksum = header_checksum(w);
    return w;
  }();
  if (h.magic != k_magic || h.version.get() != k_version || h.entry_size.get() != k_entry_size ||
      h.checksum != header_checksum(h)) {
    out.problem = "record header is not valid";
    return out;
  }
  if (std::memcmp(&h, &want, k_header_size) != 0) {
    out.problem = "record belongs to another blob or image (layout differs)";
    return out;
  }
  out.header_ok = true;
  m_generation = out.generation = h.generation.get();
  out.present.assign(m_layout->slots.size(), 0);
  std::vector<std::uint8_t> buf(64 * 1024);
  std::uint64_t pos = k_header_size;
  const std::uint64_t whole_end =
      k_header_size + (size - k_header_size) / k_entry_size * k_entry_size;
  while (pos < whole_end) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), whole_end - pos));
    RAFS_TRY(pread_full(m_fd, pos, MutableBytes(buf.data(), n), m_name));
    for (std::size_t off = 0; off < n; off += k_entry_size) {
      const auto e = load_record<CacheRecordEntry>(buf.data() + off);
      const std::int64_t slot = m_layout->slot_of(e.index.get());
      if (slot < 0) {
        ++out.bad_entries;
        continue;
      }
      const auto s = static_cast<std::uint32_t>(slot);
      if (e.check.get() == entry(s, false).check.get()) {
        out.present[s] = 1;
      } else if (e.check.get() == entry(s, true).check.get()) {
        out.present[s] = 0;
      } else {
        ++out.bad_entries;
        continue;
      }
      ++out.entries;
    }
    pos += n;
  }
  if (whole_end != size) {
    ++out.bad_entries; // a torn last entry
  }
  m_end = size;
  return out;
}

Result<void> CacheRecord::write_all(std::uint64_t offset, Bytes data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(m_fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_error(m_name + ": write");
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Result<void> CacheRecord::sync() {
  if (::fdatasync(m_fd) != 0) {
    return sys_error(m_name + ": fdatasync");
  }
  return {};
}

Result<void> CacheRecord::clear() {
  struct stat st {};
  if (::fstat(m_fd, &st) != 0) {
    return sys_error(m_name);
  }
  m_end = 0;
  if (st.st_size == 0) {
    return {}; // a new record: no claim to retract (and no sync: a mount stays quick)
  }
  if (::ftruncate(m_fd, 0) != 0) {
    return sys_error(m_name + ": truncate");
  }
  m_end = 0;
  return sync();
}

Result<void> CacheRecord::write_header() {
  m_generation = new_generation(m_generation);
  CacheRecordHeader h = header();
  RAFS_TRY(write_all(0, Bytes(reinterpret_cast<const std::uint8_t*>(&h), k_header_size)));
  m_end = k_header_size;
  // Not synced: a header lost in a crash only makes a new cache, and the
  // sync after the first claim makes it durable along with that claim.
  return {};
}

Result<void> CacheRecord::rewrite(const std::vector<std::uint8_t>& present) {
  RAFS_TRY(clear());
  // A new generation: stale blocks of the old entries can never validate.
  m_generation = new_generation(m_generation);
  std::vector<std::uint8_t> bytes(k_header_size);
  CacheRecordHeader h = header();
  std::memcpy(bytes.data(), &h, k_header_size);
  for (std::uint32_t s = 0; s < present.size(); ++s) {
    if (present[s] != 0) {
      CacheRecordEntry e = entry(s, false);
      const auto* p = reinterpret_cast<const std::uint8_t*>(&e);
      bytes.insert(bytes.end(), p, p + k_entry_size);
    }
  }
  RAFS_TRY(write_all(0, bytes));
  m_end = bytes.size();
  return sync();
}

Result<void> CacheRecord::append(std::span<const std::uint32_t> slots, bool tombstone) {
  if (slots.empty()) {
    return {};
  }
  std::vector<std::uint8_t> bytes(slots.size() * k_entry_size);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    CacheRecordEntry e = entry(slots[i], tombstone);
    std::memcpy(bytes.data() + i * k_entry_size, &e, k_entry_size);
  }
  RAFS_TRY(write_all(m_end, bytes));
  m_end += bytes.size();
  return {};
}

} // namespace rafs::runtime
