// The directory source: the exact entry stream of a tree built by code (every
// file type, hard links, xattrs, odd names, sparse files), the data reader
// (holes skipped, size changes caught), deep trees, errors, and the end to
// end round trip create -> check -> unpack -> tar -x compared with the source.
#include <doctest/doctest.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "builder/dir_source.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"
#include "support/tree_compare.hpp"

namespace fs = std::filesystem;
using rafs::builder::EntryKind;
using rafs::builder::SourceEntry;
using rafs::test::TempDir;

namespace {

constexpr std::uint64_t k_gib = std::uint64_t{1} << 30;
constexpr std::uint64_t k_mib = std::uint64_t{1} << 20;
const std::string k_odd_name = "\xff\xfe";
constexpr std::uint32_t k_chr_major = 136;
constexpr std::uint32_t k_chr_minor = 300;

std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = static_cast<std::uint8_t>(i * 7 + 3);
  }
  return v;
}

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

void check_sys(int r, const std::string& what) {
  INFO(what << ": " << std::strerror(errno));
  REQUIRE(r == 0);
}

void make_file(const fs::path& p, const std::vector<std::uint8_t>& data, mode_t mode) {
  rafs::test::write_file(p, data);
  check_sys(::chmod(p.c_str(), mode), "chmod " + p.string());
}

void make_dir(const fs::path& p, mode_t mode) {
  check_sys(::mkdir(p.c_str(), mode), "mkdir " + p.string());
  check_sys(::chmod(p.c_str(), mode), "chmod " + p.string());
}

void set_mtime(const fs::path& p, std::int64_t sec, long nsec) {
  timespec ts[2];
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_sec = sec;
  ts[1].tv_nsec = nsec;
  check_sys(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), "utimensat " + p.string());
}

// The tree, in the order the walk must produce it; "" is the root.
const std::vector<std::string> k_walk = {
    "",     "big",   "chr",    "dangling", "dir",  "dir/hard_b", "dir/hard_c", "dir/sub",
    "dir/sub/deep", "empty", "fifo", "hard_a", "one", "owned", "sparse", "suid", "timed",
    "xattr_file", k_odd_name};

bool is_link_follower(const std::string& p) { return p == "dir/hard_c" || p == "hard_a"; }

struct MTime {
  std::uint64_t sec = 0;
  std::uint32_t nsec = 0;
};

MTime mtime_of(const std::string& path) {
  if (path == "timed") {
    return {1234567890, 123456789};
  }
  std::string p = is_link_follower(path) ? "dir/hard_b" : path;
  std::size_t i = 0;
  while (k_walk[i] != p) {
    ++i;
  }
  return {1600000000 + i * 1000, static_cast<std::uint32_t>(i * 50000001 + 7)};
}

struct TreeFeatures {
  bool chr = true;     // mknod worked
  bool xattrs = true;  // user.* xattrs are supported here
  bool chown = true;   // we could chown to 1000:2000
};

// Builds the test tree under `root` (which must not exist). The sparse file
// is `sparse_size` bytes with "0123456789" at `sparse_at`.
TreeFeatures build_tree(const fs::path& root, std::uint64_t sparse_size, std::uint64_t sparse_at) {
  TreeFeatures f;
  make_dir(root, 0755);
  make_file(root / "empty", {}, 0644);
  make_file(root / "one", bytes("x"), 0444);
  make_file(root / "big", pattern(4097), 0644);
  {
    make_file(root / "sparse", {}, 0644);
    int fd = ::open((root / "sparse").c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    check_sys(::ftruncate(fd, static_cast<off_t>(sparse_size)), "ftruncate");
    REQUIRE(::pwrite(fd, "0123456789", 10, static_cast<off_t>(sparse_at)) == 10);
    ::close(fd);
  }
  make_dir(root / "dir", 0750);
  make_dir(root / "dir" / "sub", 0700);
  make_file(root / "dir" / "sub" / "deep", bytes("deep\n"), 0600);
  make_file(root / "dir" / "hard_b", bytes("shared by three links\n"), 0640);
  check_sys(::link((root / "dir" / "hard_b").c_str(), (root / "dir" / "hard_c").c_str()), "link");
  check_sys(::link((root / "dir" / "hard_b").c_str(), (root / "hard_a").c_str()), "link");
  check_sys(::symlink("missing/target", (root / "dangling").c_str()), "symlink");
  check_sys(::mkfifo((root / "fifo").c_str(), 0644), "mkfifo");
  check_sys(::chmod((root / "fifo").c_str(), 0644), "chmod fifo");
  if (::mknod((root / "chr").c_str(), S_IFCHR | 0600, makedev(k_chr_major, k_chr_minor)) != 0) {
    REQUIRE(errno == EPERM);
    MESSAGE("skipped the char device: mknod is not permitted here");
    f.chr = false;
  } else {
    check_sys(::chmod((root / "chr").c_str(), 0600), "chmod chr");
  }
  make_file(root / k_odd_name, bytes("odd name\n"), 0644);
  make_file(root / "owned", bytes("owned\n"), 0644);
  if (::chown((root / "owned").c_str(), 1000, 2000) != 0 ||
      ::chown((root / "dir" / "sub").c_str(), 1000, 2000) != 0) {
    REQUIRE(errno == EPERM);
    MESSAGE("skipped chown to 1000:2000: not permitted here");
    f.chown = false;
  }
  make_file(root / "suid", bytes("#!/bin/sh\n"), 04755); // after any chown, which clears it
  make_file(root / "timed", bytes("timed\n"), 0644);
  make_file(root / "xattr_file", bytes("xattrs\n"), 0644);
  const std::string nul_value("v\0x", 3);
  if (::setxattr((root / "xattr_file").c_str(), "user.b", nul_value.data(), nul_value.size(), 0) != 0) {
    REQUIRE((errno == ENOTSUP || errno == EOPNOTSUPP));
    MESSAGE("skipped xattrs: the filesystem does not support user.* xattrs");
    f.xattrs = false;
  } else {
    check_sys(::setxattr((root / "xattr_file").c_str(), "user.a", "1", 1, 0), "setxattr");
    check_sys(::setxattr((root / "dir").c_str(), "user.dir", "yes", 3, 0), "setxattr");
  }
  for (const auto& p : k_walk) {
    if (is_link_follower(p) || (p == "chr" && !f.chr)) {
      continue;
    }
    MTime t = mtime_of(p);
    set_mtime(p.empty() ? root : root / p, static_cast<std::int64_t>(t.sec), static_cast<long>(t.nsec));
  }
  return f;
}

struct Want {
  std::string path;
  EntryKind kind;
  std::uint32_t mode;
  std::uint64_t size = 0;
  std::string link = {};
  std::vector<rafs::v5::Xattr> xattrs = {};
};

std::vector<Want> expected_entries(const TreeFeatures& f, std::uint64_t sparse_size) {
  std::vector<Want> w = {
      {"", EntryKind::directory, 040755},
      {"big", EntryKind::regular, 0100644, 4097},
      {"chr", EntryKind::chardev, 020600},
      {"dangling", EntryKind::symlink, 0120777, 0, "missing/target"},
      {"dir", EntryKind::directory, 040750},
      {"dir/hard_b", EntryKind::regular, 0100640, 22},
      {"dir/hard_c", EntryKind::hardlink, 0100640, 0, "dir/hard_b"},
      {"dir/sub", EntryKind::directory, 040700},
      {"dir/sub/deep", EntryKind::regular, 0100600, 5},
      {"empty", EntryKind::regular, 0100644, 0},
      {"fifo", EntryKind::fifo, 010644},
      {"hard_a", EntryKind::hardlink, 0100640, 0, "dir/hard_b"},
      {"one", EntryKind::regular, 0100444, 1},
      {"owned", EntryKind::regular, 0100644, 6},
      {"sparse", EntryKind::regular, 0100644, sparse_size},
      {"suid", EntryKind::regular, 0104755, 10},
      {"timed", EntryKind::regular, 0100644, 6},
      {"xattr_file", EntryKind::regular, 0100644, 7},
      {k_odd_name, EntryKind::regular, 0100644, 9},
  };
  if (f.xattrs) {
    w[4].xattrs = {{"user.dir", "yes"}};
    w[17].xattrs = {{"user.a", "1"}, {"user.b", std::string("v\0x", 3)}};
  }
  if (!f.chr) {
    w.erase(w.begin() + 2);
  }
  return w;
}

struct Block {
  std::uint64_t offset = 0;
  std::vector<std::uint8_t> data;
};

// Reads every block of the current entry.
std::vector<Block> read_blocks(rafs::builder::Source& src) {
  std::vector<Block> out;
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
  std::uint64_t offset = 0;
  for (;;) {
    auto more = src.data().next_block(data, len, offset);
    REQUIRE_MESSAGE(more.ok(), (more.ok() ? "" : more.error().message));
    if (!*more) {
      return out;
    }
    out.push_back({offset, std::vector<std::uint8_t>(data, data + len)});
  }
}

// The file's contents from its blocks (holes as zeros).
std::vector<std::uint8_t> assemble(const std::vector<Block>& blocks, std::uint64_t size) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(size), 0);
  for (const auto& b : blocks) {
    REQUIRE(b.offset + b.data.size() <= size);
    std::copy(b.data.begin(), b.data.end(), out.begin() + static_cast<std::ptrdiff_t>(b.offset));
  }
  return out;
}

std::unique_ptr<rafs::builder::Source> open_source(const fs::path& root) {
  auto src = rafs::builder::open_dir_source(root);
  REQUIRE_MESSAGE(src.ok(), (src.ok() ? "" : src.error().message));
  return std::move(*src);
}

std::vector<SourceEntry> read_entries(rafs::builder::Source& src) {
  std::vector<SourceEntry> out;
  SourceEntry e;
  for (;;) {
    auto more = src.next(e);
    REQUIRE_MESSAGE(more.ok(), (more.ok() ? "" : more.error().message));
    if (!*more) {
      return out;
    }
    out.push_back(e);
  }
}

std::string kind_name(EntryKind k) {
  switch (k) {
  case EntryKind::regular: return "regular";
  case EntryKind::directory: return "directory";
  case EntryKind::symlink: return "symlink";
  case EntryKind::hardlink: return "hardlink";
  case EntryKind::chardev: return "chardev";
  case EntryKind::blockdev: return "blockdev";
  case EntryKind::fifo: return "fifo";
  case EntryKind::socket: return "socket";
  }
  return "?";
}

std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

// Removes `name` in `dirfd` and everything below it through fds, so trees
// deeper than PATH_MAX go too (std::filesystem::remove_all cannot).
void remove_at(int dirfd, const std::string& name) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    ::unlinkat(dirfd, name.c_str(), 0);
    return;
  }
  DIR* d = ::fdopendir(fd);
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      names.push_back(n);
    }
  }
  for (const auto& n : names) {
    remove_at(::dirfd(d), n);
  }
  ::closedir(d);
  ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);
}

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

} // namespace

TEST_SUITE("builder::dir source") {
  TEST_CASE("the walk emits every entry in sorted depth-first order with its attributes") {
    TempDir tmp;
    const fs::path root = tmp / "tree";
    const std::uint64_t sparse_size = 5 * k_gib;
    const std::uint64_t sparse_at = 3 * k_gib;
    const TreeFeatures f = build_tree(root, sparse_size, sparse_at);
    const std::uint32_t me_uid = ::geteuid();
    const std::uint32_t me_gid = ::getegid();

    auto src = open_source(root);
    std::vector<Want> want = expected_entries(f, sparse_size);
    std::map<std::string, std::vector<Block>> blocks;
    std::uint64_t block_bytes = 0;
    SourceEntry e;
    std::size_t n = 0;
    for (;; ++n) {
      auto more = src->next(e);
      REQUIRE_MESSAGE(more.ok(), (more.ok() ? "" : more.error().message));
      if (!*more) {
        break;
      }
      REQUIRE(n < want.size());
      const Want& w = want[n];
      CAPTURE(w.path);
      CHECK(e.path == w.path);
      CHECK(kind_name(e.kind) == kind_name(w.kind));
      CHECK(e.mode == w.mode);
      const bool owned = f.chown && (w.path == "owned" || w.path == "dir/sub");
      CHECK(e.uid == (owned ? 1000u : me_uid));
      CHECK(e.gid == (owned ? 2000u : me_gid));
      const MTime t = mtime_of(w.path);
      CHECK(e.mtime == t.sec);
      CHECK(e.mtime_nsec == t.nsec);
      CHECK(e.size == w.size);
      CHECK(e.link_target == w.link);
      CHECK(e.xattrs == w.xattrs);
      CHECK(e.rdev_major == (w.kind == EntryKind::chardev ? k_chr_major : 0u));
      CHECK(e.rdev_minor == (w.kind == EntryKind::chardev ? k_chr_minor : 0u));
      // Only regular files have data; the reader is empty for the rest.
      std::vector<Block> got = read_blocks(*src);
      if (w.kind != EntryKind::regular) {
        CHECK(got.empty());
      }
      for (const auto& b : got) {
        block_bytes += b.data.size();
      }
      blocks[w.path] = std::move(got);
    }
    CHECK(n == want.size());
    CHECK(src->take_warnings().empty());
    CHECK(src->bytes_read() == block_bytes);

    CHECK(blocks["empty"].empty());
    CHECK(assemble(blocks["one"], 1) == bytes("x"));
    CHECK(assemble(blocks["big"], 4097) == pattern(4097));
    CHECK(assemble(blocks["dir/hard_b"], 22) == bytes("shared by three links\n"));
    CHECK(assemble(blocks[k_odd_name], 9) == bytes("odd name\n"));

    // The 5 GiB sparse file: only the written region is read.
    const auto& sparse = blocks["sparse"];
    REQUIRE(!sparse.empty());
    CHECK(sparse.size() <= 2);
    std::uint64_t total = 0;
    bool found = false;
    for (const auto& b : sparse) {
      total += b.data.size();
      CHECK(b.offset + b.data.size() <= sparse_size);
      for (std::size_t i = 0; i < b.data.size(); ++i) {
        const std::uint64_t at = b.offset + i;
        if (at >= sparse_at && at < sparse_at + 10) {
          CHECK(b.data[i] == static_cast<std::uint8_t>('0' + (at - sparse_at)));
        } else if (b.data[i] != 0) {
          FAIL("non-zero byte at offset " << at);
        }
      }
      const bool covers = b.offset <= sparse_at && b.offset + b.data.size() >= sparse_at + 10;
      found = found || covers;
    }
    CHECK(found);
    CHECK(total <= 2 * k_mib);
  }

  TEST_CASE("hard-linked symlinks and fifos are separate entries, sockets are sockets") {
    TempDir tmp;
    const fs::path root = tmp / "t";
    make_dir(root, 0755);
    check_sys(::symlink("target", (root / "sym").c_str()), "symlink");
    check_sys(::linkat(AT_FDCWD, (root / "sym").c_str(), AT_FDCWD, (root / "sym2").c_str(), 0),
              "link symlink");
    check_sys(::mkfifo((root / "fifo").c_str(), 0600), "mkfifo");
    check_sys(::link((root / "fifo").c_str(), (root / "fifo2").c_str()), "link fifo");
    const std::string sock_path = (root / "sock").string();
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(sock_path.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
    check_sys(::bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), "bind");
    ::close(s);

    // trusted.* xattrs on a symlink and a fifo: read without opening them.
    bool trusted = ::lsetxattr((root / "sym").c_str(), "trusted.s", "1", 1, 0) == 0;
    if (!trusted) {
      REQUIRE((errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP));
      MESSAGE("skipped trusted.* xattrs: not permitted or not supported here");
    } else {
      check_sys(::lsetxattr((root / "fifo").c_str(), "trusted.f", "2", 1, 0), "lsetxattr fifo");
    }

    auto src = open_source(root);
    auto entries = read_entries(*src);
    REQUIRE(entries.size() == 6);
    if (trusted) {
      using X = std::vector<rafs::v5::Xattr>;
      CHECK(entries[1].xattrs == X{{"trusted.f", "2"}});
      CHECK(entries[2].xattrs == X{{"trusted.f", "2"}}); // the same inode
      CHECK(entries[4].xattrs == X{{"trusted.s", "1"}});
      CHECK(entries[5].xattrs == X{{"trusted.s", "1"}});
    }
    CHECK(entries[3].xattrs.empty());
    CHECK(entries[0].path == "");
    CHECK(entries[1].path == "fifo");
    CHECK(kind_name(entries[1].kind) == "fifo");
    CHECK(entries[2].path == "fifo2");
    CHECK(kind_name(entries[2].kind) == "fifo");
    CHECK(entries[2].link_target == "");
    CHECK(entries[3].path == "sock");
    CHECK(kind_name(entries[3].kind) == "socket");
    CHECK((entries[3].mode & S_IFMT) == S_IFSOCK);
    CHECK(entries[4].path == "sym");
    CHECK(kind_name(entries[4].kind) == "symlink");
    CHECK(entries[4].link_target == "target");
    CHECK(entries[5].path == "sym2");
    CHECK(kind_name(entries[5].kind) == "symlink");
    CHECK(entries[5].link_target == "target");
  }

  TEST_CASE("a root given with trailing slashes, and a symlink inside is never followed") {
    TempDir tmp;
    const fs::path root = tmp / "t";
    make_dir(root, 0755);
    make_dir(tmp / "outside", 0755);
    make_file(tmp / "outside" / "secret", bytes("secret"), 0644);
    check_sys(::symlink("../outside", (root / "dirlink").c_str()), "symlink");
    auto src = open_source(root.string() + "//");
    auto entries = read_entries(*src);
    REQUIRE(entries.size() == 2);
    CHECK(entries[1].path == "dirlink");
    CHECK(kind_name(entries[1].kind) == "symlink");
    CHECK(entries[1].link_target == "../outside");
  }

  TEST_CASE("a tree deeper than PATH_MAX is walked with a bounded number of open fds") {
    TempDir tmp;
    const fs::path root = tmp / "deep";
    make_dir(root, 0755);
    const std::string name(100, 'd');
    constexpr int k_depth = 120; // 120 * 101 bytes: well past PATH_MAX
    constexpr int k_mid = 50;
    {
      std::vector<int> fds{::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
      REQUIRE(fds.back() >= 0);
      for (int i = 0; i < k_depth; ++i) {
        check_sys(::mkdirat(fds.back(), name.c_str(), 0755), "mkdirat");
        if (i == k_mid) {
          int f = ::openat(fds.back(), "zz", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
          REQUIRE(f >= 0);
          ::close(f);
        }
        int fd = ::openat(fds.back(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        fds.push_back(fd);
      }
      int f = ::openat(fds.back(), "leaf", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      REQUIRE(f >= 0);
      REQUIRE(::write(f, "leaf", 4) == 4);
      ::close(f);
      for (int fd : fds) {
        ::close(fd);
      }
    }
    make_file(root / "zz_after", bytes("after"), 0644);

    const std::size_t fds_before = open_fd_count();
    std::size_t most_fds = 0;
    {
      auto src = open_source(root);
      SourceEntry e;
      std::vector<std::string> paths;
      for (;;) {
        auto more = src->next(e);
        REQUIRE_MESSAGE(more.ok(), (more.ok() ? "" : more.error().message));
        if (!*more) {
          break;
        }
        most_fds = std::max(most_fds, open_fd_count());
        paths.push_back(e.path);
        if (e.path.size() >= 4 && e.path.substr(e.path.size() - 4) == "leaf") {
          auto blocks = read_blocks(*src);
          REQUIRE(blocks.size() == 1);
          CHECK(blocks[0].data == bytes("leaf"));
        }
      }
      // root, k_depth dirs, leaf, zz (level k_mid), zz_after
      REQUIRE(paths.size() == std::size_t{k_depth} + 4);
      std::string p;
      for (int i = 0; i < k_depth; ++i) {
        p += (i == 0 ? "" : "/") + name;
        CHECK(paths[static_cast<std::size_t>(i) + 1] == p);
      }
      CHECK(paths[k_depth + 1] == p + "/leaf");
      std::string mid;
      for (int i = 0; i < k_mid; ++i) {
        mid += (i == 0 ? "" : "/") + name;
      }
      CHECK(paths[k_depth + 2] == mid + "/zz"); // after its sibling's whole subtree
      CHECK(paths[k_depth + 3] == "zz_after");
    }
    CHECK(most_fds <= fds_before + 24);
    CHECK(open_fd_count() == fds_before);
    int top = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(top >= 0);
    remove_at(top, "deep");
    ::close(top);
  }

  TEST_CASE("a file that changes size while it is read is an io error naming it") {
    TempDir tmp;
    const fs::path root = tmp / "t";
    make_dir(root, 0755);
    make_file(root / "f", pattern(100), 0644);
    for (bool grow : {false, true}) {
      CAPTURE(grow);
      auto src = open_source(root);
      SourceEntry e;
      REQUIRE(*src->next(e)); // root
      REQUIRE(*src->next(e));
      REQUIRE(e.path == "f");
      REQUIRE(e.size == 100);
      check_sys(::truncate((root / "f").c_str(), grow ? 150 : 50), "truncate");
      const std::uint8_t* data = nullptr;
      std::size_t len = 0;
      std::uint64_t offset = 0;
      rafs::Result<bool> r = true;
      for (int i = 0; i < 10 && r.ok() && *r; ++i) {
        r = src->data().next_block(data, len, offset);
      }
      REQUIRE(!r.ok());
      CHECK(r.error().code == rafs::Errc::io);
      CHECK(r.error().message.find((root / "f").string()) != std::string::npos);
      check_sys(::truncate((root / "f").c_str(), 100), "truncate");
    }
  }

  TEST_CASE("a missing root is not_found, a file as root is invalid_argument") {
    TempDir tmp;
    auto missing = rafs::builder::open_dir_source(tmp / "nope");
    REQUIRE(!missing.ok());
    CHECK(missing.error().code == rafs::Errc::not_found);
    CHECK(missing.error().message.find((tmp / "nope").string()) != std::string::npos);

    make_file(tmp / "file", bytes("x"), 0644);
    auto file = rafs::builder::open_dir_source(tmp / "file");
    REQUIRE(!file.ok());
    CHECK(file.error().code == rafs::Errc::invalid_argument);
    CHECK(file.error().message.find((tmp / "file").string()) != std::string::npos);
  }

  TEST_CASE("create -t dir, check, unpack and tar -x give back the same tree") {
    TempDir tmp;
    const fs::path tree = tmp / "tree";
    build_tree(tree, 64 * k_mib, 40 * k_mib);
    const fs::path blobs = tmp / "blobs";
    const fs::path out = tmp / "out";
    fs::create_directory(blobs);
    fs::create_directory(out);
    const std::string boot = (tmp / "out.boot").string();

    auto created = rafs::test::run_rafs({"create", "-t", "dir", tree.string(), "-B", boot, "-D", blobs.string()});
    INFO("create: " << created.err);
    REQUIRE(created.exit_code == 0);
    CHECK(created.err == "");
    auto checked = rafs::test::run_rafs({"check", boot, "-D", blobs.string()});
    INFO("check: " << checked.out << checked.err);
    REQUIRE(checked.exit_code == 0);
    const fs::path tar = tmp / "t.tar";
    auto unpacked = rafs::test::run_rafs({"unpack", boot, "-D", blobs.string(), "-o", tar.string()});
    INFO("unpack: " << unpacked.err);
    REQUIRE(unpacked.exit_code == 0);
    auto x = rafs::test::sh("tar --xattrs --xattrs-include='*' --numeric-owner -xpf " + quote(tar) +
                            " -C " + quote(out));
    INFO("tar: " << x.err);
    REQUIRE(x.exit_code == 0);

    const auto diffs = rafs::test::compare_trees(tree, out);
    for (const auto& d : diffs) {
      MESSAGE(d);
    }
    CHECK(diffs.empty());
  }

  TEST_CASE("a directory and a tar of it (GNU tar, sorted, PAX) build the same image") {
    TempDir tmp;
    const fs::path tree = tmp / "tree";
    build_tree(tree, 64 * k_mib, 40 * k_mib);
    const fs::path layer = tmp / "layer.tar";
    auto t = rafs::test::sh("tar --format=posix --xattrs --xattrs-include='*' --numeric-owner "
                            "--sort=name -cf " + quote(layer) + " -C " + quote(tree) + " .");
    INFO("tar: " << t.err);
    REQUIRE(t.exit_code == 0);
    fs::create_directory(tmp / "from_dir");
    fs::create_directory(tmp / "from_tar");
    const std::string dir_boot = (tmp / "dir.boot").string();
    const std::string tar_boot = (tmp / "tar.boot").string();
    auto a = rafs::test::run_rafs({"create", "-t", "dir", tree.string(), "-B", dir_boot, "-D",
                                   (tmp / "from_dir").string()});
    INFO("create from dir: " << a.err);
    REQUIRE(a.exit_code == 0);
    auto b = rafs::test::run_rafs({"create", "-t", "tar", layer.string(), "-B", tar_boot, "-D",
                                   (tmp / "from_tar").string()});
    INFO("create from tar: " << b.err);
    REQUIRE(b.exit_code == 0);
    CHECK(rafs::test::read_file(dir_boot) == rafs::test::read_file(tar_boot));
    std::vector<std::string> ids_a;
    std::vector<std::string> ids_b;
    for (const auto& e : fs::directory_iterator(tmp / "from_dir")) {
      ids_a.push_back(e.path().filename().string());
    }
    for (const auto& e : fs::directory_iterator(tmp / "from_tar")) {
      ids_b.push_back(e.path().filename().string());
    }
    CHECK(ids_a == ids_b);
  }
}

TEST_SUITE("support::compare_trees") {
  TEST_CASE("reports each kind of difference on one line, first tree's value first") {
    TempDir tmp;
    const fs::path a = tmp / "a";
    const fs::path b = tmp / "b";
    for (const auto& root : {a, b}) {
      make_dir(root, 0755);
      make_file(root / "f", bytes("hello"), 0644);
      make_file(root / "g", bytes("same"), 0644);
      check_sys(::link((root / "g").c_str(), (root / "g2").c_str()), "link");
      check_sys(::symlink("t1", (root / "l").c_str()), "symlink");
      make_dir(root / "d", 0755);
      set_mtime(root / "f", 1000, 5);
      set_mtime(root / "g", 4000, 0); // and g2, the same inode
      set_mtime(root / "l", 5000, 0);
      set_mtime(root / "d", 2000, 0);
      set_mtime(root, 3000, 0);
    }
    // Every mtime is pinned above: the two trees were made at different
    // nanoseconds, and a difference there must not make this flaky.
    CHECK(rafs::test::compare_trees(a, b).empty());

    check_sys(::chmod((b / "f").c_str(), 0755), "chmod");
    set_mtime(b / "f", 1000, 6);
    ::unlink((b / "g2").c_str());
    make_file(b / "g2", bytes("same"), 0644);
    set_mtime(b / "g2", 4000, 0);
    set_mtime(a / "g2", 4000, 0); // and a/g, the same inode
    set_mtime(b / "g", 4000, 0);
    ::unlink((b / "l").c_str());
    check_sys(::symlink("t2", (b / "l").c_str()), "symlink");
    set_mtime(b / "l", 5000, 0);
    set_mtime(a / "l", 5000, 0);
    make_file(b / "d" / "new", {}, 0644);
    set_mtime(b / "d", 2000, 0);
    check_sys(::chmod(b.c_str(), 0700), "chmod");
    set_mtime(b, 3000, 0);

    const auto diffs = rafs::test::compare_trees(a, b);
    const std::vector<std::string> want = {
        ".: mode 040755 != 040700",
        "d/new: only in " + b.string(),
        "f: mode 0100644 != 0100755",
        "f: mtime 1000.000000005 != 1000.000000006",
        "g: hard links {g, g2} != {g}",
        "g2: hard links {g, g2} != {g2}",
        "l: symlink target 't1' != 't2'",
    };
    CHECK(diffs == want);
    if (diffs != want) {
      for (const auto& d : diffs) {
        MESSAGE(d);
      }
    }

    rafs::test::TreeCompareOptions ignore_root;
    ignore_root.ignore_root_mode_and_mtime = true;
    const auto without_root = rafs::test::compare_trees(a, b, ignore_root);
    CHECK(without_root.size() == want.size() - 1);

    rafs::test::write_file(b / "f", bytes("hellO"));
    check_sys(::chmod((b / "f").c_str(), 0644), "chmod");
    set_mtime(b / "f", 1000, 5);
    const auto content = rafs::test::compare_trees(a, b, ignore_root);
    CHECK(std::find(content.begin(), content.end(), "f: contents differ at offset 4") != content.end());
  }

  TEST_CASE("sparse files are compared through their data, holes skipped") {
    TempDir tmp;
    const std::uint64_t size = 5 * k_gib;
    for (const auto& root : {tmp / "a", tmp / "b"}) {
      make_dir(root, 0755);
      for (const char* name : {"same", "differs"}) {
        make_file(root / name, {}, 0644);
        int fd = ::open((root / name).c_str(), O_WRONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        check_sys(::ftruncate(fd, static_cast<off_t>(size)), "ftruncate");
        const bool second = root == tmp / "b" && std::string(name) == "differs";
        REQUIRE(::pwrite(fd, second ? "xyz" : "xy!", 3, static_cast<off_t>(4 * k_gib)) == 3);
        ::close(fd);
        set_mtime(root / name, 100, 0);
      }
      set_mtime(root, 100, 0);
    }
    const auto diffs = rafs::test::compare_trees(tmp / "a", tmp / "b");
    CHECK(diffs == std::vector<std::string>{"differs: contents differ at offset " +
                                            std::to_string(4 * k_gib + 2)});
  }
}
