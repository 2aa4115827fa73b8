#include "builder/oci_archive_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "format/file.hpp"

namespace rafs::builder {

namespace {

struct ArchiveFree {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};

Error archive_failure(archive* a, const std::filesystem::path& file) {
  const char* why = archive_error_string(a);
  return make_error(Errc::io, file.string() + ": " + (why != nullptr ? why : "tar writer failed"));
}

// Layout-relative paths, directories before their contents, sorted.
Result<std::vector<std::filesystem::path>> list(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    out.push_back(std::filesystem::relative(it->path(), dir));
  }
  if (ec) {
    return make_error(Errc::io, dir.string() + ": " + ec.message());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<void> add_entry(archive* a, const std::filesystem::path& dir, const std::filesystem::path& rel,
                       const std::filesystem::path& file) {
  const std::filesystem::path full = dir / rel;
  std::error_code ec;
  const bool is_dir = std::filesystem::is_directory(full, ec);
  std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), is_dir ? (rel.string() + "/").c_str() : rel.string().c_str());
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  archive_entry_set_mtime(e.get(), 0, 0);
  if (is_dir) {
    archive_entry_set_filetype(e.get(), AE_IFDIR);
    archive_entry_set_perm(e.get(), 0755);
    if (archive_write_header(a, e.get()) != ARCHIVE_OK) {
      return archive_failure(a, file);
    }
    return {};
  }
  RAFS_TRY_ASSIGN(RandomAccessFile in, RandomAccessFile::open(full));
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(in.size()));
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) {
    return archive_failure(a, file);
  }
  std::vector<std::uint8_t> buf(1 << 20);
  for (std::uint64_t off = 0; off < in.size();) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), in.size() - off));
    RAFS_TRY(in.read_at(off, MutableBytes(buf.data(), n)));
    if (archive_write_data(a, buf.data(), n) != static_cast<la_ssize_t>(n)) {
      return archive_failure(a, file);
    }
    off += n;
  }
  return {};
}

} // namespace

Result<void> write_layout_archive(const std::filesystem::path& layout_dir, const std::filesystem::path& file) {
  RAFS_TRY_ASSIGN(auto entries, list(layout_dir));
  RAFS_TRY_ASSIGN(AtomicFile out, AtomicFile::create(file));
  std::unique_ptr<archive, ArchiveFree> owner(archive_write_new());
  archive* a = owner.get();
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open_fd(a, out.fd()) != ARCHIVE_OK) {
    return archive_failure(a, file);
  }
  for (const auto& rel : entries) {
    RAFS_TRY(add_entry(a, layout_dir, rel, file));
  }
  if (archive_write_close(a) != ARCHIVE_OK) {
    return archive_failure(a, file);
  }
  return out.commit();
}

} // namespace rafs::builder
