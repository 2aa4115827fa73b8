#include "support/tree_compare.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace rafs::test {

namespace fs = std::filesystem;

namespace {

// Relative paths ("a/b") of everything below `root`, sorted by bytes.
std::set<std::string> list_tree(const fs::path& root) {
  std::set<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) {
    throw std::runtime_error("cannot list " + root.string() + ": " + ec.message());
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      throw std::runtime_error("cannot list " + root.string() + ": " + ec.message());
    }
    out.insert(it->path().lexically_relative(root).string());
  }
  if (ec) {
    throw std::runtime_error("cannot list " + root.string() + ": " + ec.message());
  }
  return out;
}

struct stat lstat_or_throw(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) {
    throw std::runtime_error("lstat " + p.string() + ": " + std::strerror(errno));
  }
  return st;
}

std::string octal(unsigned v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0%o", v);
  return buf;
}

std::string type_name(mode_t mode) {
  switch (mode & S_IFMT) {
  case S_IFREG: return "regular file";
  case S_IFDIR: return "directory";
  case S_IFLNK: return "symlink";
  case S_IFCHR: return "char device";
  case S_IFBLK: return "block device";
  case S_IFIFO: return "fifo";
  case S_IFSOCK: return "socket";
  default: return "unknown type " + octal(mode & S_IFMT);
  }
}

std::string mtime_text(const struct stat& st) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%lld.%09ld", static_cast<long long>(st.st_mtim.tv_sec),
                st.st_mtim.tv_nsec);
  return buf;
}

std::string printable(const std::string& bytes) {
  std::string out;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::map<std::string, std::string> read_xattrs(const fs::path& p) {
  std::map<std::string, std::string> out;
  ssize_t n = ::llistxattr(p.c_str(), nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP) {
      return out;
    }
    throw std::runtime_error("llistxattr " + p.string() + ": " + std::strerror(errno));
  }
  std::vector<char> names(static_cast<std::size_t>(n));
  n = ::llistxattr(p.c_str(), names.data(), names.size());
  if (n < 0) {
    throw std::runtime_error("llistxattr " + p.string() + ": " + std::strerror(errno));
  }
  for (std::size_t pos = 0; pos < static_cast<std::size_t>(n);) {
    std::string name(names.data() + pos);
    pos += name.size() + 1;
    ssize_t len = ::lgetxattr(p.c_str(), name.c_str(), nullptr, 0);
    if (len < 0) {
      throw std::runtime_error("lgetxattr " + p.string() + " " + name + ": " + std::strerror(errno));
    }
    std::string value(static_cast<std::size_t>(len), '\0');
    len = ::lgetxattr(p.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0) {
      throw std::runtime_error("lgetxattr " + p.string() + " " + name + ": " + std::strerror(errno));
    }
    value.resize(static_cast<std::size_t>(len));
    out.emplace(std::move(name), std::move(value));
  }
  return out;
}

std::string read_link(const fs::path& p) {
  std::vector<char> buf(8192);
  ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size());
  if (n < 0) {
    throw std::runtime_error("readlink " + p.string() + ": " + std::strerror(errno));
  }
  return {buf.data(), static_cast<std::size_t>(n)};
}

// The offset of the next data at or after `offset`; -1 when only a hole
// is left; `offset` itself when the filesystem cannot tell.
off_t next_data(int fd, std::uint64_t offset) {
  off_t r = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
  if (r < 0) {
    return errno == ENXIO ? -1 : static_cast<off_t>(offset);
  }
  return r;
}

// "" when equal, else where the contents first differ.
std::string compare_contents(const fs::path& a, const fs::path& b) {
  int fa = ::open(a.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int fb = ::open(b.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fa < 0 || fb < 0) {
    std::string what = (fa < 0 ? a : b).string() + ": " + std::strerror(errno);
    if (fa >= 0) {
      ::close(fa);
    }
    if (fb >= 0) {
      ::close(fb);
    }
    throw std::runtime_error("open " + what);
  }
  constexpr std::size_t k_buf = 1 << 20;
  std::vector<char> ba(k_buf);
  std::vector<char> bb(k_buf);
  std::uint64_t offset = 0;
  std::string result;
  for (;;) {
    // Skip what is a hole in both files (zeros on both sides), so sparse
    // files of many GiB compare in milliseconds.
    const off_t da = next_data(fa, offset);
    const off_t db = next_data(fb, offset);
    if (da < 0 && db < 0) {
      break; // only holes left in both
    }
    const off_t next = da < 0 ? db : db < 0 ? da : std::min(da, db);
    offset = std::max(offset, static_cast<std::uint64_t>(next));
    ssize_t na = ::pread(fa, ba.data(), k_buf, static_cast<off_t>(offset));
    ssize_t nb = ::pread(fb, bb.data(), k_buf, static_cast<off_t>(offset));
    if (na < 0 || nb < 0) {
      result = "read error at offset " + std::to_string(offset);
      break;
    }
    const auto common = static_cast<std::size_t>(std::min(na, nb));
    if (std::memcmp(ba.data(), bb.data(), common) != 0) {
      std::size_t i = 0;
      while (ba[i] == bb[i]) {
        ++i;
      }
      result = "contents differ at offset " + std::to_string(offset + i);
      break;
    }
    if (na != nb) {
      result = "contents differ at offset " + std::to_string(offset + common) + " (one file ends)";
      break;
    }
    if (na == 0) {
      break;
    }
    offset += static_cast<std::uint64_t>(na);
  }
  ::close(fa);
  ::close(fb);
  return result;
}

// For each non-directory path, its hard-link group within the tree: every
// path sharing its inode, sorted and joined ("{a, b/c}").
std::map<std::string, std::string> link_groups(const std::map<std::string, struct stat>& stats) {
  std::map<std::pair<dev_t, ino_t>, std::vector<std::string>> members;
  for (const auto& [path, st] : stats) {
    if (!S_ISDIR(st.st_mode)) {
      members[std::pair{st.st_dev, st.st_ino}].push_back(path);
    }
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, paths] : members) {
    std::string text = "{";
    for (const auto& p : paths) {
      text += (text.size() > 1 ? ", " : "") + printable(p);
    }
    text += "}";
    for (const auto& p : paths) {
      out[p] = text;
    }
  }
  return out;
}

} // namespace

std::vector<std::string> compare_trees(const fs::path& a, const fs::path& b,
                                       const TreeCompareOptions& options) {
  std::vector<std::string> diffs;
  const std::set<std::string> pa = list_tree(a);
  const std::set<std::string> pb = list_tree(b);
  std::set<std::string> all = pa;
  all.insert(pb.begin(), pb.end());

  // Stats of the paths in both trees, "." for the roots.
  std::map<std::string, struct stat> sa;
  std::map<std::string, struct stat> sb;
  sa["."] = lstat_or_throw(a);
  sb["."] = lstat_or_throw(b);
  for (const auto& p : all) {
    if (pa.count(p) != 0 && pb.count(p) != 0) {
      sa[p] = lstat_or_throw(a / p);
      sb[p] = lstat_or_throw(b / p);
    }
  }
  const auto ga = link_groups(sa);
  const auto gb = link_groups(sb);

  std::vector<std::string> order{"."};
  order.insert(order.end(), all.begin(), all.end());
  for (const auto& p : order) {
    const std::string name = printable(p);
    if (sa.count(p) == 0) {
      diffs.push_back(name + ": only in " + (pa.count(p) != 0 ? a : b).string());
      continue;
    }
    const struct stat& x = sa.at(p);
    const struct stat& y = sb.at(p);
    auto diff = [&](const std::string& what, const std::string& va, const std::string& vb) {
      if (va != vb) {
        diffs.push_back(name + ": " + what + " " + va + " != " + vb);
      }
    };
    if ((x.st_mode & S_IFMT) != (y.st_mode & S_IFMT)) {
      diffs.push_back(name + ": type " + type_name(x.st_mode) + " != " + type_name(y.st_mode));
      continue;
    }
    if (p != "." || !options.ignore_root_mode_and_mtime) {
      diff("mode", octal(x.st_mode), octal(y.st_mode));
      diff("mtime", mtime_text(x), mtime_text(y));
    }
    diff("uid", std::to_string(x.st_uid), std::to_string(y.st_uid));
    diff("gid", std::to_string(x.st_gid), std::to_string(y.st_gid));
    if (S_ISREG(x.st_mode)) {
      if (x.st_size != y.st_size) {
        diff("size", std::to_string(x.st_size), std::to_string(y.st_size));
      } else if (std::string c = compare_contents(a / p, b / p); !c.empty()) {
        diffs.push_back(name + ": " + c);
      }
    }
    if (S_ISLNK(x.st_mode)) {
      diff("symlink target", "'" + printable(read_link(a / p)) + "'",
           "'" + printable(read_link(b / p)) + "'");
    }
    if (S_ISCHR(x.st_mode) || S_ISBLK(x.st_mode)) {
      diff("rdev", std::to_string(major(x.st_rdev)) + ":" + std::to_string(minor(x.st_rdev)),
           std::to_string(major(y.st_rdev)) + ":" + std::to_string(minor(y.st_rdev)));
    }
    const auto xa = read_xattrs(a / p);
    const auto xb = read_xattrs(b / p);
    for (const auto& [k, v] : xa) {
      auto it = xb.find(k);
      if (it == xb.end()) {
        diffs.push_back(name + ": xattr " + printable(k) + " only in " + a.string());
      } else if (it->second != v) {
        diff("xattr " + printable(k), "'" + printable(v) + "'", "'" + printable(it->second) + "'");
      }
    }
    for (const auto& [k, v] : xb) {
      if (xa.count(k) == 0) {
        diffs.push_back(name + ": xattr " + printable(k) + " only in " + b.string());
      }
    }
    if (!S_ISDIR(x.st_mode)) {
      diff("hard links", ga.at(p), gb.at(p));
    }
  }
  return diffs;
}

} // namespace rafs::test
