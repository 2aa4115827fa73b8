// The directory walk behind `rafs create -t dir`.
//
// Iterative depth-first walk: a stack of frames, one per directory being
// listed, each holding its children's names (read once, sorted by raw bytes)
// and the index of the next one. No recursion, so a tree of any depth costs
// heap, not C++ stack.
//
// File descriptors: every lookup is relative to the current directory's fd
// (fstatat/openat/readlinkat with AT_SYMLINK_NOFOLLOW, O_NOFOLLOW), so no
// symlink inside the tree is ever followed and no path ever grows past
// PATH_MAX. The frames of the first k_fd_levels levels keep their fd while
// their subtree is walked; deeper frames close theirs when they descend and
// reopen it through ".." of the child on the way back up, checking that it
// is still the same directory (device and inode). At most k_fd_levels + 3
// descriptors are open at any time.
//
// Xattrs are read through the entry's own fd for regular files and
// directories (both are opened anyway), and for the other types through
// "/proc/self/fd/<dir fd>/<name>" with the l* calls, which do not follow the
// last component (falling back to the full path when /proc is missing).
//
// The root itself is resolved like any command-line path (a symlink to a
// directory is accepted, as `tar -C` does); its attributes are those of the
// directory it names.
#include "builder/dir_source.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "format/file.hpp"
#include "format/layout.hpp"

namespace rafs::builder {

namespace {

constexpr std::size_t k_read_block = 1 << 20;
constexpr std::size_t k_fd_levels = 16;

Error os_error(int err, const std::string& what) {
  return Error{Errc::io, what + ": " + std::strerror(err), err};
}

struct DirCloser {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using DirHandle = std::unique_ptr<DIR, DirCloser>;

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Reads the names in directory `fd` (not "." and ".."), sorted by bytes.
Result<std::vector<std::string>> list_dir(int fd, const std::string& display) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    return os_error(errno, display);
  }
  DirHandle dir(::fdopendir(copy));
  if (!dir) {
    int err = errno;
    ::close(copy);
    return os_error(err, display);
  }
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* d = ::readdir(dir.get());
    if (d == nullptr) {
      if (errno != 0) {
        return os_error(errno, display);
      }
      break;
    }
    std::string_view name(d->d_name);
    if (name == "." || name == "..") {
      continue;
    }
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Where to read an entry's xattrs from: an open fd, or a path not followed.
struct XattrSource {
  int fd = -1;
  std::string path;

  ssize_t list(char* buf, std::size_t size) const {
    return fd >= 0 ? ::flistxattr(fd, buf, size) : ::llistxattr(path.c_str(), buf, size);
  }
  ssize_t get(const char* name, void* buf, std::size_t size) const {
    return fd >= 0 ? ::fgetxattr(fd, name, buf, size) : ::lgetxattr(path.c_str(), name, buf, size);
  }
};

bool no_xattr_support(int err) { return err == ENOTSUP || err == EOPNOTSUPP; }

class DirDataReader final : public DataReader {
public:
  // Takes the open file and its size at lstat; resets the state.
  void start(UniqueFd fd, std::uint64_t size, std::string display) {
    m_fd = std::move(fd);
    m_size = size;
    m_display = std::move(display);
    m_pos = 0;
    m_data_end = 0;
    m_use_seek = true;
    m_done = false;
  }
  void clear() {
    m_fd.reset();
    m_done = true;
  }
  std::uint64_t bytes_read() const noexcept { return m_bytes_read; }

  Result<bool> next_block(const std::uint8_t*& data, std::size_t& len,
                          std::uint64_t& offset) override {
    if (m_done || !m_fd) {
      return false;
    }
    for (;;) {
      if (m_pos >= m_size) {
        RAFS_TRY(check_size());
        m_done = true;
        m_fd.reset();
        return false;
      }
      if (m_use_seek && m_pos >= m_data_end) {
        RAFS_TRY(find_data());
        continue;
      }
      const std::uint64_t end = m_use_seek ? m_data_end : m_size;
      if (m_buf.empty()) {
        m_buf.resize(k_read_block);
      }
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(m_buf.size(), end - m_pos));
      std::size_t got = 0;
      while (got < want) {
        ssize_t n = ::pread(m_fd.get(), m_buf.data() + got, want - got,
                            static_cast<off_t>(m_pos + got));
        if (n < 0) {
          if (errno == EINTR) {
            continue;
          }
          return os_error(errno, m_display + ": read at offset " + std::to_string(m_pos + got));
        }
        if (n == 0) {
          return make_error(Errc::io, m_display + ": file shrank while being read (" +
                                          std::to_string(m_size) + " bytes at lstat, end of file at " +
                                          std::to_string(m_pos + got) + ")");
        }
        got += static_cast<std::size_t>(n);
      }
      data = m_buf.data();
      len = got;
      offset = m_pos;
      m_pos += got;
      m_bytes_read += got;
      return true;
    }
  }

private:
  // Moves m_pos to the next data region and sets m_data_end to its end, or
  // m_pos to m_size when only a hole is left. Falls back to sequential
  // reads when the filesystem does not support SEEK_DATA.
  Result<void> find_data() {
    off_t data = ::lseek(m_fd.get(), static_cast<off_t>(m_pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) { // a hole up to the end of the file
        m_pos = m_size;
        return {};
      }
      if (errno == EINVAL || errno == EOPNOTSUPP) {
        m_use_seek = false;
        return {};
      }
      return os_error(errno, m_display + ": seek to data at offset " + std::to_string(m_pos));
    }
    const auto data_at = static_cast<std::uint64_t>(data);
    if (data_at >= m_size) {
      m_pos = m_size;
      return {};
    }
    off_t hole = ::lseek(m_fd.get(), data, SEEK_HOLE);
    if (hole < 0) {
      if (errno == EINVAL || errno == EOPNOTSUPP || errno == ENXIO) {
        m_use_seek = false;
        m_pos = data_at;
        return {};
      }
      return os_error(errno, m_display + ": seek to hole at offset " + std::to_string(data_at));
    }
    m_pos = data_at;
    m_data_end = std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), m_size);
    if (m_data_end <= m_pos) { // should not happen; read the rest plainly
      m_use_seek = false;
    }
    return {};
  }

  // The file must end exactly where lstat said.
  Result<void> check_size() {
    struct stat st {};
    if (::fstat(m_fd.get(), &st) != 0) {
      return os_error(errno, m_display);
    }
    if (static_cast<std::uint64_t>(st.st_size) != m_size) {
      return make_error(Errc::io, m_display + ": file changed size while being read (" +
                                      std::to_string(m_size) + " bytes at lstat, now " +
                                      std::to_string(st.st_size) + ")");
    }
    std::uint8_t probe = 0;
    ssize_t n = ::pread(m_fd.get(), &probe, 1, static_cast<off_t>(m_size));
    if (n > 0) {
      return make_error(Errc::io, m_display + ": file grew while being read (" +
                                      std::to_string(m_size) + " bytes at lstat)");
    }
    return {};
  }

  UniqueFd m_fd;
  std::uint64_t m_size = 0;
  std::string m_display;
  std::uint64_t m_pos = 0;
  std::uint64_t m_data_end = 0;
  bool m_use_seek = true;
  bool m_done = true;
  std::vector<std::uint8_t> m_buf;
  std::uint64_t m_bytes_read = 0;
};

class DirSource final : public Source {
public:
  explicit DirSource(std::string root) : m_root(std::move(root)) {
    while (m_root.size() > 1 && m_root.back() == '/') {
      m_root.pop_back();
    }
  }

  Result<void> open() {
    struct stat st {};
    if (::stat(m_root.c_str(), &st) != 0) {
      int err = errno;
      if (err == ENOENT) {
        return make_error(Errc::not_found, m_root + ": no such directory");
      }
      if (err == ENOTDIR) {
        return make_error(Errc::invalid_argument, m_root + ": not a directory");
      }
      return os_error(err, m_root);
    }
    if (!S_ISDIR(st.st_mode)) {
      return make_error(Errc::invalid_argument, m_root + ": not a directory");
    }
    UniqueFd fd(::open(m_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      return os_error(errno, m_root);
    }
    if (::fstat(fd.get(), &m_root_stat) != 0) {
      return os_error(errno, m_root);
    }
    if (!S_ISDIR(m_root_stat.st_mode) || !same_file(st, m_root_stat)) {
      return make_error(Errc::io, m_root + ": changed while being opened");
    }
    m_root_fd = std::move(fd);
    struct stat proc {};
    m_use_proc = ::stat(proc_path(m_root_fd.get(), {}).c_str(), &proc) == 0 &&
                 same_file(proc, m_root_stat);
    return {};
  }

  Result<bool> next(SourceEntry& e) override {
    m_data.clear();
    if (!m_started) {
      m_started = true;
      return emit_root(e);
    }
    while (!m_stack.empty()) {
      Frame& top = m_stack.back();
      if (top.next < top.names.size()) {
        std::string name = std::move(top.names[top.next]);
        ++top.next;
        return emit_child(e, std::move(name));
      }
      RAFS_TRY(pop());
    }
    return false;
  }

  DataReader& data() override { return m_data; }
  std::string name() const override { return m_root; }
  std::vector<std::string> take_warnings() override { return std::exchange(m_warnings, {}); }
  std::uint64_t bytes_read() const override { return m_data.bytes_read(); }

private:
  struct Frame {
    UniqueFd fd; // may be closed while a deeper frame is current (deep levels)
    dev_t dev = 0;
    ino_t ino = 0;
    std::vector<std::string> names;
    std::size_t next = 0;
    std::size_t path_len = 0; // length of m_path while this frame is current
  };

  static std::string proc_path(int fd, std::string_view name) {
    std::string p = "/proc/self/fd/" + std::to_string(fd);
    if (!name.empty()) {
      p += '/';
      p += name;
    }
    return p;
  }

  // The path shown in messages: ROOT/rel.
  std::string display(std::string_view rel) const {
    if (rel.empty()) {
      return m_root;
    }
    std::string d = m_root;
    if (d.back() != '/') {
      d += '/';
    }
    d += rel;
    return d;
  }

  static void fill_stat(SourceEntry& e, const struct stat& st) {
    e.mode = st.st_mode;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime = st.st_mtim.tv_sec < 0 ? 0 : static_cast<std::uint64_t>(st.st_mtim.tv_sec);
    e.mtime_nsec = st.st_mtim.tv_sec < 0 || st.st_mtim.tv_nsec < 0 || st.st_mtim.tv_nsec > 999999999
                       ? 0
                       : static_cast<std::uint32_t>(st.st_mtim.tv_nsec);
    e.size = 0;
    e.rdev_major = e.rdev_minor = 0;
    e.link_target.clear();
    e.xattrs.clear();
  }

  Result<bool> emit_root(SourceEntry& e) {
    e.path.clear();
    e.kind = EntryKind::directory;
    fill_stat(e, m_root_stat);
    RAFS_TRY(read_xattrs(e, XattrSource{m_root_fd.get(), {}}, ""));
    RAFS_TRY_ASSIGN(auto names, list_dir(m_root_fd.get(), m_root));
    Frame f;
    f.dev = m_root_stat.st_dev;
    f.ino = m_root_stat.st_ino;
    f.names = std::move(names);
    m_stack.push_back(std::move(f));
    return true;
  }

  // The fd of the current directory (the top frame's, or the root's).
  int dir_fd() const {
    return m_stack.size() == 1 ? m_root_fd.get() : m_stack.back().fd.get();
  }

  Result<bool> emit_child(SourceEntry& e, std::string name) {
    const int dfd = dir_fd();
    e.path.assign(m_path);
    if (!e.path.empty()) {
      e.path += '/';
    }
    e.path += name;
    const std::string shown = display(e.path);

    struct stat st {};
    if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return os_error(errno, shown);
    }
    fill_stat(e, st);
    switch (st.st_mode & S_IFMT) {
    case S_IFREG: return emit_regular(e, dfd, name, st, shown);
    case S_IFDIR: return emit_dir(e, dfd, name, st, shown);
    case S_IFLNK: {
      e.kind = EntryKind::symlink;
      char buf[v5::k_max_symlink_size + 1];
      ssize_t n = ::readlinkat(dfd, name.c_str(), buf, sizeof(buf));
      if (n < 0) {
        return os_error(errno, shown);
      }
      if (static_cast<std::size_t>(n) > v5::k_max_symlink_size) {
        return make_error(Errc::overflow, shown + ": symlink target longer than 4096 bytes");
      }
      if (n == 0) {
        return make_error(Errc::corrupted, shown + ": empty symlink target");
      }
      e.link_target.assign(buf, static_cast<std::size_t>(n));
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
      e.kind = S_ISCHR(st.st_mode) ? EntryKind::chardev : EntryKind::blockdev;
      e.rdev_major = major(st.st_rdev);
      e.rdev_minor = minor(st.st_rdev);
      break;
    case S_IFIFO: e.kind = EntryKind::fifo; break;
    case S_IFSOCK: e.kind = EntryKind::socket; break;
    default: return make_error(Errc::unsupported, shown + ": unsupported file type");
    }
    XattrSource xs;
    xs.path = m_use_proc ? proc_path(dfd, name) : shown;
    RAFS_TRY(read_xattrs(e, xs, shown));
    return true;
  }

  Result<bool> emit_regular(SourceEntry& e, int dfd, const std::string& name,
                            const struct stat& st, const std::string& shown) {
    if (st.st_nlink > 1) {
      auto [it, fresh] = m_links.try_emplace(std::pair{st.st_dev, st.st_ino}, e.path);
      if (!fresh) {
        e.kind = EntryKind::hardlink;
        e.link_target = it->second;
        return true;
      }
    }
    e.kind = EntryKind::regular;
    e.size = static_cast<std::uint64_t>(st.st_size);
    // O_NONBLOCK: should the file be swapped for a fifo, open must not hang.
    const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    UniqueFd fd(::openat(dfd, name.c_str(), flags | O_NOATIME));
    if (!fd && errno == EPERM) { // O_NOATIME needs ownership (or CAP_FOWNER)
      fd.reset(::openat(dfd, name.c_str(), flags));
    }
    if (!fd) {
      return os_error(errno, shown);
    }
    struct stat now {};
    if (::fstat(fd.get(), &now) != 0) {
      return os_error(errno, shown);
    }
    if (!S_ISREG(now.st_mode) || !same_file(st, now)) {
      return make_error(Errc::io, shown + ": replaced while being read");
    }
    RAFS_TRY(read_xattrs(e, XattrSource{fd.get(), {}}, shown));
    m_data.start(std::move(fd), e.size, shown);
    return true;
  }

  Result<bool> emit_dir(SourceEntry& e, int dfd, const std::string& name, const struct stat& st,
                        const std::string& shown) {
    e.kind = EntryKind::directory;
    UniqueFd fd(::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      return os_error(errno, shown);
    }
    struct stat now {};
    if (::fstat(fd.get(), &now) != 0) {
      return os_error(errno, shown);
    }
    if (!S_ISDIR(now.st_mode) || !same_file(st, now)) {
      return make_error(Errc::io, shown + ": replaced while being read");
    }
    RAFS_TRY(read_xattrs(e, XattrSource{fd.get(), {}}, shown));
    RAFS_TRY_ASSIGN(auto names, list_dir(fd.get(), shown));
    Frame f;
    f.fd = std::move(fd);
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    f.names = std::move(names);
    f.path_len = e.path.size();
    // Deep levels keep only the current directory's fd open.
    if (m_stack.size() > k_fd_levels) {
      m_stack.back().fd.reset();
    }
    m_stack.push_back(std::move(f));
    m_path = e.path;
    return true;
  }

  // Leaves the top directory: back to its parent, reopening the parent's fd
  // through ".." if it was closed.
  Result<void> pop() {
    Frame done = std::move(m_stack.back());
    m_stack.pop_back();
    if (m_stack.empty()) {
      return {};
    }
    Frame& parent = m_stack.back();
    const std::string child_shown = display(m_path);
    m_path.resize(parent.path_len);
    if (m_stack.size() == 1 || parent.fd) {
      return {};
    }
    const std::string shown = display(m_path);
    UniqueFd fd(::openat(done.fd.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      return os_error(errno, child_shown + "/..");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      return os_error(errno, shown);
    }
    if (st.st_dev != parent.dev || st.st_ino != parent.ino) {
      return make_error(Errc::io, child_shown + ": moved while the tree was being read");
    }
    parent.fd = std::move(fd);
    return {};
  }

  // Fills e.xattrs (sorted by name) with the names RAFS keeps; warns about
  // the others.
  Result<void> read_xattrs(SourceEntry& e, const XattrSource& xs, const std::string& shown_in) {
    const std::string& shown = shown_in.empty() ? m_root : shown_in;
    e.xattrs.clear();
    std::vector<char> names;
    for (;;) {
      ssize_t n = xs.list(nullptr, 0);
      if (n < 0) {
        if (no_xattr_support(errno)) {
          return {};
        }
        return os_error(errno, shown + ": list xattrs");
      }
      if (n == 0) {
        return {};
      }
      names.resize(static_cast<std::size_t>(n));
      n = xs.list(names.data(), names.size());
      if (n < 0) {
        if (errno == ERANGE) {
          continue; // grew in between
        }
        return os_error(errno, shown + ": list xattrs");
      }
      names.resize(static_cast<std::size_t>(n));
      break;
    }
    std::vector<char> value;
    for (std::size_t pos = 0; pos < names.size();) {
      const char* cname = names.data() + pos;
      const std::size_t len = strnlen(cname, names.size() - pos);
      pos += len + 1;
      if (len == 0) {
        continue;
      }
      std::string name(cname, len);
      if (!v5::xattr_name_allowed(name) || name.size() > v5::k_max_xattr_name) {
        m_warnings.push_back(shown + ": xattr '" + name +
                             "' skipped (RAFS keeps user., security., trusted. and POSIX ACL xattrs)");
        continue;
      }
      bool gone = false;
      bool too_big = false;
      std::size_t size = 0;
      for (;;) {
        ssize_t n = xs.get(name.c_str(), nullptr, 0);
        if (n < 0) {
          if (errno == ENODATA) {
            gone = true;
            break;
          }
          return os_error(errno, shown + ": xattr '" + name + "'");
        }
        if (static_cast<std::size_t>(n) > v5::k_max_xattr_value) {
          too_big = true;
          size = static_cast<std::size_t>(n);
          break;
        }
        value.resize(static_cast<std::size_t>(n));
        n = xs.get(name.c_str(), value.data(), value.size());
        if (n < 0) {
          if (errno == ERANGE) {
            continue;
          }
          if (errno == ENODATA) {
            gone = true;
            break;
          }
          return os_error(errno, shown + ": xattr '" + name + "'");
        }
        size = static_cast<std::size_t>(n);
        break;
      }
      if (gone) {
        continue;
      }
      if (too_big) {
        m_warnings.push_back(shown + ": xattr '" + name + "' skipped (value of " +
                             std::to_string(size) + " bytes; RAFS keeps at most 65536)");
        continue;
      }
      e.xattrs.push_back({std::move(name), std::string(value.data(), size)});
    }
    std::sort(e.xattrs.begin(), e.xattrs.end(),
              [](const v5::Xattr& a, const v5::Xattr& b) { return a.name < b.name; });
    return {};
  }

  std::string m_root;
  UniqueFd m_root_fd;
  struct stat m_root_stat {};
  bool m_use_proc = false;
  bool m_started = false;
  std::vector<Frame> m_stack;
  std::string m_path; // the current directory, relative to the root
  std::map<std::pair<dev_t, ino_t>, std::string> m_links;
  DirDataReader m_data;
  std::vector<std::string> m_warnings;
};

} // namespace

Result<std::unique_ptr<Source>> open_dir_source(const std::filesystem::path& root) {
  auto src = std::make_unique<DirSource>(root.string());
  RAFS_TRY(src->open());
  return std::unique_ptr<Source>(std::move(src));
}

} // namespace rafs::builder
