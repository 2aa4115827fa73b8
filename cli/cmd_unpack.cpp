// `rafs unpack BOOTSTRAP -D BLOB_DIR -o OUT.tar`: the image's filesystem as a
// PAX tar with every attribute the bootstrap holds. Written to a temp file
// and renamed on success.
#include <CLI/CLI.hpp>
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <map>
#include <memory>

#include "builder/output_dirs.hpp"
#include "cli/commands.hpp"
#include "cli/image_json.hpp"
#include "format/bootstrap.hpp"
#include "format/chunk_reader.hpp"
#include "format/file.hpp"
#include "format/layout.hpp"

namespace rafs::cli {

namespace {

struct UnpackOptions {
  std::string bootstrap;
  std::string blob_dir;
  std::string output;
};

struct ArchiveWriteFree {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteFree>;
struct EntryFree {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};
using Entry = std::unique_ptr<archive_entry, EntryFree>;

constexpr std::size_t k_copy_size = 1 << 20;

// libarchive's message, and the OS reason when a write failed ("Write
// error" alone would not say the disk is full).
Error archive_error(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  std::string text = what + ": " + (msg != nullptr ? msg : "libarchive error");
  const int err = archive_errno(a);
  if (err > 0 && text.find(std::strerror(err)) == std::string::npos) {
    text += std::string(": ") + std::strerror(err);
  }
  return Error{Errc::io, text, err > 0 ? err : 0};
}

// Tar paths are relative: "a/b"; the root is "./".
std::string tar_path(const v5::Bootstrap& b, std::uint32_t i) {
  return i == v5::Bootstrap::k_root ? std::string("./") : b.path(i).substr(1);
}

Entry make_entry(const v5::Bootstrap& b, std::uint32_t i) {
  const v5::Inode& n = b.inode(i);
  Entry e(archive_entry_new());
  std::string path = tar_path(b, i);
  archive_entry_copy_pathname(e.get(), path.c_str());
  archive_entry_set_mode(e.get(), static_cast<mode_t>(n.mode));
  archive_entry_set_uid(e.get(), n.uid);
  archive_entry_set_gid(e.get(), n.gid);
  archive_entry_set_mtime(e.get(), static_cast<time_t>(n.mtime), static_cast<long>(n.mtime_nsec));
  if (S_ISCHR(n.mode) || S_ISBLK(n.mode)) {
    archive_entry_set_rdevmajor(e.get(), major(n.rdev));
    archive_entry_set_rdevminor(e.get(), minor(n.rdev));
  }
  if (n.is_symlink()) {
    std::string target(b.symlink_target(i));
    archive_entry_copy_symlink(e.get(), target.c_str());
  }
  if (n.is_reg()) {
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(n.size));
  }
  for (const auto& x : b.xattrs(i)) {
    archive_entry_xattr_add_entry(e.get(), x.name.c_str(), x.value.data(), x.value.size());
  }
  return e;
}

// Where a regular file's bytes are: data windows (one per chunk) and holes,
// i.e. windows no chunk covers or whose chunk is all zeros (the builder
// stores holes as deduplicated zero chunks).
class ZeroChunks {
public:
  explicit ZeroChunks(DigestAlgo algo) : m_algo(algo) {}
  bool is_zero(const v5::ChunkInfo& c) {
    auto it = m_digests.find(c.uncompressed_size);
    if (it == m_digests.end()) {
      std::vector<std::uint8_t> zeros(c.uncompressed_size, 0);
      it = m_digests.emplace(c.uncompressed_size, digest_of(m_algo, zeros)).first;
    }
    return it->second == c.block_id;
  }

private:
  DigestAlgo m_algo;
  std::map<std::uint32_t, Digest> m_digests;
};

bool window_is_hole(const v5::Bootstrap& b, std::uint32_t i, std::uint64_t off, std::uint64_t len,
                    ZeroChunks& zeros) {
  auto [first, last] = b.chunks_covering(i, off, len);
  for (std::uint32_t k = first; k < last; ++k) {
    if (!zeros.is_zero(b.chunk(i, k))) {
      return false;
    }
  }
  return true;
}

// Declares the data regions of a file with holes, so the tar stays sparse.
void add_sparse_map(archive_entry* e, const v5::Bootstrap& b, std::uint32_t i, ZeroChunks& zeros) {
  const std::uint64_t size = b.inode(i).size;
  const std::uint64_t step = b.chunk_size();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> data; // offset, length
  bool any_hole = false;
  for (std::uint64_t off = 0; off < size; off += step) {
    std::uint64_t len = std::min(step, size - off);
    if (window_is_hole(b, i, off, len, zeros)) {
      any_hole = true;
    } else if (!data.empty() && data.back().first + data.back().second == off) {
      data.back().second += len;
    } else {
      data.emplace_back(off, len);
    }
  }
  if (!any_hole) {
    return;
  }
  if (data.empty()) {
    data.emplace_back(size, 0); // all hole: one empty region at the end
  }
  for (auto [off, len] : data) {
    archive_entry_sparse_add_entry(e, static_cast<la_int64_t>(off), static_cast<la_int64_t>(len));
  }
}

Result<void> write_data(archive* a, v5::ChunkReader& reader, const v5::Bootstrap& b,
                        std::uint32_t i, std::vector<std::uint8_t>& buf, ZeroChunks& zeros) {
  const std::uint64_t size = b.inode(i).size;
  const std::uint64_t step = std::min<std::uint64_t>(b.chunk_size(), buf.size());
  for (std::uint64_t off = 0; off < size; off += step) {
    auto n = static_cast<std::size_t>(std::min(step, size - off));
    MutableBytes part(buf.data(), n);
    if (window_is_hole(b, i, off, n, zeros)) {
      std::fill(part.begin(), part.end(), 0); // the writer skips it in a sparse entry
    } else if (auto r = reader.read_file(i, off, part, false); !r) {
      return r.error().with_context(b.path(i));
    }
    if (archive_write_data(a, part.data(), part.size()) != static_cast<la_ssize_t>(n)) {
      return archive_error(a, b.path(i));
    }
  }
  return {};
}

Result<void> write_tar(const v5::Bootstrap& b, v5::ChunkReader& reader, int fd) {
  ArchiveWriter a(archive_write_new());
  // Full pax keeps sub-second mtimes on every entry; xattrs as SCHILY
  // records only, the form GNU tar reads.
  if (archive_write_set_format_pax(a.get()) != ARCHIVE_OK ||
      archive_write_set_format_option(a.get(), "pax", "xattrheader", "SCHILY") < ARCHIVE_WARN ||
      archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) {
    return archive_error(a.get(), "tar writer");
  }
  std::map<std::uint64_t, std::string> first_link; // ino -> tar path written
  std::vector<std::uint8_t> buf(k_copy_size);
  ZeroChunks zeros(b.digester());
  Result<void> status;
  for_each_in_tree(b, [&](std::uint32_t i) {
    if (!status) {
      return;
    }
    const v5::Inode& n = b.inode(i);
    Entry e = make_entry(b, i);
    bool hardlink = false;
    if (n.is_hardlink()) {
      auto [it, fresh] = first_link.emplace(n.ino, tar_path(b, i));
      if (!fresh) {
        archive_entry_copy_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        hardlink = true;
      }
    }
    if (n.is_reg() && !hardlink) {
      add_sparse_map(e.get(), b, i, zeros);
    }
    if (archive_write_header(a.get(), e.get()) < ARCHIVE_WARN) {
      status = archive_error(a.get(), b.path(i));
      return;
    }
    if (n.is_reg() && !hardlink) {
      status = write_data(a.get(), reader, b, i, buf, zeros);
    }
  });
  RAFS_TRY(status);
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return archive_error(a.get(), "tar writer");
  }
  return {};
}

int run_unpack(const UnpackOptions& opt) {
  builder::OutputDirs dirs; // held until exit
  dirs.add_file(opt.output);
  dirs.claim();
  auto b = v5::Bootstrap::open(opt.bootstrap);
  if (!b) {
    return report(b.error());
  }
  auto out = AtomicFile::create(opt.output);
  if (!out) {
    return report(out.error());
  }
  v5::ChunkReader reader(*b, opt.blob_dir);
  if (auto r = write_tar(*b, reader, out->fd()); !r) {
    return report(r.error().with_context(opt.output));
  }
  if (auto r = out->commit(); !r) {
    return report(r.error());
  }
  return k_exit_ok;
}

} // namespace

Action setup_unpack(CLI::App& app) {
  auto opt = std::make_shared<UnpackOptions>();
  app.add_option("BOOTSTRAP", opt->bootstrap, "Bootstrap file")->required();
  app.add_option("-D,--blob-dir", opt->blob_dir, "Directory of blob files named by id")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("-o,--output", opt->output, "Tar file to write")->required();
  return [opt] { return run_unpack(*opt); };
}

} // namespace rafs::cli
