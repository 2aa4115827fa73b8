#include "builder/oci_output_fs.hpp"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

#include "format/file.hpp"

namespace fs = std::filesystem;

namespace rafs::builder {

namespace {

// One syscall moves at most this much, so sizes fit size_t and ssize_t.
constexpr std::uint64_t k_copy_step = std::uint64_t{1} << 30;

fs::path parent_of(const fs::path& p) {
  fs::path parent = p.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// copy_file_range(2) refuses these pairs of files (older kernels: any two
// filesystems); sendfile(2) copies them.
bool copy_refused(int err) {
  return err == EXDEV || err == EINVAL || err == ENOSYS || err == EOPNOTSUPP;
}

// renameat2(2) flags a filesystem (or kernel) does not implement.
bool flag_unsupported(int err) { return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP; }

Result<void> copy_contents(int in, int out, std::uint64_t size, const fs::path& src,
                           const fs::path& dest) {
  std::uint64_t done = 0;
  bool use_copy_file_range = true;
  while (done < size) {
    auto want = static_cast<std::size_t>(std::min(size - done, k_copy_step));
    ssize_t n = 0;
    if (use_copy_file_range) {
      n = ::copy_file_range(in, nullptr, out, nullptr, want, 0);
      if (n < 0 && copy_refused(errno)) {
        use_copy_file_range = false; // both offsets are where the last call left them
        continue;
      }
    } else {
      n = ::sendfile(out, in, nullptr, want);
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_error("copy " + src.string() + " to " + dest.string());
    }
    if (n == 0) {
      return make_error(Errc::io, src.string() + ": ended at byte " + std::to_string(done) +
                                      " while being copied (" + std::to_string(size) +
                                      " expected)");
    }
    done += static_cast<std::uint64_t>(n);
  }
  return {};
}

Result<void> copy_to_new_file(const fs::path& src, const fs::path& dest) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) {
    return sys_error(src.string());
  }
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) {
    return sys_error(src.string());
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(Errc::invalid_argument, src.string() + ": not a regular file");
  }
  RAFS_TRY_ASSIGN(AtomicFile out, AtomicFile::create(dest));
  RAFS_TRY(copy_contents(in.get(), out.fd(), static_cast<std::uint64_t>(st.st_size), src, dest));
  return out.commit();
}

// Renames `out` to a fresh name beside it, then `staging` to `out`; puts `out`
// back if the second rename fails. Returns where the old directory went.
Result<fs::path> rename_aside(const fs::path& staging, const fs::path& out) {
  std::string tmpl = (parent_of(out) / ("." + out.filename().string() + ".old-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return sys_error("cannot create a directory in " + parent_of(out).string());
  }
  fs::path aside = tmpl;
  // rename(2) replaces the empty placeholder directory.
  if (::rename(out.c_str(), aside.c_str()) != 0) {
    Error e = sys_error("rename " + out.string() + " to " + aside.string());
    ::rmdir(aside.c_str());
    return e;
  }
  if (::rename(staging.c_str(), out.c_str()) != 0) {
    Error e = sys_error("rename " + staging.string() + " to " + out.string());
    if (::rename(aside.c_str(), out.c_str()) != 0) {
      return e.with_context("the old " + out.string() + " is left at " + aside.string());
    }
    return e;
  }
  return aside;
}

} // namespace

Result<void> write_file_synced(const fs::path& path, Bytes data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) {
    return sys_error(path.string());
  }
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_error("write " + path.string());
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    return sys_error("fsync " + path.string());
  }
  if (::close(fd.release()) != 0) {
    return sys_error("close " + path.string());
  }
  return {};
}

Result<void> fsync_path(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return sys_error(path.string());
  }
  if (::fsync(fd.get()) != 0) {
    return sys_error("fsync " + path.string());
  }
  return {};
}

Result<void> add_file(const fs::path& src, const fs::path& dest, Transfer how) {
  if (how == Transfer::link_or_copy) {
    if (::linkat(AT_FDCWD, src.c_str(), AT_FDCWD, dest.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      return {};
    }
    if (errno == EEXIST) {
      return {};
    }
    // EXDEV, EPERM, EMLINK...: a copy may still work; a missing src fails there.
  }
  struct stat st {};
  if (::lstat(dest.c_str(), &st) == 0) {
    return {};
  }
  return copy_to_new_file(src, dest);
}

Result<void> install_dir(const fs::path& staging, const fs::path& out, Swap how) {
  struct stat st {};
  fs::path old;
  if (::lstat(out.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return sys_error(out.string());
    }
    int r = ::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, out.c_str(), RENAME_NOREPLACE);
    if (r != 0 && flag_unsupported(errno)) {
      r = ::rename(staging.c_str(), out.c_str());
    }
    if (r != 0) {
      return sys_error("rename " + staging.string() + " to " + out.string());
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return make_error(Errc::invalid_argument,
                      out.string() + ": exists and is not a directory; not replacing it");
  } else {
    bool swapped = false;
    if (how == Swap::exchange) {
      if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, out.c_str(), RENAME_EXCHANGE) == 0) {
        swapped = true;
        old = staging;
      } else if (!flag_unsupported(errno)) {
        return sys_error("exchange " + staging.string() + " and " + out.string());
      }
    }
    if (!swapped) {
      RAFS_TRY_ASSIGN(old, rename_aside(staging, out));
    }
  }
  // Best effort from here on: the new directory is in place, and reporting a
  // failure now would claim the old one had been kept.
  (void)fsync_path(parent_of(out));
  if (!old.empty()) {
    std::error_code ec;
    fs::remove_all(old, ec);
  }
  return {};
}

} // namespace rafs::builder
