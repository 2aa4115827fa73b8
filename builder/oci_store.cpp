#include "builder/oci_store.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <map>

#include "builder/source_entry.hpp"
#include "format/file.hpp"

namespace rafs::builder {

namespace {

constexpr std::size_t k_archive_block = 64 * 1024;
constexpr int k_max_link_hops = 16;

std::optional<std::string> normalized(const std::string& path) {
  auto n = normalize_entry_path(path);
  if (!n || n->empty()) {
    return std::nullopt;
  }
  return std::move(*n);
}

// A path the image's own files give (docker's manifest.json names members):
// refused unless it stays inside `root` (the layout or the archive).
Result<std::string> inside(const std::string& root, const std::string& path, const char* what) {
  auto n = normalized(path);
  if (!n) {
    return make_error(Errc::corrupted,
                      root + ": '" + path + "' is not a path inside the " + what);
  }
  return std::move(*n);
}

std::string trim_trailing_slashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

// ---------------------------------------------------------------- directory

class DirStore final : public OciStore {
public:
  explicit DirStore(std::string root) : m_root(trim_trailing_slashes(std::move(root))) {}

  Result<std::optional<std::uint64_t>> size_of(const std::string& path) const override {
    RAFS_TRY_ASSIGN(std::string n, inside(m_root, path, "layout"));
    const std::string full = m_root + "/" + n;
    struct stat st {};
    if (::stat(full.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        return std::optional<std::uint64_t>{};
      }
      return sys_error(full);
    }
    if (!S_ISREG(st.st_mode)) {
      return make_error(Errc::corrupted, full + ": not a regular file");
    }
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(st.st_size));
  }

  Result<std::vector<std::uint8_t>> read_all(const std::string& path, std::uint64_t cap) const override {
    RAFS_TRY_ASSIGN(auto size, size_of(path));
    if (!size) {
      return make_error(Errc::not_found, where(path) + ": no such file");
    }
    return read_whole_file(m_root + "/" + *normalized(path), cap);
  }

  Result<std::unique_ptr<ByteReader>> open(const std::string& path, std::string name) const override {
    RAFS_TRY_ASSIGN(std::string n, inside(m_root, path, "layout"));
    return open_file_reader(m_root + "/" + n, std::move(name));
  }

  Result<FileExtent> locate(const std::string& path) const override {
    RAFS_TRY_ASSIGN(auto size, size_of(path));
    if (!size) {
      return make_error(Errc::not_found, where(path) + ": no such file");
    }
    return FileExtent{m_root + "/" + *normalized(path), 0, *size};
  }

  std::string where(const std::string& path) const override { return m_root + "/" + path; }

private:
  std::string m_root;
};

// ---------------------------------------------------------------- archive

struct ArchiveReadFree {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveReadFree>;

std::string archive_message(archive* a) {
  const char* msg = archive_error_string(a);
  return msg != nullptr ? msg : "unreadable archive";
}

// A reader for a tar file, plain or compressed, positioned before its first header.
Result<ArchiveReader> open_archive(const std::string& file) {
  ArchiveReader a(archive_read_new());
  if (!a) {
    return make_error(Errc::internal, file + ": libarchive initialisation failed");
  }
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), k_archive_block) != ARCHIVE_OK) {
    const int err = archive_errno(a.get());
    if (err == ENOENT) {
      return make_error(Errc::not_found, file + ": no such file");
    }
    return make_error(Errc::corrupted, file + ": not a tar archive (" + archive_message(a.get()) + ")");
  }
  return a;
}

// The data of one member, read with archive_read_data.
class MemberReader final : public ByteReader {
public:
  MemberReader(ArchiveReader a, std::string name) : m_archive(std::move(a)), m_name(std::move(name)) {}

  Result<std::size_t> read(MutableBytes out) override {
    la_ssize_t n = archive_read_data(m_archive.get(), out.data(), out.size());
    if (n < 0) {
      return make_error(Errc::corrupted, m_name + ": " + archive_message(m_archive.get()));
    }
    m_read += static_cast<std::uint64_t>(n);
    return static_cast<std::size_t>(n);
  }
  std::string name() const override { return m_name; }
  std::uint64_t raw_bytes_read() const override { return m_read; }

private:
  ArchiveReader m_archive;
  std::string m_name;
  std::uint64_t m_read = 0;
};

class ArchiveStore final : public OciStore {
public:
  explicit ArchiveStore(std::string file) : m_file(std::move(file)) {}

  // Reads every header once (data is skipped, by seeking where possible).
  Result<void> index() {
    RAFS_TRY_ASSIGN(ArchiveReader a, open_archive(m_file));
    m_compressed = archive_filter_count(a.get()) > 1; // filter 0 is the file itself when plain
    for (std::size_t i = 0;; ++i) {
      archive_entry* ae = nullptr;
      int r = archive_read_next_header(a.get(), &ae);
      if (r == ARCHIVE_EOF) {
        return {};
      }
      if (r < ARCHIVE_WARN) {
        const std::string what = i == 0 ? "not a tar archive" : "corrupt after member " + std::to_string(i);
        return make_error(Errc::corrupted, m_file + ": " + what + " (" + archive_message(a.get()) + ")");
      }
      const char* raw = archive_entry_pathname(ae);
      auto name = normalized(raw != nullptr ? raw : "");
      if (!name) {
        continue; // the root, or a path with "..": never asked for
      }
      Member m;
      m.index = i;
      const la_int64_t size = archive_entry_size(ae);
      m.size = size > 0 ? static_cast<std::uint64_t>(size) : 0;
      // Every header of the entry (pax, GNU long names) has been consumed:
      // the uncompressed stream stands at the member's first data byte.
      m.data_offset = static_cast<std::uint64_t>(archive_filter_bytes(a.get(), 0));
      m.sparse = archive_entry_sparse_count(ae) > 0;
      if (const char* hl = archive_entry_hardlink(ae); hl != nullptr) {
        m.kind = Kind::hardlink;
        m.target = hl;
      } else if (archive_entry_filetype(ae) == AE_IFREG) {
        m.kind = Kind::regular;
      } else if (archive_entry_filetype(ae) == AE_IFLNK) {
        const char* t = archive_entry_symlink(ae);
        m.kind = Kind::symlink;
        m.target = t != nullptr ? t : "";
      }
      m_members[*name] = std::move(m); // a later copy of a name replaces it, as in extraction
    }
  }

  Result<std::optional<std::uint64_t>> size_of(const std::string& path) const override {
    RAFS_TRY(inside(m_file, path, "archive"));
    const Member* m = resolve(path);
    if (m == nullptr) {
      return std::optional<std::uint64_t>{};
    }
    return std::optional<std::uint64_t>(m->size);
  }

  Result<std::vector<std::uint8_t>> read_all(const std::string& path, std::uint64_t cap) const override {
    RAFS_TRY(inside(m_file, path, "archive"));
    const Member* m = resolve(path);
    if (m == nullptr) {
      return make_error(Errc::not_found, where(path) + ": no such file");
    }
    if (m->size > cap) {
      return make_error(Errc::overflow, where(path) + ": member of " + std::to_string(m->size) +
                                            " bytes exceeds the limit of " + std::to_string(cap));
    }
    RAFS_TRY_ASSIGN(auto reader, open_member(*m, where(path)));
    std::vector<std::uint8_t> data(static_cast<std::size_t>(m->size));
    std::size_t filled = 0;
    while (filled < data.size()) {
      RAFS_TRY_ASSIGN(std::size_t n, reader->read(MutableBytes(data).subspan(filled)));
      if (n == 0) {
        return make_error(Errc::corrupted, where(path) + ": member is truncated");
      }
      filled += n;
    }
    return data;
  }

  Result<std::unique_ptr<ByteReader>> open(const std::string& path, std::string name) const override {
    RAFS_TRY(inside(m_file, path, "archive"));
    const Member* m = resolve(path);
    if (m == nullptr) {
      return make_error(Errc::not_found, where(path) + ": no such file");
    }
    return open_member(*m, std::move(name));
  }

  Result<FileExtent> locate(const std::string& path) const override {
    RAFS_TRY(inside(m_file, path, "archive"));
    const Member* m = resolve(path);
    if (m == nullptr) {
      return make_error(Errc::not_found, where(path) + ": no such file");
    }
    if (m_compressed) {
      return make_error(Errc::unsupported, m_file + ": a compressed archive: its members cannot be read in place");
    }
    if (m->sparse) {
      return make_error(Errc::unsupported, where(path) + ": a sparse member cannot be read in place");
    }
    return FileExtent{m_file, m->data_offset, m->size};
  }

  std::string where(const std::string& path) const override { return m_file + "/" + path; }

private:
  enum class Kind : std::uint8_t { other, regular, symlink, hardlink };
  struct Member {
    std::size_t index = 0; // position in the archive
    std::uint64_t size = 0;
    std::uint64_t data_offset = 0; // in the uncompressed stream
    bool sparse = false;
    Kind kind = Kind::other;
    std::string target; // symlink target (relative to the member's folder) or hard-link target
  };

  // The regular member `path` names, following links; null when there is none.
  const Member* resolve(const std::string& path) const {
    auto name = normalized(path);
    for (int hop = 0; name && hop < k_max_link_hops; ++hop) {
      auto it = m_members.find(*name);
      if (it == m_members.end()) {
        return nullptr;
      }
      const Member& m = it->second;
      switch (m.kind) {
      case Kind::regular: return &m;
      case Kind::other: return nullptr;
      case Kind::hardlink: name = normalized(m.target); break;
      case Kind::symlink:
        if (m.target.empty() || m.target.front() == '/') {
          return nullptr;
        }
        name =
            normalized((std::filesystem::path(*name).parent_path() / m.target).lexically_normal().string());
        break;
      }
    }
    return nullptr;
  }

  Result<std::unique_ptr<ByteReader>> open_member(const Member& m, std::string name) const {
    RAFS_TRY_ASSIGN(ArchiveReader a, open_archive(m_file));
    for (std::size_t i = 0; i <= m.index; ++i) {
      archive_entry* ae = nullptr;
      int r = archive_read_next_header(a.get(), &ae);
      if (r < ARCHIVE_WARN || r == ARCHIVE_EOF) {
        return make_error(Errc::corrupted,
                          m_file + ": changed while being read (" + archive_message(a.get()) + ")");
      }
    }
    return std::unique_ptr<ByteReader>(std::make_unique<MemberReader>(std::move(a), std::move(name)));
  }

  std::string m_file;
  bool m_compressed = false;
  std::map<std::string, Member> m_members;
};

} // namespace

Result<FileExtent> OciStore::locate(const std::string& path) const {
  return make_error(Errc::unsupported, where(path) + ": cannot be read in place");
}

Result<std::unique_ptr<OciStore>> open_dir_store(const std::string& dir) {
  return std::unique_ptr<OciStore>(std::make_unique<DirStore>(dir));
}

Result<std::unique_ptr<OciStore>> open_archive_store(const std::string& file) {
  auto store = std::make_unique<ArchiveStore>(file);
  RAFS_TRY(store->index());
  return std::unique_ptr<OciStore>(std::move(store));
}

} // namespace rafs::builder
