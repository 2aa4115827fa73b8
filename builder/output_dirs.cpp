#include "builder/output_dirs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string_view>
#include <system_error>

namespace fs = std::filesystem;

namespace rafs::builder {

namespace {

// What mkstemp(3) and mkdtemp(3) put in place of "XXXXXX".
constexpr std::size_t k_random_chars = 6;
constexpr std::size_t k_digest_hex = 64;
constexpr std::string_view k_tmp = ".tmp-";

bool is_random_suffix(std::string_view s) {
  if (s.size() != k_random_chars) {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// The final name of `path` (trailing slashes ignored).
std::string leaf_of(const fs::path& path) {
  std::string text = path.string();
  while (text.size() > 1 && text.back() == '/') {
    text.pop_back();
  }
  return fs::path(text).filename().string();
}

fs::path dir_of(const fs::path& path) {
  std::string text = path.string();
  while (text.size() > 1 && text.back() == '/') {
    text.pop_back();
  }
  fs::path parent = fs::path(text).parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

struct DirCloser {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};

std::vector<std::string> names_in(int dir_fd) {
  std::vector<std::string> names;
  const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return names;
  }
  std::unique_ptr<DIR, DirCloser> d(::fdopendir(fd));
  if (!d) {
    ::close(fd);
    return names;
  }
  while (const dirent* e = ::readdir(d.get())) {
    names.emplace_back(e->d_name);
  }
  return names;
}

} // namespace

void OutputDirs::add_file(const fs::path& path) {
  const std::string leaf = leaf_of(path);
  if (!leaf.empty() && leaf != "." && leaf != "..") {
    m_wanted.emplace_back(dir_of(path), Pattern{"." + leaf + std::string(k_tmp), false, false});
  }
}

void OutputDirs::add_dir(const fs::path& path) {
  const std::string leaf = leaf_of(path);
  if (!leaf.empty() && leaf != "." && leaf != "..") {
    m_wanted.emplace_back(dir_of(path), Pattern{"." + leaf + std::string(k_tmp), true, false});
    m_wanted.emplace_back(dir_of(path), Pattern{"." + leaf + ".old-", true, false});
  }
}

void OutputDirs::add_blob_dir(const fs::path& dir) {
  m_wanted.emplace_back(dir, Pattern{".blob" + std::string(k_tmp), false, false});
  m_wanted.emplace_back(dir, Pattern{{}, false, true});
}

void OutputDirs::claim() {
  struct Dir {
    dev_t dev = 0;
    ino_t ino = 0;
    fs::path path;
    UniqueFd fd;
    std::vector<Pattern> patterns;
  };
  // One lock per directory however it is spelled: a second open file
  // description of it would conflict with this process's own lock.
  std::vector<Dir> dirs;
  for (const auto& [path, pattern] : m_wanted) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) {
      continue;
    }
    Dir* dir = nullptr;
    for (Dir& d : dirs) {
      if (d.dev == st.st_dev && d.ino == st.st_ino) {
        dir = &d;
      }
    }
    if (dir == nullptr) {
      dir = &dirs.emplace_back(Dir{st.st_dev, st.st_ino, path, std::move(fd), {}});
      // A scratch file is named only between its creation and its unlink.
      dir->patterns.push_back(Pattern{".rafs-scratch-", false, false});
    }
    dir->patterns.push_back(pattern);
  }
  m_wanted.clear();

  for (Dir& d : dirs) {
    if (::flock(d.fd.get(), LOCK_EX | LOCK_NB) == 0) {
      remove_stale(d.fd.get(), d.path, d.patterns);
    } else if (errno != EWOULDBLOCK) {
      continue; // a filesystem without flock: no cleanup, no lock
    }
    // Taken, or converted from exclusive; waits only while another run cleans up.
    while (::flock(d.fd.get(), LOCK_SH) != 0 && errno == EINTR) {
    }
    m_locks.push_back(std::move(d.fd));
  }
}

bool OutputDirs::matches(const Pattern& p, std::string_view name) {
  if (p.digest_name) { // ".<64 hex>.tmp-XXXXXX"
    return name.size() == 1 + k_digest_hex + k_tmp.size() + k_random_chars && name.front() == '.' &&
           is_lower_hex(name.substr(1, k_digest_hex)) &&
           name.substr(1 + k_digest_hex, k_tmp.size()) == k_tmp &&
           is_random_suffix(name.substr(1 + k_digest_hex + k_tmp.size()));
  }
  return name.size() == p.prefix.size() + k_random_chars && name.starts_with(p.prefix) &&
         is_random_suffix(name.substr(p.prefix.size()));
}

void OutputDirs::remove_stale(int dir_fd, const fs::path& dir, const std::vector<Pattern>& patterns) {
  for (const std::string& name : names_in(dir_fd)) {
    for (const Pattern& p : patterns) {
      if (!matches(p, name)) {
        continue;
      }
      struct stat st {};
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        break;
      }
      if (!p.directory && S_ISREG(st.st_mode)) {
        ::unlinkat(dir_fd, name.c_str(), 0);
        break;
      }
      if (p.directory && S_ISDIR(st.st_mode)) {
        std::error_code ec; // remove_all never follows a symlink
        fs::remove_all(dir / name, ec);
        break;
      }
      // The name fits, the type does not: another pattern (a file's and a
      // staging directory's may share a prefix) may still take it.
    }
  }
}

} // namespace rafs::builder
