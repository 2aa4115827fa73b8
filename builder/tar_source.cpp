#include "builder/tar_source.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>

#include "builder/layer_stream.hpp"
#include "builder/read_ahead.hpp"

#include "format/layout.hpp"

namespace rafs::builder {

namespace {

struct ArchiveReadFree {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveReadFree>;

class TarDataReader final : public DataReader {
public:
  archive* a = nullptr;
  // The entry being read, for messages: built only when one is needed (an
  // entry's worth of string building was measurable on 100k small files).
  std::string archive_name;
  std::uint64_t number = 0;
  std::string raw_path;
  std::string where() const { return "entry " + std::to_string(number) + " '" + raw_path + "'"; }
  std::string entry() const { return archive_name + ": " + where(); }
  const std::optional<Error>* stream_error = nullptr;
  // The stream's current piece and its owner (TarSource::read_callback).
  Bytes piece;
  std::shared_ptr<const void> piece_owner;
  const std::uint8_t* last = nullptr;
  std::size_t last_len = 0;
  std::shared_ptr<const void> block_owner() const override {
    // libarchive hands out pointers into the current piece, or into its own
    // buffer when a block straddled two pieces.
    if (piece_owner && last >= piece.data() && last + last_len <= piece.data() + piece.size()) {
      return piece_owner;
    }
    return nullptr;
  }
  Result<bool> next_block(const std::uint8_t*& data, std::size_t& len, std::uint64_t& offset) override {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t off = 0;
    int r = archive_read_data_block(a, &buf, &size, &off);
    if (r == ARCHIVE_EOF) {
      return false;
    }
    if (r < ARCHIVE_WARN) {
      if (stream_error != nullptr && *stream_error) {
        return **stream_error;
      }
      const char* msg = archive_error_string(a);
      return make_error(Errc::corrupted, entry() + ": " + (msg != nullptr ? msg : "read error"));
    }
    data = static_cast<const std::uint8_t*>(buf);
    len = size;
    offset = static_cast<std::uint64_t>(off);
    last = data;
    last_len = len;
    prefetch_next_header(data + len);
    return true;
  }

private:
  // After an entry's last block come at most 511 bytes of padding and the
  // next entry's 512-byte header: libarchive's first read of that header
  // missed every cache and the TLB (a small file's header is on a page
  // nothing touched yet), 1 µs an entry and ~4.5% of all CPU samples on
  // 100,000 small files. Prefetched here, the miss overlaps the rest of the
  // entry's work. A prefetch never faults, so past the piece is harmless;
  // after a block that is not the entry's last it fetches bytes a worker
  // reads next anyway.
  static void prefetch_next_header(const std::uint8_t* end) noexcept {
    const auto from = reinterpret_cast<std::uintptr_t>(end);
    for (std::uintptr_t at = from; at < from + 1024; at += 64) {
      __builtin_prefetch(reinterpret_cast<const void*>(at));
    }
  }
};

class TarSource final : public Source {
public:
  // `require_end`: a stream that stops at an entry boundary, without an
  // end-of-archive block, is an error (it was cut short).
  TarSource(std::unique_ptr<ReadAheadReader> tar, bool require_end)
      : m_name(tar->name()), m_stream(std::move(tar)), m_require_end(require_end) {}

  Result<void> open() {
    m_archive.reset(archive_read_new());
    archive* a = m_archive.get();
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_format_empty(a);
    // Read past the end-of-archive blocks to the end of the stream, so the
    // gzip/zstd trailer (CRC, checksum) is read and checked too.
    archive_read_set_format_option(a, "tar", "read_concatenated_archives", "1");
    int r = archive_read_open(a, this, nullptr, &TarSource::read_callback, nullptr);
    if (r != ARCHIVE_OK) {
      return error(k_not_tar);
    }
    m_data.a = a;
    m_data.archive_name = m_name;
    m_data.stream_error = &m_stream_error;
    return {};
  }

  Result<bool> next(SourceEntry& e) override {
    archive_entry* ae = nullptr;
    if (m_ended) {
      return false;
    }
    if (m_require_end && m_count > 0) {
      // Past the previous entry's data and padding: where the next header
      // or the end-of-archive blocks start.
      if (archive_read_data_skip(m_archive.get()) < ARCHIVE_WARN) {
        return error("in entry " + std::to_string(m_count));
      }
      m_entries_end = archive_filter_bytes(m_archive.get(), 0);
    }
    int r = archive_read_next_header(m_archive.get(), &ae);
    if (r == ARCHIVE_EOF) {
      // libarchive takes a stream that stops at an entry boundary for a
      // complete archive; without a zero block there it was cut short. (An
      // empty stream is the empty layer.)
      if (m_require_end && m_count > 0 &&
          archive_filter_bytes(m_archive.get(), 0) - m_entries_end < k_block) {
        RAFS_TRY(drain());
        return make_error(Errc::corrupted, m_name + ": truncated: the archive ends after entry " +
                                               std::to_string(m_count) + " without an end-of-archive block");
      }
      RAFS_TRY(drain());
      m_ended = true;
      return false;
    }
    if (r < ARCHIVE_WARN) {
      return error(m_count == 0 ? k_not_tar : "after entry " + std::to_string(m_count));
    }
    ++m_count;
    const char* raw = archive_entry_pathname(ae);
    if (raw == nullptr) {
      raw = archive_entry_pathname_utf8(ae);
    }
    m_data.number = m_count;
    m_data.raw_path.assign(raw != nullptr ? raw : ""); // keeps its buffer from entry to entry
    RAFS_TRY_ASSIGN(e.path, with_context(normalize_entry_path(m_data.raw_path)));
    return fill(e, ae);
  }

  DataReader& data() override { return m_data; }
  std::string name() const override { return m_name; }
  std::uint64_t bytes_read() const override { return m_stream ? m_stream->raw_bytes_read() : 0; }
  std::vector<std::string> take_warnings() override { return std::exchange(m_warnings, {}); }

private:
  template <typename T> Result<T> with_context(Result<T> r) {
    if (!r) {
      return r.error().with_context(m_name);
    }
    return r;
  }

  // Reads whatever libarchive left of the stream (e.g. the padding after
  // the end-of-archive blocks), so every reader in the stack reaches its end.
  Result<void> drain() {
    if (m_stream_error) {
      return *m_stream_error;
    }
    for (;;) {
      RAFS_TRY_ASSIGN(Bytes piece, m_stream->view());
      if (piece.empty()) {
        return {};
      }
    }
  }

  // libarchive pulls the plain tar stream through this.
  static la_ssize_t read_callback(archive* a, void* self, const void** buf) {
    auto* src = static_cast<TarSource*>(self);
    auto piece = src->m_stream->view(); // valid until the next callback, as libarchive needs
    if (!piece) {
      src->m_stream_error = piece.error();
      archive_set_error(a, EIO, "%s", piece.error().message.c_str());
      return -1;
    }
    *buf = piece->data();
    src->m_data.piece = *piece;
    src->m_data.piece_owner = src->m_stream->view_owner();
    return static_cast<la_ssize_t>(piece->size());
  }

  Error error(const std::string& what) {
    if (m_stream_error) {
      return *m_stream_error; // the layer's own error says it best
    }
    const char* msg = archive_error_string(m_archive.get());
    return make_error(Errc::corrupted, m_name + ": " + what + ": " +
                                           (msg != nullptr ? msg : "unreadable archive"));
  }

  Result<bool> fill(SourceEntry& e, archive_entry* ae) {
    auto bad = [&](const std::string& what) {
      return make_error(Errc::corrupted, m_data.entry() + ": " + what);
    };
    e.mode = archive_entry_mode(ae);
    e.size = 0;
    e.link_target.clear();
    e.rdev_major = e.rdev_minor = 0;
    la_int64_t uid = archive_entry_uid(ae);
    la_int64_t gid = archive_entry_gid(ae);
    if (uid < 0 || gid < 0 || uid > 0xFFFFFFFF || gid > 0xFFFFFFFF) {
      return bad("uid/gid out of the 32-bit range");
    }
    e.uid = static_cast<std::uint32_t>(uid);
    e.gid = static_cast<std::uint32_t>(gid);
    time_t mtime = archive_entry_mtime(ae);
    e.mtime = mtime < 0 ? 0 : static_cast<std::uint64_t>(mtime);
    long nsec = archive_entry_mtime_nsec(ae);
    e.mtime_nsec = nsec < 0 || nsec > 999999999 || mtime < 0 ? 0 : static_cast<std::uint32_t>(nsec);
    if (const char* hl = archive_entry_hardlink(ae); hl != nullptr) {
      e.kind = EntryKind::hardlink;
      auto target = normalize_entry_path(hl);
      if (!target) {
        return bad("hard link target: " + target.error().message);
      }
      e.link_target = std::move(*target);
    } else {
      switch (archive_entry_filetype(ae)) {
      case AE_IFREG: e.kind = EntryKind::regular; break;
      case AE_IFDIR: e.kind = EntryKind::directory; break;
      case AE_IFLNK: e.kind = EntryKind::symlink; break;
      case AE_IFCHR: e.kind = EntryKind::chardev; break;
      case AE_IFBLK: e.kind = EntryKind::blockdev; break;
      case AE_IFIFO: e.kind = EntryKind::fifo; break;
      case AE_IFSOCK: e.kind = EntryKind::socket; break;
      default: return bad("unsupported entry type");
      }
    }
    if (e.kind == EntryKind::regular) {
      la_int64_t size = archive_entry_size(ae);
      if (size < 0) {
        return bad("negative size");
      }
      e.size = static_cast<std::uint64_t>(size);
    }
    if (e.kind == EntryKind::symlink) {
      const char* t = archive_entry_symlink(ae);
      if (t == nullptr) {
        t = archive_entry_symlink_utf8(ae);
      }
      e.link_target = t != nullptr ? t : "";
      if (e.link_target.empty() || e.link_target.size() > v5::k_max_symlink_size) {
        return bad("symlink target is empty or longer than 4096 bytes");
      }
    }
    if (e.kind == EntryKind::chardev || e.kind == EntryKind::blockdev) {
      e.rdev_major = static_cast<std::uint32_t>(archive_entry_rdevmajor(ae));
      e.rdev_minor = static_cast<std::uint32_t>(archive_entry_rdevminor(ae));
    }
    read_xattrs(e, ae);
    return true;
  }

  void read_xattrs(SourceEntry& e, archive_entry* ae) {
    e.xattrs.clear();
    archive_entry_xattr_reset(ae);
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
      std::string n = name != nullptr ? name : "";
      if (!v5::xattr_name_allowed(n) || size > v5::k_max_xattr_value || n.size() > v5::k_max_xattr_name) {
        std::string w = m_data.entry() + ": xattr '" + n +
                        "' skipped (RAFS keeps user., security., trusted. and POSIX ACL xattrs)";
        if (m_warnings.empty() || m_warnings.back() != w) { // SCHILY and LIBARCHIVE copies
          m_warnings.push_back(std::move(w));
        }
        continue;
      }
      std::string v(static_cast<const char*>(value), size);
      auto same = std::find_if(e.xattrs.begin(), e.xattrs.end(),
                               [&](const v5::Xattr& x) { return x.name == n; });
      if (same != e.xattrs.end()) {
        same->value = std::move(v); // SCHILY and LIBARCHIVE copies of one xattr
      } else {
        e.xattrs.push_back({std::move(n), std::move(v)});
      }
    }
    std::sort(e.xattrs.begin(), e.xattrs.end(),
              [](const v5::Xattr& a, const v5::Xattr& b) { return a.name < b.name; });
  }

  static constexpr const char* k_not_tar = "not a tar archive";
  static constexpr la_int64_t k_block = 512;

  std::string m_name;
  std::unique_ptr<ReadAheadReader> m_stream;
  std::optional<Error> m_stream_error;
  ArchiveReader m_archive;
  TarDataReader m_data;
  std::uint64_t m_count = 0;
  bool m_require_end = false;
  la_int64_t m_entries_end = 0; // stream offset where the last entry read ends
  bool m_ended = false;
  std::vector<std::string> m_warnings;
};

Result<std::unique_ptr<Source>> open_source(std::unique_ptr<ByteReader> tar, bool require_end) {
  auto src = std::make_unique<TarSource>(read_ahead(std::move(tar)), require_end);
  RAFS_TRY(src->open());
  return std::unique_ptr<Source>(std::move(src));
}

} // namespace

Result<std::unique_ptr<Source>> open_tar_source(const std::string& path, std::size_t map_window) {
  RAFS_TRY_ASSIGN(auto mapped, map_plain_tar(path, map_window));
  if (mapped) {
    auto src = std::make_unique<TarSource>(std::move(mapped), true);
    RAFS_TRY(src->open());
    return std::unique_ptr<Source>(std::move(src));
  }
  RAFS_TRY_ASSIGN(auto stream, LayerStream::open(path));
  return open_source(std::move(stream), true);
}

Result<std::unique_ptr<Source>> open_tar_source(std::unique_ptr<ByteReader> tar) {
  return open_source(std::move(tar), false);
}

} // namespace rafs::builder
