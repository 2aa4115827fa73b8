#include "support/tar_maker.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>

#include "support/temp_dir.hpp"

namespace rafs::test {

namespace {

struct ArchiveWriteFree {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};

la_ssize_t append_cb(archive* /*a*/, void* client, const void* buf, size_t n) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(client);
  const auto* p = static_cast<const std::uint8_t*>(buf);
  out->insert(out->end(), p, p + n);
  return static_cast<la_ssize_t>(n);
}

[[noreturn]] void fail(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  throw std::runtime_error("tar_maker: " + what + ": " + (msg != nullptr ? msg : "libarchive error"));
}

TarEntry entry_of(std::string path, std::uint32_t type, std::uint32_t perm) {
  TarEntry e;
  e.path = std::move(path);
  e.type = type;
  e.perm = perm;
  return e;
}

} // namespace

TarEntry tar_file(std::string path, std::string data, std::uint32_t perm) {
  TarEntry e = entry_of(std::move(path), AE_IFREG, perm);
  e.data = std::move(data);
  return e;
}

TarEntry tar_dir(std::string path, std::uint32_t perm) {
  return entry_of(std::move(path), AE_IFDIR, perm);
}

TarEntry tar_symlink(std::string path, std::string target) {
  TarEntry e = entry_of(std::move(path), AE_IFLNK, 0777);
  e.symlink = std::move(target);
  return e;
}

TarEntry tar_hardlink(std::string path, std::string target) {
  TarEntry e = entry_of(std::move(path), AE_IFREG, 0644);
  e.hardlink = std::move(target);
  return e;
}

TarEntry tar_chardev(std::string path, std::uint32_t major, std::uint32_t minor) {
  TarEntry e = entry_of(std::move(path), AE_IFCHR, 0666);
  e.rdev_major = major;
  e.rdev_minor = minor;
  return e;
}

TarEntry tar_blockdev(std::string path, std::uint32_t major, std::uint32_t minor) {
  TarEntry e = entry_of(std::move(path), AE_IFBLK, 0660);
  e.rdev_major = major;
  e.rdev_minor = minor;
  return e;
}

TarEntry tar_fifo(std::string path) { return entry_of(std::move(path), AE_IFIFO, 0644); }

TarEntry tar_sparse(std::string path, std::uint64_t size,
                    const std::vector<std::pair<std::uint64_t, std::string>>& extents) {
  TarEntry e = entry_of(std::move(path), AE_IFREG, 0644);
  e.data.assign(static_cast<std::size_t>(size), '\0');
  for (const auto& [offset, bytes] : extents) {
    e.data.replace(static_cast<std::size_t>(offset), bytes.size(), bytes);
    e.sparse.emplace_back(offset, bytes.size());
  }
  if (e.sparse.empty() || e.sparse.back().first + e.sparse.back().second < size) {
    e.sparse.emplace_back(size, 0); // GNU's marker for a trailing hole
  }
  return e;
}

std::vector<std::uint8_t> make_tar(const std::vector<TarEntry>& entries, const TarOptions& options) {
  std::vector<std::uint8_t> out; // outlives the archive, whose free() may still write
  std::unique_ptr<archive, ArchiveWriteFree> owner(archive_write_new());
  archive* a = owner.get();
  int r = ARCHIVE_OK;
  switch (options.format) {
  case TarFormat::pax: r = archive_write_set_format_pax(a); break;
  case TarFormat::pax_restricted: r = archive_write_set_format_pax_restricted(a); break;
  case TarFormat::gnutar: r = archive_write_set_format_gnutar(a); break;
  case TarFormat::ustar: r = archive_write_set_format_ustar(a); break;
  }
  if (r != ARCHIVE_OK) {
    fail(a, "format");
  }
  switch (options.filter) {
  case TarFilter::none: break;
  case TarFilter::gzip: r = archive_write_add_filter_gzip(a); break;
  case TarFilter::zstd: r = archive_write_add_filter_zstd(a); break;
  }
  if (r != ARCHIVE_OK) {
    fail(a, "filter");
  }
  // A compressed stream must end with the compressor's own trailer: padding
  // after it (libarchive's default) is not a valid zstd stream.
  if (!options.pad_last_block || options.filter != TarFilter::none) {
    archive_write_set_bytes_in_last_block(a, 1);
  }
  if (archive_write_open(a, &out, nullptr, append_cb, nullptr) != ARCHIVE_OK) {
    fail(a, "open");
  }
  for (const TarEntry& t : entries) {
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry* ae = e.get();
    archive_entry_copy_pathname(ae, t.path.c_str());
    archive_entry_set_filetype(ae, t.type);
    archive_entry_set_perm(ae, static_cast<mode_t>(t.perm));
    archive_entry_set_uid(ae, t.uid);
    archive_entry_set_gid(ae, t.gid);
    archive_entry_set_mtime(ae, static_cast<time_t>(t.mtime), t.mtime_nsec);
    if (!t.hardlink.empty()) {
      archive_entry_copy_hardlink(ae, t.hardlink.c_str());
      archive_entry_set_size(ae, 0);
    } else if (t.type == AE_IFREG) {
      archive_entry_set_size(ae, static_cast<la_int64_t>(t.data.size()));
    }
    if (t.type == AE_IFLNK) {
      archive_entry_copy_symlink(ae, t.symlink.c_str());
    }
    if (t.type == AE_IFCHR || t.type == AE_IFBLK) {
      archive_entry_set_rdevmajor(ae, t.rdev_major);
      archive_entry_set_rdevminor(ae, t.rdev_minor);
    }
    for (const auto& [name, value] : t.xattrs) {
      archive_entry_xattr_add_entry(ae, name.c_str(), value.data(), value.size());
    }
    for (const auto& [offset, length] : t.sparse) {
      archive_entry_sparse_add_entry(ae, static_cast<la_int64_t>(offset), static_cast<la_int64_t>(length));
    }
    // ARCHIVE_WARN: a name that is not UTF-8 goes out raw (hdrcharset=BINARY).
    if (archive_write_header(a, ae) < ARCHIVE_WARN) {
      fail(a, "header of " + t.path);
    }
    if (t.type == AE_IFREG && t.hardlink.empty()) {
      constexpr std::size_t k_piece = 1 << 20;
      for (std::size_t off = 0; off < t.data.size(); off += k_piece) {
        const std::size_t n = std::min(k_piece, t.data.size() - off);
        if (archive_write_data(a, t.data.data() + off, n) != static_cast<la_ssize_t>(n)) {
          fail(a, "data of " + t.path);
        }
      }
    }
  }
  if (archive_write_close(a) != ARCHIVE_OK) {
    fail(a, "close");
  }
  return out;
}

void write_tar(const std::filesystem::path& path, const std::vector<TarEntry>& entries,
               const TarOptions& options) {
  write_file(path, make_tar(entries, options));
}

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  std::uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x & 0xFF);
  }
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

} // namespace rafs::test
