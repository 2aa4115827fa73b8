#define FUSE_USE_VERSION 312

#include "runtime/fuse_fs.hpp"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "format/layout.hpp"

namespace rafs::runtime {

namespace {

// "Forever": the image never changes (nydusd uses 2^32 s).
constexpr double k_timeout = 1e9;
constexpr std::size_t k_max_read = 16 << 20; // never allocate more for one read

FuseFs& self(fuse_req_t req) { return *static_cast<FuseFs*>(fuse_req_userdata(req)); }

// Runs one callback body; anything it throws becomes EIO, so no exception
// crosses into libfuse. The body replies exactly once unless it throws
// before replying.
template <typename F> void guarded(fuse_req_t req, F&& body) noexcept {
  self(req).request_arrived();
  try {
    body();
  } catch (...) {
    fuse_reply_err(req, EIO);
  }
}

// The one place an Error becomes an errno: data errors (bad chunk, backend
// failure, decompression) are EIO whatever their code, so a missing blob
// never looks like a missing file.
int errno_of(const Error& /*error*/) noexcept { return EIO; }

fuse_entry_param entry_of(const FuseFs& fs, std::uint32_t index) {
  fuse_entry_param e{};
  e.attr = fs.attributes(fs.bootstrap().ino_index(index));
  e.ino = static_cast<fuse_ino_t>(e.attr.st_ino);
  e.generation = 1;
  e.attr_timeout = k_timeout;
  e.entry_timeout = k_timeout;
  return e;
}

void op_init(void* userdata, fuse_conn_info* conn) {
  // Cached symlink targets and cached ACLs are always right here; the
  // attributes never change, so the kernel need not compare them to
  // invalidate data.
  if ((conn->capable & FUSE_CAP_CACHE_SYMLINKS) != 0) {
    conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  }
  // POSIX ACL xattrs take effect (the kernel asks for them and enforces
  // them) only with this capability, which needs default_permissions.
  if (static_cast<FuseFs*>(userdata)->serve_xattrs() && (conn->capable & FUSE_CAP_POSIX_ACL) != 0) {
    conn->want |= FUSE_CAP_POSIX_ACL;
  }
  conn->want &= ~static_cast<unsigned>(FUSE_CAP_AUTO_INVAL_DATA);
  // Zero-message opens: once open (opendir) answers ENOSYS, the kernel
  // opens files (directories) by itself, with keep_cache (and cache_dir),
  // saving a round trip per open. The mount is read-only, so the kernel
  // refuses opens for writing itself. Not while recording accesses, which
  // needs to see every first open.
  auto& fs = *static_cast<FuseFs*>(userdata);
  fs.set_zero_message_open((conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0 && !fs.records_access(),
                           (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    FuseFs& fs = self(req);
    auto dir = fs.index_of(parent);
    if (!dir || !fs.bootstrap().inode(*dir).is_dir()) {
      fuse_reply_err(req, dir ? ENOTDIR : ESTALE);
      return;
    }
    auto child = fs.bootstrap().lookup_child(*dir, name);
    if (!child) {
      fuse_entry_param negative{}; // ino 0: the kernel caches the absence
      negative.entry_timeout = k_timeout;
      fuse_reply_entry(req, &negative);
      return;
    }
    const fuse_entry_param e = entry_of(fs, *child);
    fuse_reply_entry(req, &e);
  });
}

void op_forget(fuse_req_t req, fuse_ino_t /*ino*/, std::uint64_t /*nlookup*/) { fuse_reply_none(req); }

void op_forget_multi(fuse_req_t req, std::size_t /*count*/, fuse_forget_data* /*forgets*/) {
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  guarded(req, [&] {
    FuseFs& fs = self(req);
    auto index = fs.index_of(ino);
    if (!index) {
      fuse_reply_err(req, ESTALE);
      return;
    }
    const struct stat st = fs.attributes(*index);
    fuse_reply_attr(req, &st, k_timeout);
  });
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, [&] {
    FuseFs& fs = self(req);
    auto index = fs.index_of(ino);
    if (!index || !fs.bootstrap().inode(*index).is_symlink()) {
      fuse_reply_err(req, index ? EINVAL : ESTALE);
      return;
    }
    const std::string target(fs.bootstrap().symlink_target(*index));
    fuse_reply_readlink(req, target.c_str());
  });
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    FuseFs& fs = self(req);
    auto index = fs.index_of(ino);
    if (!index) {
      fuse_reply_err(req, ESTALE);
      return;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC) != 0) {
      fuse_reply_err(req, EROFS);
      return;
    }
    if (!fs.bootstrap().inode(*index).is_reg()) {
      fuse_reply_err(req, fs.bootstrap().inode(*index).is_dir() ? EISDIR : EINVAL);
      return;
    }
    fs.opened(*index);
    if (fs.zero_message_open()) {
      fuse_reply_err(req, ENOSYS); // this open succeeds; no later one is sent
      return;
    }
    fi->keep_cache = 1;
    fi->noflush = 1;
    fuse_reply_open(req, fi);
  });
}

void op_read(fuse_req_t req, fuse_ino_t ino, std::size_t size, off_t off, fuse_file_info* /*fi*/) {
  guarded(req, [&] {
    FuseFs& fs = self(req);
    auto index = fs.index_of(ino);
    if (!index || off < 0) {
      fuse_reply_err(req, index ? EINVAL : ESTALE);
      return;
    }
    const std::uint64_t file_size = fs.bootstrap().inode(*index).size;
    const auto offset = static_cast<std::uint64_t>(off);
    if (offset >= file_size || size == 0) {
      fuse_reply_buf(req, nullptr, 0);
      return;
    }
    const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(
        {static_cast<std::uint64_t>(size), file_size - offset, std::uint64_t{k_max_read}}));
    thread_local std::vector<std::uint8_t> buffer;
    if (buffer.size() < len) {
      buffer.resize(len);
    }
    auto n = fs.store().read_file(*index, offset, MutableBytes(buffer.data(), len));
    if (!n) {
      fuse_reply_err(req, errno_of(n.error()));
      return;
    }
    fuse_reply_buf(req, reinterpret_cast<const char*>(buffer.data()), *n);
  });
}

// Python's isatty() on every file it opens comes here as TCGETS: a regular
// file answers ENOTTY, as the kernel's own filesystems do. (Without this
// callback libfuse answers ENOSYS, which the kernel turns into ENOTTY too.)
void op_ioctl(fuse_req_t req, fuse_ino_t /*ino*/, unsigned int /*cmd*/, void* /*arg*/,
              fuse_file_info* /*fi*/, unsigned /*flags*/, const void* /*in_buf*/,
              std::size_t /*in_bufsz*/, std::size_t /*out_bufsz*/) {
  guarded(req, [&] { fuse_reply_err(req, ENOTTY); });
}

void op_release(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) { fuse_reply_err(req, 0); }

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    FuseFs& fs = self(req);
    auto index = fs.index_of(ino);
    if (!index || !fs.bootstrap().inode(*index).is_dir()) {
      fuse_reply_err(req, index ? ENOTDIR : ESTALE);
      return;
    }
    if (fs.zero_message_opendir()) {
      fuse_reply_err(req, ENOSYS);
      return;
    }
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
  });
}

// Directory offsets are positions: 0 ".", 1 "..", 2 + k the k-th child;
// each entry carries the offset of the next one.
void readdir_common(fuse_req_t req, fuse_ino_t ino, std::size_t size, off_t off, bool plus) {
  FuseFs& fs = self(req);
  const v5::Bootstrap& b = fs.bootstrap();
  auto dir = fs.index_of(ino);
  if (!dir || !b.inode(*dir).is_dir()) {
    fuse_reply_err(req, dir ? ENOTDIR : ESTALE);
    return;
  }
  const std::uint32_t first = b.child_begin(*dir);
  const std::uint64_t total = 2 + std::uint64_t{b.child_end(*dir) - first};
  const std::uint32_t parent = b.parent_index(*dir) == 0 ? *dir : b.parent_index(*dir);
  std::vector<char> buf(size);
  std::size_t used = 0;
  std::string name;
  for (auto pos = static_cast<std::uint64_t>(std::max<off_t>(off, 0)); pos < total; ++pos) {
    std::uint32_t index = 0;
    if (pos < 2) {
      name = pos == 0 ? "." : "..";
      index = pos == 0 ? *dir : parent;
    } else {
      index = first + static_cast<std::uint32_t>(pos - 2);
      name.assign(b.name(index));
    }
    const auto next = static_cast<off_t>(pos + 1);
    std::size_t need = 0;
    if (plus) {
      const fuse_entry_param e = entry_of(fs, index);
      need = fuse_add_direntry_plus(req, buf.data() + used, size - used, name.c_str(), &e, next);
    } else {
      const struct stat st = fs.attributes(b.ino_index(index));
      need = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st, next);
    }
    if (need > size - used) {
      break;
    }
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, std::size_t size, off_t off, fuse_file_info* /*fi*/) {
  guarded(req, [&] { readdir_common(req, ino, size, off, false); });
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, std::size_t size, off_t off,
                    fuse_file_info* /*fi*/) {
  guarded(req, [&] { readdir_common(req, ino, size, off, true); });
}

void op_releasedir(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) {
  fuse_reply_err(req, 0);
}

void op_statfs(fuse_req_t req, fuse_ino_t /*ino*/) {
  guarded(req, [&] {
    const struct statvfs st = self(req).filesystem_stats();
    fuse_reply_statfs(req, &st);
  });
}

// The inode whose xattrs a request asks for; nullopt once an error has
// been replied (ENOSYS when xattrs are not served, so the kernel stops asking).
std::optional<std::uint32_t> xattr_target(fuse_req_t req, FuseFs& fs, fuse_ino_t ino) {
  if (!fs.serve_xattrs()) {
    fuse_reply_err(req, ENOSYS);
    return std::nullopt;
  }
  auto index = fs.index_of(ino);
  if (!index) {
    fuse_reply_err(req, ESTALE);
  }
  return index;
}

// Size probe (size 0) answers the value's length; a short buffer ERANGE.
void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, std::size_t size) {
  guarded(req, [&] {
    FuseFs& fs = self(req);
    auto index = xattr_target(req, fs, ino);
    if (!index) {
      return;
    }
    for (const v5::Xattr& x : fs.bootstrap().xattrs(*index)) {
      if (x.name == name) {
        if (size == 0) {
          fuse_reply_xattr(req, x.value.size());
        } else if (size < x.value.size()) {
          fuse_reply_err(req, ERANGE);
        } else {
          fuse_reply_buf(req, x.value.data(), x.value.size());
        }
        return;
      }
    }
    fuse_reply_err(req, ENODATA);
  });
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, std::size_t size) {
  guarded(req, [&] {
    FuseFs& fs = self(req);
    auto index = xattr_target(req, fs, ino);
    if (!index) {
      return;
    }
    std::string names;
    for (const v5::Xattr& x : fs.bootstrap().xattrs(*index)) {
      names += x.name;
      names += '\0';
    }
    if (size == 0) {
      fuse_reply_xattr(req, names.size());
    } else if (size < names.size()) {
      fuse_reply_err(req, ERANGE);
    } else {
      fuse_reply_buf(req, names.data(), names.size());
    }
  });
}

// With default_permissions the kernel checks modes itself; this is only
// asked for access(2) without it.
void op_access(fuse_req_t req, fuse_ino_t /*ino*/, int mask) {
  fuse_reply_err(req, (mask & W_OK) != 0 ? EROFS : 0);
}

// Every operation that would change the image.
void op_setattr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void op_mknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { fuse_reply_err(req, EROFS); }
void op_mkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EROFS); }
void op_unlink(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void op_rmdir(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void op_symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void op_rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
  fuse_reply_err(req, EROFS);
}
void op_link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void op_write(fuse_req_t req, fuse_ino_t, const char*, std::size_t, off_t, fuse_file_info*) {
  fuse_reply_err(req, EROFS);
}
void op_setxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, std::size_t, int) {
  fuse_reply_err(req, EROFS);
}
void op_removexattr(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void op_create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) {
  fuse_reply_err(req, EROFS);
}
void op_fallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) {
  fuse_reply_err(req, EROFS);
}

fuse_lowlevel_ops make_operations() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.readlink = op_readlink;
  ops.open = op_open;
  ops.read = op_read;
  ops.release = op_release;
  ops.ioctl = op_ioctl;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.statfs = op_statfs;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.access = op_access;
  ops.setattr = op_setattr;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.symlink = op_symlink;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.write = op_write;
  ops.setxattr = op_setxattr;
  ops.removexattr = op_removexattr;
  ops.create = op_create;
  ops.fallocate = op_fallocate;
  return ops;
}

} // namespace

FuseFs::FuseFs(const v5::Bootstrap& boot, ChunkStore& store, FsOptions options)
    : m_boot(boot), m_store(store), m_options(std::move(options)) {
  if ((boot.super_block().flags & v5::k_sb_explicit_uid_gid) == 0) {
    m_uid = static_cast<std::uint32_t>(::geteuid());
    m_gid = static_cast<std::uint32_t>(::getegid());
  }
  for (std::uint32_t i = 1; i <= boot.inode_count(); ++i) {
    if (boot.ino_index(i) == i) {
      m_total_blocks += boot.inode(i).blocks;
    }
  }
}

FuseFs::~FuseFs() = default;

Result<std::unique_ptr<FuseFs>> FuseFs::create(const v5::Bootstrap& boot, ChunkStore& store,
                                               FsOptions options) {
  std::unique_ptr<FuseFs> fs(new FuseFs(boot, store, std::move(options)));
  if (!fs->m_options.record_access.empty()) {
    const std::filesystem::path& p = fs->m_options.record_access;
    fs->m_record_fd.reset(::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fs->m_record_fd) {
      return sys_error(p.string() + ": cannot open the access record");
    }
    fs->m_seen = std::make_unique<std::atomic<bool>[]>(std::size_t{boot.inode_count()} + 1);
  }
  return fs;
}

const fuse_lowlevel_ops& FuseFs::operations() {
  static const fuse_lowlevel_ops ops = make_operations();
  return ops;
}

std::optional<std::uint32_t> FuseFs::index_of(std::uint64_t ino) const noexcept {
  if (ino == 0 || ino > m_boot.inode_count()) {
    return std::nullopt;
  }
  const auto index = static_cast<std::uint32_t>(ino);
  if (m_boot.ino_index(index) != index) {
    return std::nullopt; // a later link of a hard-link group: never handed out
  }
  return index;
}

struct stat FuseFs::attributes(std::uint32_t index) const noexcept {
  const v5::Inode& n = m_boot.inode(index);
  struct stat st {};
  st.st_ino = static_cast<ino_t>(n.ino);
  st.st_mode = static_cast<mode_t>(n.mode);
  st.st_nlink = static_cast<nlink_t>(n.nlink);
  st.st_uid = static_cast<uid_t>(m_uid ? *m_uid : n.uid);
  st.st_gid = static_cast<gid_t>(m_gid ? *m_gid : n.gid);
  if (S_ISCHR(n.mode) || S_ISBLK(n.mode)) {
    // v5 stores the glibc dev_t encoding, truncated to 32 bits.
    st.st_rdev = makedev(major(dev_t{n.rdev}), minor(dev_t{n.rdev}));
  }
  st.st_size = static_cast<off_t>(n.size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>(n.blocks);
  st.st_mtim.tv_sec = static_cast<time_t>(n.mtime);
  st.st_mtim.tv_nsec = static_cast<long>(n.mtime_nsec);
  st.st_atim = st.st_mtim;
  st.st_ctim = st.st_mtim;
  return st;
}

struct statvfs FuseFs::filesystem_stats() const noexcept {
  struct statvfs st {};
  st.f_bsize = 512;
  st.f_frsize = 512;
  st.f_blocks = static_cast<fsblkcnt_t>(m_total_blocks);
  st.f_files = static_cast<fsfilcnt_t>(m_boot.super_block().inodes_count);
  st.f_namemax = v5::k_max_name_size;
  st.f_flag = ST_RDONLY;
  return st;
}

void FuseFs::opened(std::uint32_t index) {
  if (!m_record_fd || m_seen[index].exchange(true)) {
    return;
  }
  std::string line = m_boot.path(index);
  if (line.find('\n') != std::string::npos) {
    return; // a prefetch list cannot hold this name
  }
  line += '\n';
  const std::lock_guard lock(m_record_mutex);
  // One write per line (O_APPEND): a reader never sees half a line. A
  // failing write loses the record, never the read.
  (void)!::write(m_record_fd.get(), line.data(), line.size());
}

} // namespace rafs::runtime
