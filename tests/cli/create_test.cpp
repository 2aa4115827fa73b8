// `rafs create`: tar layers (built here with libarchive, or by GNU tar) to
// a blob and bootstrap, checked by round trips through `rafs unpack` and GNU
// tar, by `rafs dump --json`, and against upstream nydus-image's images.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "format/bytes.hpp"
#include "format/digest.hpp"
#include "support/run.hpp"
#include "support/feature_layer.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"
#include "support/tree_compare.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rafs::test::run_rafs;
using rafs::test::RunResult;
using rafs::test::sh;
using rafs::test::shell_quote;
using rafs::test::TarEntry;
using rafs::test::TarFilter;
using rafs::test::TarFormat;
using rafs::test::TempDir;
using rafs::test::capability_value;
using rafs::test::feature_entries;
using rafs::test::join;
using rafs::test::k_long_dir;
using rafs::test::k_long_file;
using rafs::test::long_symlink_target;

namespace {

constexpr std::int64_t k_time = 1700000000;
constexpr std::size_t k_mib = 1 << 20;
constexpr std::size_t k_default_chunk = k_mib;

std::size_t count_lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

std::string sha256_hex(const fs::path& p) {
  auto bytes = rafs::test::read_file(p);
  rafs::Sha256 h;
  h.update(bytes);
  return rafs::to_hex(h.finalize());
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One `rafs create` into DIR/<tag>.boot and DIR/<tag>-blobs/, with -J.
struct Built {
  fs::path boot;
  fs::path blobs;
  RunResult run;
  json summary;

  // The one blob file in the blob dir.
  fs::path blob() const {
    auto files = files_in(blobs);
    REQUIRE(files.size() == 1);
    return files.front();
  }
};

Built create(const TempDir& tmp, const fs::path& layer, const std::vector<std::string>& extra = {},
             const std::string& tag = "img", const std::string& input = {}) {
  Built b;
  b.boot = tmp / (tag + ".boot");
  b.blobs = tmp / (tag + "-blobs");
  const fs::path summary = tmp / (tag + ".json");
  fs::create_directories(b.blobs);
  std::vector<std::string> args{"create", layer.string(), "-B", b.boot.string(), "-D", b.blobs.string(),
                                "-J", summary.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  b.run = run_rafs(args, input);
  if (b.run.exit_code == 0 && fs::exists(summary)) {
    b.summary = json::parse(rafs::test::read_text(summary));
  }
  return b;
}

json dump(const fs::path& boot, bool chunks = false) {
  std::vector<std::string> args{"dump", boot.string(), "--json"};
  if (chunks) {
    args.emplace_back("--chunks");
  }
  RunResult r = run_rafs(args);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

// dump's inodes by path (raw bytes for names that are not UTF-8).
std::map<std::string, json> by_path(const json& d) {
  std::map<std::string, json> out;
  for (const auto& inode : d.at("inodes")) {
    std::string key = inode.at("path").get<std::string>();
    if (inode.contains("path_hex")) {
      key = "hex:" + inode.at("path_hex").get<std::string>();
    }
    out[key] = inode;
  }
  return out;
}

void extract(const fs::path& tar, const fs::path& dir) {
  fs::create_directories(dir);
  RunResult x = sh("tar --xattrs --xattrs-include='*' --numeric-owner -xpf " + shell_quote(tar.string()) +
                   " -C " + shell_quote(dir.string()));
  INFO("tar -x " << tar.string() << ": " << x.err);
  REQUIRE(x.exit_code == 0);
}

// create, check -D, unpack, GNU-tar-extract the layer and the unpacked tar;
// returns compare_trees' differences.
std::vector<std::string> round_trip(const TempDir& tmp, const fs::path& layer,
                                    const std::vector<std::string>& extra = {},
                                    const std::string& tag = "rt") {
  Built b = create(tmp, layer, extra, tag);
  INFO("create " << layer.string() << ": " << b.run.err);
  REQUIRE(b.run.exit_code == 0);
  CHECK(b.run.err == "");
  RunResult check = run_rafs({"check", b.boot.string(), "-D", b.blobs.string()});
  INFO("check: " << check.out << check.err);
  CHECK(check.exit_code == 0);
  const fs::path out_tar = tmp / (tag + "-out.tar");
  RunResult unpack = run_rafs({"unpack", b.boot.string(), "-D", b.blobs.string(), "-o", out_tar.string()});
  INFO("unpack: " << unpack.err);
  REQUIRE(unpack.exit_code == 0);
  extract(layer, tmp / (tag + "-want"));
  extract(out_tar, tmp / (tag + "-got"));
  return rafs::test::compare_trees(tmp / (tag + "-want"), tmp / (tag + "-got"));
}


// A directory GNU tar turns into a layer: every file type, xattrs, a small
// sparse file, chunk-boundary sizes, long names.
void make_gnu_source(const fs::path& src) {
  using rafs::test::random_bytes;
  using rafs::test::write_file;
  auto put = [](const fs::path& p, const std::string& s) {
    write_file(p, std::vector<std::uint8_t>(s.begin(), s.end()));
  };
  fs::create_directories(src / "dir" / "sub");
  fs::create_directories(src / k_long_dir);
  put(src / "dir" / "text", "hello from GNU tar\n");
  put(src / "one-chunk", random_bytes(k_default_chunk, 11));
  put(src / "one-chunk-plus-one", random_bytes(k_default_chunk + 1, 12));
  put(src / "empty", "");
  put(src / k_long_file, "long name\n");
  put(src / "dir" / "xattrs", "x\n");
  const std::string q = shell_quote(src.string());
  RunResult r = sh("set -e; cd " + q +
                   "; truncate -s 3M sparse"
                   "; printf 'data in the middle' | dd of=sparse bs=1 seek=1048576 conv=notrunc 2>/dev/null"
                   "; ln dir/text dir/sub/hardlink; ln -s ../text dir/sub/symlink; ln -s " +
                   long_symlink_target() +
                   " long-target"
                   "; mkfifo fifo; mknod chr c 1 5; mknod blk b 7 0"
                   "; setfattr -n user.note -v hi dir/xattrs; setfattr -n trusted.t -v 1 dir"
                   "; chmod 0750 dir/sub; chown 3000000:4000000 dir/text"
                   "; touch -h -d @1700000000.5 dir/sub/symlink");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// The tar's bytes gzip'ed as two members (`cat a.gz b.gz`).
void make_two_member_gzip(const TempDir& tmp, const fs::path& tar, const fs::path& out) {
  auto bytes = rafs::test::read_file(tar);
  const auto half = static_cast<std::ptrdiff_t>(bytes.size() / 2 + 777);
  rafs::test::write_file(tmp / "part1", std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + half));
  rafs::test::write_file(tmp / "part2", std::vector<std::uint8_t>(bytes.begin() + half, bytes.end()));
  RunResult r = sh("cd " + shell_quote(tmp.path().string()) +
                   " && gzip -c part1 > p1.gz && gzip -c part2 > p2.gz && cat p1.gz p2.gz > " +
                   shell_quote(out.string()));
  REQUIRE(r.exit_code == 0);
}

std::uint64_t disk_usage_kib(const fs::path& p) {
  RunResult r = sh("du -sk " + shell_quote(p.string()) + " | cut -f1");
  REQUIRE(r.exit_code == 0);
  return std::stoull(r.out);
}

// Where two files' contents differ ("" when they are equal), reading only
// their data regions (SEEK_DATA / SEEK_HOLE): holes read as zeros.
std::string sparse_difference(const fs::path& a, const fs::path& b) {
  const std::uint64_t size = fs::file_size(a);
  if (fs::file_size(b) != size) {
    return "sizes differ";
  }
  struct Fd {
    int fd;
    explicit Fd(const fs::path& p) : fd(::open(p.c_str(), O_RDONLY)) { REQUIRE(fd >= 0); }
    ~Fd() { ::close(fd); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
  };
  Fd fa(a);
  Fd fb(b);
  std::vector<char> ba(k_mib);
  std::vector<char> bb(k_mib);
  // Compares [from, to) byte by byte.
  auto compare = [&](off_t from, off_t to) -> std::string {
    for (off_t off = from; off < to;) {
      const auto n = static_cast<std::size_t>(std::min<off_t>(to - off, static_cast<off_t>(k_mib)));
      if (::pread(fa.fd, ba.data(), n, off) != static_cast<ssize_t>(n) ||
          ::pread(fb.fd, bb.data(), n, off) != static_cast<ssize_t>(n)) {
        return "read error at " + std::to_string(off);
      }
      if (std::memcmp(ba.data(), bb.data(), n) != 0) {
        return "contents differ in [" + std::to_string(off) + ", +" + std::to_string(n) + ")";
      }
      off += static_cast<off_t>(n);
    }
    return "";
  };
  for (const Fd* f : {&fa, &fb}) {
    for (off_t off = 0; off < static_cast<off_t>(size);) {
      const off_t data = ::lseek(f->fd, off, SEEK_DATA);
      if (data < 0) {
        break; // only a hole left
      }
      const off_t hole = ::lseek(f->fd, data, SEEK_HOLE);
      REQUIRE(hole > data);
      if (std::string d = compare(data, hole); !d.empty()) {
        return d;
      }
      off = hole;
    }
  }
  return "";
}

// A layer of a few multi-chunk files for --chunk-size 0x1000.
std::vector<TarEntry> small_layer() {
  using namespace rafs::test;
  std::string text;
  for (int i = 0; i < 800; ++i) {
    text += "line " + std::to_string(i) + " of a compressible file\n";
  }
  return {tar_dir("./", 0755),
          tar_file("text", text),
          tar_file("random", random_bytes(10 * 4096 + 100, 21)),
          tar_file("exact", random_bytes(4096, 22)),
          tar_file("copy-of-exact", random_bytes(4096, 22)),
          tar_dir("d", 0755),
          tar_file("d/zeros", std::string(5 * 4096, '\0')),
          tar_symlink("d/link", "../text")};
}

std::vector<std::uint8_t> flip_middle(std::vector<std::uint8_t> bytes) {
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) {
    bytes[i] ^= 0x5A;
  }
  return bytes;
}

std::vector<std::uint8_t> cut(const std::vector<std::uint8_t>& bytes, std::size_t n) {
  return {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)};
}

// Inputs for the bad-layer cases, written under TMP/in: a good tar, its
// gzip and zstd (with checksum) forms made by the CLI tools, and a gzip of
// compressible text.
struct BadLayers {
  fs::path in;
  std::vector<std::uint8_t> good;
  std::vector<std::uint8_t> gz;
  std::vector<std::uint8_t> zst;
  std::vector<std::uint8_t> text_gz;

  explicit BadLayers(const TempDir& tmp) : in(tmp / "in") {
    using namespace rafs::test;
    fs::create_directories(in);
    good = make_tar({tar_dir("./", 0755), tar_file("big", random_bytes(200000, 51)), tar_file("small", "small\n")});
    std::string text;
    for (int i = 0; i < 20000; ++i) {
      text += std::to_string(i * 7919 % 10007) + " words\n";
    }
    const fs::path good_tar = put("good.tar", good);
    const fs::path text_tar = put("text.tar", make_tar({tar_file("text", text)}));
    const std::string q = shell_quote(in.string());
    REQUIRE(sh("cd " + q + " && gzip -c good.tar > good.tar.gz && zstd -q -c good.tar > good.tar.zst && "
               "gzip -n -c text.tar > text.tar.gz").exit_code == 0);
    gz = read_file(in / "good.tar.gz");
    zst = read_file(in / "good.tar.zst");
    text_gz = read_file(in / "text.tar.gz");
  }

  fs::path put(const std::string& name, const std::vector<std::uint8_t>& bytes) const {
    rafs::test::write_file(in / name, bytes);
    return in / name;
  }
};

// `rafs create LAYER` into an empty dir: exit 1, one line "rafs: LAYER: ...",
// and the dir still empty (no bootstrap, blob, summary or temp file).
void expect_rejected(const TempDir& tmp, const fs::path& layer) {
  const fs::path out = tmp / ("out-" + layer.filename().string());
  fs::create_directories(out);
  RunResult r = run_rafs({"create", layer.string(), "-B", (out / "boot").string(), "-D", out.string(), "-J",
                          (out / "summary.json").string()});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(count_lines(r.err) == 1);
  CHECK(r.err.rfind("rafs: " + layer.string() + ": ", 0) == 0);
  CHECK(fs::is_empty(out));
  CHECK(!fs::exists(out / "boot"));
}

} // namespace

TEST_SUITE("cli::create") {
  TEST_CASE("a libarchive PAX layer with every tar feature round-trips through create and unpack, "
            "plain, gzip, zstd and two-member gzip") {
    TempDir tmp;
    const auto entries = feature_entries(false);
    const fs::path plain = tmp / "layer.tar";
    rafs::test::write_tar(plain, entries);
    rafs::test::write_tar(tmp / "layer.tar.gz", entries, {TarFormat::pax, TarFilter::gzip});
    rafs::test::write_tar(tmp / "layer.tar.zst", entries, {TarFormat::pax, TarFilter::zstd});
    make_two_member_gzip(tmp, plain, tmp / "layer.two.gz");
    for (const char* name : {"layer.tar", "layer.tar.gz", "layer.tar.zst", "layer.two.gz"}) {
      CAPTURE(name);
      TempDir work;
      auto diffs = round_trip(work, tmp / name);
      INFO(join(diffs));
      CHECK(diffs.empty());
    }
  }

  // Nanoseconds live only in PAX mtime records, so unpack must write them for
  // every entry, not only for entries that need an extended header anyway.
  TEST_CASE("PAX mtimes with nanoseconds survive the round trip") {
    TempDir tmp;
    rafs::test::write_tar(tmp / "layer.tar", feature_entries(true));
    auto diffs = round_trip(tmp, tmp / "layer.tar");
    INFO(join(diffs));
    CHECK(diffs.empty());
  }

  TEST_CASE("a libarchive pax_restricted layer and a GNU-format layer with long names round-trip") {
    TempDir tmp;
    using namespace rafs::test;
    std::vector<TarEntry> gnu{tar_dir("./", 0755),
                              tar_file("big-ids", "base-256 uid\n").with_owner(3000000, 4000000),
                              tar_chardev("chr", 1, 7),
                              tar_fifo("fifo"),
                              tar_dir("long", 0755),
                              tar_dir(k_long_dir, 0755),
                              tar_file(k_long_file, "GNU ././@LongLink name\n"),
                              tar_symlink("long/symlink", long_symlink_target()),
                              tar_hardlink("long/hardlink", k_long_file)};
    write_tar(tmp / "gnu.tar", gnu, {TarFormat::gnutar, TarFilter::none});
    write_tar(tmp / "restricted.tar", feature_entries(false), {TarFormat::pax_restricted, TarFilter::none});
    for (const char* name : {"gnu.tar", "restricted.tar"}) {
      CAPTURE(name);
      TempDir work;
      auto diffs = round_trip(work, tmp / name);
      INFO(join(diffs));
      CHECK(diffs.empty());
    }
  }

  TEST_CASE("a layer GNU tar made in GNU format (old-style sparse, ././@LongLink) round-trips") {
    TempDir tmp;
    make_gnu_source(tmp / "src");
    RunResult gnu = sh("tar --format=gnu --sparse --numeric-owner -cf " + shell_quote((tmp / "gnu.tar").string()) +
                       " -C " + shell_quote((tmp / "src").string()) + " .");
    REQUIRE(gnu.exit_code == 0);
    auto diffs = round_trip(tmp, tmp / "gnu.tar");
    INFO(join(diffs));
    CHECK(diffs.empty());
  }

  // GNU tar's POSIX layers carry sub-second mtimes for every entry.
  TEST_CASE("layers GNU tar made in POSIX format (xattrs, PAX sparse, sub-second mtimes) round-trip, "
            "plain and gzip") {
    TempDir tmp;
    make_gnu_source(tmp / "src");
    RunResult posix = sh("tar --xattrs --sparse --numeric-owner -cf " + shell_quote((tmp / "posix.tar").string()) +
                         " -C " + shell_quote((tmp / "src").string()) + " .");
    REQUIRE(posix.exit_code == 0);
    RunResult gz = sh("gzip -c " + shell_quote((tmp / "posix.tar").string()) + " > " +
                      shell_quote((tmp / "posix.tar.gz").string()));
    REQUIRE(gz.exit_code == 0);
    for (const char* name : {"posix.tar", "posix.tar.gz"}) {
      CAPTURE(name);
      TempDir work;
      auto diffs = round_trip(work, tmp / name);
      INFO(join(diffs));
      CHECK(diffs.empty());
    }
  }

  TEST_CASE("a 5 GiB sparse file from GNU tar stays sparse through create, check and unpack") {
    TempDir tmp;
    const fs::path src = tmp / "src";
    fs::create_directories(src);
    rafs::test::write_file(tmp / "data4k", [] {
      auto s = rafs::test::random_bytes(4096, 31);
      return std::vector<std::uint8_t>(s.begin(), s.end());
    }());
    const std::string q = shell_quote(src.string());
    // 4.5 GiB = 1179648 blocks of 4 KiB. Whole-second mtimes: this case is
    // about holes.
    RunResult made = sh("set -e; truncate -s 5G " + q + "/huge; dd if=" + shell_quote((tmp / "data4k").string()) +
                        " of=" + q + "/huge bs=4096 seek=1179648 conv=notrunc 2>/dev/null; touch -d @1700000000 " +
                        q + "/huge " + q + "; tar --xattrs --sparse --numeric-owner -cf " +
                        shell_quote((tmp / "huge.tar").string()) + " -C " + q + " .");
    REQUIRE(made.exit_code == 0);
    CHECK(fs::file_size(tmp / "huge.tar") < k_mib);

    Built b = create(tmp, tmp / "huge.tar");
    INFO(b.run.err);
    REQUIRE(b.run.exit_code == 0);
    CHECK(fs::file_size(b.blob()) < k_mib);
    CHECK(b.summary.at("dedup_hits").get<std::uint64_t>() >= 5000);
    CHECK(b.summary.at("chunks") == 5120);
    CHECK(b.summary.at("chunks_stored") == 2);
    CHECK(b.summary.at("file_bytes") == 5ull << 30);
    auto inodes = by_path(dump(b.boot));
    CHECK(inodes.at("/huge").at("size") == 5ull << 30);
    RunResult check = run_rafs({"check", b.boot.string(), "-D", b.blobs.string()});
    CHECK(check.exit_code == 0);

    // A dense unpack would write 5 GiB: the file-size limit (64 or 128 MiB,
    // by the shell's ulimit unit) stops it early.
    const fs::path out_tar = tmp / "out.tar";
    RunResult unpack = sh("ulimit -f 131072; exec " + shell_quote(RAFS_BINARY) + " unpack " +
                          shell_quote(b.boot.string()) + " -D " + shell_quote(b.blobs.string()) + " -o " +
                          shell_quote(out_tar.string()));
    INFO("unpack: exit " << unpack.exit_code << " " << unpack.err);
    REQUIRE(unpack.exit_code == 0);
    CHECK(fs::file_size(out_tar) < 16 * k_mib);
    extract(tmp / "huge.tar", tmp / "want");
    extract(out_tar, tmp / "got");
    CHECK(disk_usage_kib(tmp / "want") < 16 * 1024);
    CHECK(disk_usage_kib(tmp / "got") < 16 * 1024);
    // compare_trees would read 2 x 5 GiB of holes (most of a minute): the
    // huge file is compared here by its data regions, the rest by it.
    for (const char* p : {".", "huge"}) {
      CAPTURE(p);
      struct stat want {};
      struct stat got {};
      REQUIRE(::lstat((tmp / "want" / p).c_str(), &want) == 0);
      REQUIRE(::lstat((tmp / "got" / p).c_str(), &got) == 0);
      CHECK(got.st_mode == want.st_mode);
      CHECK(got.st_uid == want.st_uid);
      CHECK(got.st_gid == want.st_gid);
      CHECK(got.st_mtim.tv_sec == want.st_mtim.tv_sec);
      CHECK(got.st_mtim.tv_nsec == want.st_mtim.tv_nsec);
    }
    CHECK(fs::file_size(tmp / "got" / "huge") == 5ull << 30);
    CHECK(sparse_difference(tmp / "want" / "huge", tmp / "got" / "huge") == "");
    fs::remove(tmp / "want" / "huge");
    fs::remove(tmp / "got" / "huge");
    auto diffs = rafs::test::compare_trees(tmp / "want", tmp / "got", {true});
    INFO(join(diffs));
    CHECK(diffs.empty());
  }

  TEST_CASE("every compressor and digester pair round-trips a multi-chunk layer and check -D passes") {
    TempDir tmp;
    rafs::test::write_tar(tmp / "small.tar", small_layer());
    for (const char* compressor : {"none", "lz4_block", "zstd"}) {
      for (const char* digester : {"blake3", "sha256"}) {
        CAPTURE(compressor);
        CAPTURE(digester);
        TempDir work;
        auto diffs = round_trip(work, tmp / "small.tar",
                                {"--chunk-size", "0x1000", "--compressor", compressor, "--digester", digester});
        INFO(join(diffs));
        CHECK(diffs.empty());
        json d = dump(work / "rt.boot", true);
        CHECK(d.at("superblock").at("compressor") == compressor);
        CHECK(d.at("superblock").at("digester") == digester);
        CHECK(d.at("superblock").at("chunk_size") == 0x1000);
        auto inodes = by_path(d);
        const json& text = inodes.at("/text");
        REQUIRE(text.at("chunks").size() == text.at("chunk_count").get<std::size_t>());
        CHECK(text.at("chunk_count") == (text.at("size").get<std::uint64_t>() + 4095) / 4096);
        // Text compresses with lz4 and zstd; random data is stored raw.
        CHECK(text.at("chunks").at(0).at("compressed") == (std::string(compressor) != "none"));
        CHECK(inodes.at("/random").at("chunks").at(0).at("compressed") == false);
      }
    }
  }

  TEST_CASE("the same layer gives byte-identical bootstrap and blob with 1 or 2 threads and on a rerun") {
    TempDir tmp;
    auto entries = small_layer();
    for (std::uint32_t i = 0; i < 8; ++i) {
      entries.push_back(rafs::test::tar_file("many/f" + std::to_string(i),
                                             rafs::test::random_bytes(40 * 4096 + i, 100 + i)));
    }
    entries.insert(entries.begin() + 1, rafs::test::tar_dir("many", 0755));
    rafs::test::write_tar(tmp / "layer.tar", entries);
    const std::vector<std::string> common{"--chunk-size", "0x1000"};
    auto with = [&](std::vector<std::string> extra) {
      extra.insert(extra.begin(), common.begin(), common.end());
      return extra;
    };
    Built one = create(tmp, tmp / "layer.tar", with({"--threads", "1"}), "t1");
    Built two = create(tmp, tmp / "layer.tar", with({"--threads", "2"}), "t2");
    Built again = create(tmp, tmp / "layer.tar", with({"--threads", "2"}), "t2again");
    Built many = create(tmp, tmp / "layer.tar", with({"--threads", "7"}), "t7");
    for (const Built* b : {&one, &two, &again, &many}) {
      REQUIRE(b->run.exit_code == 0);
    }
    const auto boot = rafs::test::read_file(one.boot);
    const auto blob = rafs::test::read_file(one.blob());
    CHECK(blob.size() > 300 * 4096);
    for (const Built* b : {&two, &again, &many}) {
      CHECK(rafs::test::read_file(b->boot) == boot);
      CHECK(rafs::test::read_file(b->blob()) == blob);
      CHECK(b->blob().filename() == one.blob().filename());
    }
  }

  TEST_CASE("a layer of 20023 entries gives the same image with 1 or 2 threads, links and xattrs spanning both halves") {
    // Enough inodes for the bootstrap to be filled on two threads (8192 or
    // more each): a hard link whose first link is in the first half and
    // whose other is in the second, and the only xattr in the second half.
    TempDir tmp;
    namespace t = rafs::test;
    std::vector<t::TarEntry> entries{t::tar_dir("./", 0755)};
    for (int d = 0; d < 20; ++d) {
      const std::string dir = "d" + std::to_string(d + 10);
      entries.push_back(t::tar_dir(dir));
      for (int f = 0; f < 1000; ++f) {
        const std::string path = dir + "/f" + std::to_string(f + 1000);
        switch (f % 4) {
        case 0: entries.push_back(t::tar_file(path, "file " + path)); break;
        case 1: entries.push_back(t::tar_symlink(path, "f" + std::to_string(f + 999))); break;
        case 2: entries.push_back(t::tar_file(path, t::random_bytes(4096u + unsigned(f), unsigned(f)))); break;
        default: entries.push_back(t::tar_file(path, "")); break;
        }
      }
    }
    entries.push_back(t::tar_hardlink("d29/link", "d10/f1000"));
    entries.push_back(t::tar_file("d29/xattr", "x").with_xattr("user.where", "second half"));
    t::write_tar(tmp / "layer.tar", entries);
    const std::vector<std::string> flags{"--chunk-size", "0x1000", "--compressor", "none"};
    auto with = [&](const char* threads) {
      std::vector<std::string> args = flags;
      args.insert(args.end(), {"--threads", threads});
      return args;
    };
    Built one = create(tmp, tmp / "layer.tar", with("1"), "t1");
    Built two = create(tmp, tmp / "layer.tar", with("2"), "t2");
    REQUIRE(one.run.exit_code == 0);
    REQUIRE(two.run.exit_code == 0);
    CHECK(rafs::test::read_file(two.boot) == rafs::test::read_file(one.boot));
    CHECK(rafs::test::read_file(two.blob()) == rafs::test::read_file(one.blob()));
    auto check = run_rafs({"check", two.boot.string(), "-D", two.blobs.string()});
    INFO(check.err);
    CHECK(check.exit_code == 0);
    json d = dump(two.boot);
    const json& sb = d.at("superblock");
    CHECK(sb.at("inode_table_entries") == 20023); // root, 20 dirs, 20,000 entries, the link, xattr
    CHECK(sb.at("inodes_count") == 20022);        // the link shares its first link's ino
    const auto names = sb.at("flag_names").get<std::vector<std::string>>();
    CHECK(std::count(names.begin(), names.end(), "HAS_XATTR") == 1);
    auto inodes = by_path(d);
    CHECK(inodes.at("/d29/link").at("ino") == inodes.at("/d10/f1000").at("ino"));
    CHECK(inodes.at("/d29/link").at("nlink") == 2);
  }

  TEST_CASE("a file present twice under two paths is stored once") {
    TempDir tmp;
    const std::string content = rafs::test::random_bytes(3 * 4096, 41);
    rafs::test::write_tar(tmp / "layer.tar", {rafs::test::tar_dir("./", 0755),
                                              rafs::test::tar_file("first", content),
                                              rafs::test::tar_dir("other", 0755),
                                              rafs::test::tar_file("other/second", content)});
    Built b = create(tmp, tmp / "layer.tar", {"--chunk-size", "0x1000", "--compressor", "none"});
    REQUIRE(b.run.exit_code == 0);
    CHECK(b.summary.at("chunks") == 6);
    CHECK(b.summary.at("chunks_stored") == 3);
    CHECK(b.summary.at("dedup_hits") == 3);
    CHECK(b.summary.at("bytes_out") == 3 * 4096);
    CHECK(fs::file_size(b.blob()) == 3 * 4096);
    auto inodes = by_path(dump(b.boot, true));
    const json& first = inodes.at("/first");
    const json& second = inodes.at("/other/second");
    CHECK(first.at("ino") != second.at("ino"));
    CHECK(first.at("nlink") == 1);
    CHECK(first.at("chunks") == second.at("chunks"));
  }

  TEST_CASE("an image unpacked from upstream nydus-image and created again matches it inode by inode") {
    SKIP_WITHOUT_FIXTURES();
    struct Fixture {
      const char* name;
      std::vector<std::string> args;
    };
    const Fixture fixtures[] = {
        {"sha256-nocompress-repeatable", {"--compressor", "none", "--digester", "sha256", "--repeatable"}},
        {"blake3-lz4_block-non_repeatable", {"--compressor", "lz4_block", "--digester", "blake3"}},
    };
    for (const Fixture& f : fixtures) {
      CAPTURE(f.name);
      TempDir tmp;
      const fs::path upstream = nydus / "repeatable" / f.name;
      RunResult unpack = run_rafs({"unpack", upstream.string(), "-D", (nydus / "repeatable" / "blobs").string(),
                                   "-o", (tmp / "layer.tar").string()});
      REQUIRE(unpack.exit_code == 0);
      Built b = create(tmp, tmp / "layer.tar", f.args);
      INFO(b.run.err);
      REQUIRE(b.run.exit_code == 0);
      auto want = by_path(dump(upstream, true));
      auto got = by_path(dump(b.boot, true));
      std::set<std::string> want_paths;
      std::set<std::string> got_paths;
      for (const auto& [p, j] : want) {
        want_paths.insert(p);
      }
      for (const auto& [p, j] : got) {
        got_paths.insert(p);
      }
      REQUIRE(want_paths == got_paths);
      for (const auto& [path, w] : want) {
        CAPTURE(path);
        const json& g = got.at(path);
        for (const char* key : {"type", "mode", "size", "nlink", "index", "ino", "digest"}) {
          CAPTURE(key);
          CHECK(g.at(key) == w.at(key));
        }
        std::vector<std::string> want_ids;
        std::vector<std::string> got_ids;
        for (const auto& c : w.at("chunks")) {
          want_ids.push_back(c.at("block_id").get<std::string>());
        }
        for (const auto& c : g.at("chunks")) {
          got_ids.push_back(c.at("block_id").get<std::string>());
        }
        CHECK(got_ids == want_ids);
      }
    }
  }

  TEST_CASE("bad layers fail with one line naming the layer and leave no output behind") {
    TempDir tmp;
    using namespace rafs::test;
    BadLayers bad(tmp);
    const auto& good = bad.good;
    const auto& zst = bad.zst;
    const auto& gz = bad.gz;
    const std::vector<fs::path> layers{
        bad.put("truncated-data.tar", cut(good, 100000)),
        bad.put("truncated-header.tar", cut(good, 1024 + 300)),
        bad.put("bad-block-type.tar.gz", [&] {
          auto bytes = bad.text_gz;
          bytes.at(10) |= 0x06; // the first deflate block's type: 3, which is invalid
          return bytes;
        }()),
        bad.put("truncated.tar.gz", cut(gz, gz.size() / 2)),
        bad.put("no-trailer.tar.gz", cut(gz, gz.size() - 8)),
        bad.put("corrupt.tar.zst", flip_middle(zst)),
        bad.put("truncated.tar.zst", cut(zst, zst.size() / 2)),
        bad.put("garbage.bin", [] {
          auto s = random_bytes(20000, 52);
          return std::vector<std::uint8_t>(s.begin(), s.end());
        }()),
        bad.put("dotdot.tar", make_tar({tar_dir("a", 0755), tar_file("a/../../escape", "x\n")})),
        bad.put("absolute.tar", make_tar({tar_file("/etc/passwd", "x\n")})),
        bad.put("dotdot-hardlink.tar", make_tar({tar_file("f", "x\n"), tar_hardlink("g", "../f")})),
        bad.in / "does-not-exist.tar",
    };
    for (const fs::path& layer : layers) {
      CAPTURE(layer.filename().string());
      expect_rejected(tmp, layer);
    }
  }

  // The tree reports the missing target; the message must still name the layer.
  TEST_CASE("a hard link to a path that does not exist (yet) is rejected naming the layer") {
    TempDir tmp;
    using namespace rafs::test;
    BadLayers bad(tmp);
    const fs::path dangling =
        bad.put("dangling-hardlink.tar", make_tar({tar_file("f", "x\n"), tar_hardlink("g", "nowhere")}));
    const fs::path before_target =
        bad.put("hardlink-before-target.tar", make_tar({tar_hardlink("g", "f"), tar_file("f", "x\n")}));
    for (const fs::path& layer : {dangling, before_target}) {
      CAPTURE(layer.filename().string());
      expect_rejected(tmp, layer);
    }
  }

  // Deflate data that decodes but whose CRC-32 does not match: the trailer
  // after the end-of-archive blocks must be read and checked too.
  TEST_CASE("a gzip layer whose CRC-32 does not match is rejected") {
    TempDir tmp;
    BadLayers bad(tmp);
    // Random contents are stored, not compressed: flipped bytes still
    // inflate. Flipped bytes in compressed text happen to inflate too.
    for (const fs::path& layer : {bad.put("bad-crc.tar.gz", flip_middle(bad.gz)),
                                  bad.put("bad-crc-text.tar.gz", flip_middle(bad.text_gz))}) {
      CAPTURE(layer.filename().string());
      REQUIRE(sh("gzip -t " + shell_quote(layer.string()) + " 2>/dev/null").exit_code != 0);
      expect_rejected(tmp, layer);
    }
  }

  // The 8-byte gzip trailer: CRC-32 then the length mod 2^32. A change to
  // either one alone must be caught (ISA-L inflates; it checks both).
  TEST_CASE("a gzip layer whose trailer CRC-32 or length alone is wrong is rejected") {
    TempDir tmp;
    BadLayers bad(tmp);
    auto flip_at_end = [&](std::size_t from_end) {
      std::vector<std::uint8_t> b = bad.gz;
      b[b.size() - from_end] ^= 0x01;
      return b;
    };
    for (const fs::path& layer : {bad.put("trailer-crc.tar.gz", flip_at_end(8)),
                                  bad.put("trailer-size.tar.gz", flip_at_end(1))}) {
      CAPTURE(layer.filename().string());
      expect_rejected(tmp, layer);
      fs::create_directories(tmp / "again");
      RunResult r = run_rafs({"create", layer.string(), "-B", (tmp / "again" / "b").string(), "-D",
                              (tmp / "again").string()});
      CHECK(r.err == "rafs: " + layer.string() + ": corrupt gzip stream: CRC-32 or length mismatch\n");
    }
  }

  TEST_CASE("a bootstrap or blob path that cannot be created fails with exit 1 and leaves nothing behind") {
    TempDir tmp;
    rafs::test::write_tar(tmp / "layer.tar", small_layer());
    rafs::test::write_file(tmp / "plain-file", {});
    const fs::path out = tmp / "out";
    fs::create_directories(out);
    // Under a regular file: no directory can be made there, even by root.
    const std::string under_file = (tmp / "plain-file" / "sub").string();
    const std::vector<std::vector<std::string>> cases{
        {"-B", under_file + "/boot", "-D", out.string()},
        {"-B", (out / "boot").string(), "-b", under_file + "/blob"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.at(1));
      CAPTURE(c.at(3));
      std::vector<std::string> args{"create", (tmp / "layer.tar").string()};
      args.insert(args.end(), c.begin(), c.end());
      RunResult r = run_rafs(args);
      INFO(r.err);
      CHECK(r.exit_code == 1);
      CHECK(count_lines(r.err) == 1);
      CHECK(r.err.rfind("rafs: ", 0) == 0);
      CHECK(r.err.find(under_file) != std::string::npos);
      CHECK(fs::is_empty(out));
    }
  }

  // The -J file is opened before the build, so an unwritable path fails
  // before any bootstrap or blob exists.
  TEST_CASE("a -J path that cannot be written fails with exit 1 and leaves no image behind") {
    TempDir tmp;
    rafs::test::write_tar(tmp / "layer.tar", small_layer());
    rafs::test::write_file(tmp / "plain-file", {});
    const fs::path out = tmp / "out";
    fs::create_directories(out);
    const std::string summary = (tmp / "plain-file" / "sub" / "summary.json").string();
    RunResult r = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (out / "boot").string(), "-D",
                            out.string(), "-J", summary});
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.rfind("rafs: ", 0) == 0);
    CHECK(r.err.find((tmp / "plain-file" / "sub").string()) != std::string::npos);
    CHECK(fs::is_empty(out));
  }

  TEST_CASE("bad usage exits 2 and writes nothing: chunk sizes, compressor, blob dir that is a file") {
    TempDir tmp;
    rafs::test::write_tar(tmp / "layer.tar", small_layer());
    rafs::test::write_file(tmp / "plain-file", {});
    const fs::path out = tmp / "out";
    fs::create_directories(out);
    const std::vector<std::vector<std::string>> cases{
        {"--chunk-size", "0x3000"},      {"--chunk-size", "12288"},     {"--chunk-size", "0x800"},
        {"--chunk-size", "0x2000000"},   {"--chunk-size", "1M"},        {"--chunk-size", ""},
        {"--chunk-size", "-4096"},       {"--compressor", "gzip"},      {"--digester", "md5"},
        {"--threads", "0"},              {"--whiteout-spec", "aufs"},
    };
    for (const auto& extra : cases) {
      CAPTURE(extra.at(0));
      CAPTURE(extra.at(1));
      std::vector<std::string> args{"create", (tmp / "layer.tar").string(), "-B", (out / "boot").string(),
                                    "-D", out.string()};
      args.insert(args.end(), extra.begin(), extra.end());
      RunResult r = run_rafs(args);
      CHECK(r.exit_code == 2);
      CHECK(r.err != "");
      CHECK(fs::is_empty(out));
    }
    RunResult not_dir = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (out / "boot").string(), "-D",
                                  (tmp / "plain-file").string()});
    CHECK(not_dir.exit_code == 2);
    CHECK(fs::is_empty(out));
    // Valid spellings of a chunk size: decimal and hex.
    for (const char* size : {"4096", "0x4000", "0x1000000"}) {
      CAPTURE(size);
      TempDir work;
      Built b = create(work, tmp / "layer.tar", {"--chunk-size", size});
      REQUIRE(b.run.exit_code == 0);
      CHECK(dump(b.boot).at("superblock").at("chunk_size") == std::stoul(size, nullptr, 0));
    }
  }

  TEST_CASE("- reads the layer from stdin, giving the same image as the file") {
    TempDir tmp;
    using namespace rafs::test;
    write_tar(tmp / "layer.tar.gz", feature_entries(), {TarFormat::pax, TarFilter::gzip});
    const auto bytes = read_file(tmp / "layer.tar.gz");
    Built from_file = create(tmp, tmp / "layer.tar.gz", {}, "file");
    Built from_stdin = create(tmp, "-", {}, "stdin", std::string(bytes.begin(), bytes.end()));
    INFO(from_stdin.run.err);
    REQUIRE(from_file.run.exit_code == 0);
    REQUIRE(from_stdin.run.exit_code == 0);
    CHECK(from_stdin.run.err == "");
    CHECK(read_file(from_stdin.boot) == read_file(from_file.boot));
    CHECK(read_file(from_stdin.blob()) == read_file(from_file.blob()));
    CHECK(from_stdin.summary.at("entries") == from_file.summary.at("entries"));
    CHECK(from_stdin.summary.at("bytes_in") == bytes.size());
  }

  TEST_CASE("-J reports the bootstrap, the blob id (its file name and sha256) and the layer's counts") {
    TempDir tmp;
    using namespace rafs::test;
    const std::string a = random_bytes(4096, 61);
    const std::string b2 = random_bytes(4096, 62);
    const std::vector<TarEntry> entries{tar_dir("./", 0755), tar_file("a", a + b2), tar_dir("d", 0755),
                                        tar_file("d/same-as-a", a + b2), tar_file("d/b-then-a", b2 + a),
                                        tar_symlink("d/link", "../a"), tar_file("empty", "")};
    write_tar(tmp / "layer.tar", entries, {TarFormat::pax, TarFilter::none, false});
    Built b = create(tmp, tmp / "layer.tar", {"--chunk-size", "0x1000", "--compressor", "none"});
    INFO(b.run.err);
    REQUIRE(b.run.exit_code == 0);
    const json& j = b.summary;
    INFO(j.dump(2));
    CHECK(j.at("version").get<std::string>().rfind("rafs ", 0) == 0);
    CHECK(j.at("bootstrap") == b.boot.string());
    REQUIRE(j.at("blobs").size() == 1);
    const std::string id = j.at("blobs").at(0).get<std::string>();
    CHECK(b.blob().filename().string() == id);
    CHECK(sha256_hex(b.blob()) == id);
    CHECK(j.at("fs_version") == "5");
    CHECK(j.at("compressor") == "none");
    CHECK(j.at("digester") == "blake3");
    CHECK(j.at("entries") == entries.size());
    CHECK(j.at("bytes_in") == fs::file_size(tmp / "layer.tar"));
    CHECK(j.at("file_bytes") == 3 * 8192);
    CHECK(j.at("chunks") == 6);
    CHECK(j.at("chunks_stored") == 2);
    CHECK(j.at("dedup_hits") == 4);
    CHECK(j.at("bytes_out") == 8192);
    CHECK(j.at("bytes_out") == fs::file_size(b.blob()));
    json d = dump(b.boot);
    REQUIRE(d.at("blobs").size() == 1);
    CHECK(d.at("blobs").at(0).at("id") == id);
  }

  TEST_CASE("without -B the bootstrap goes into the blob dir, named by its sha256") {
    TempDir tmp;
    rafs::test::write_tar(tmp / "layer.tar", small_layer());
    fs::create_directories(tmp / "blobs");
    RunResult r = run_rafs({"create", (tmp / "layer.tar").string(), "-D", (tmp / "blobs").string(), "-J",
                            (tmp / "summary.json").string()});
    REQUIRE(r.exit_code == 0);
    json j = json::parse(rafs::test::read_text(tmp / "summary.json"));
    const fs::path boot = j.at("bootstrap").get<std::string>();
    CHECK(boot.parent_path() == tmp / "blobs");
    CHECK(boot.filename().string() == sha256_hex(boot));
    CHECK(files_in(tmp / "blobs").size() == 2);
    CHECK(run_rafs({"check", boot.string(), "-D", (tmp / "blobs").string()}).exit_code == 0);
  }

  TEST_CASE("-b writes the blob to exactly that path, its name need not be the blob id") {
    TempDir tmp;
    rafs::test::write_tar(tmp / "layer.tar", small_layer());
    fs::create_directories(tmp / "out");
    RunResult r = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "out" / "boot").string(), "-b",
                            (tmp / "out" / "my.blob").string(), "-J", (tmp / "summary.json").string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(files_in(tmp / "out") == std::vector<fs::path>{tmp / "out" / "boot", tmp / "out" / "my.blob"});
    json j = json::parse(rafs::test::read_text(tmp / "summary.json"));
    REQUIRE(j.at("blobs").size() == 1);
    CHECK(j.at("blobs").at(0) == sha256_hex(tmp / "out" / "my.blob"));
    CHECK(dump(tmp / "out" / "boot").at("blobs").at(0).at("id") == j.at("blobs").at(0));
  }

  TEST_CASE("uid and gid above 2097151 survive, --repeatable stores 0:0 and clears EXPLICIT_UID_GID") {
    TempDir tmp;
    using namespace rafs::test;
    write_tar(tmp / "layer.tar", {tar_dir("./", 0755).with_owner(2097152, 2097153),
                                  tar_file("big", "x\n").with_owner(3000000, 4000000),
                                  tar_file("max", "y\n").with_owner(4294967294, 4294967295)});
    Built plain = create(tmp, tmp / "layer.tar", {}, "plain");
    Built repeatable = create(tmp, tmp / "layer.tar", {"--repeatable"}, "rep");
    REQUIRE(plain.run.exit_code == 0);
    REQUIRE(repeatable.run.exit_code == 0);
    json dp = dump(plain.boot);
    auto names = [](const json& d) {
      return d.at("superblock").at("flag_names").get<std::vector<std::string>>();
    };
    auto has = [](const std::vector<std::string>& v, const char* s) {
      return std::find(v.begin(), v.end(), s) != v.end();
    };
    CHECK(has(names(dp), "EXPLICIT_UID_GID"));
    auto p = by_path(dp);
    CHECK(p.at("/").at("uid") == 2097152);
    CHECK(p.at("/").at("gid") == 2097153);
    CHECK(p.at("/big").at("uid") == 3000000);
    CHECK(p.at("/big").at("gid") == 4000000);
    CHECK(p.at("/max").at("uid") == 4294967294u);
    CHECK(p.at("/max").at("gid") == 4294967295u);
    json dr = dump(repeatable.boot);
    CHECK(!has(names(dr), "EXPLICIT_UID_GID"));
    for (const auto& inode : dr.at("inodes")) {
      CAPTURE(inode.at("path"));
      CHECK(inode.at("uid") == 0);
      CHECK(inode.at("gid") == 0);
    }
  }

  // libarchive reports both the LIBARCHIVE.xattr.* and the SCHILY.xattr.*
  // copy of each xattr: one warning per skipped name, not two.
  TEST_CASE("xattr names RAFS cannot hold (macOS SCHILY.xattr.foo) are skipped with one warning each") {
    SKIP_WITHOUT_FIXTURES();
    TempDir tmp;
    const fs::path layer = nydus / "tar" / "all-entry-type-macos.tar";
    Built b = create(tmp, layer);
    INFO(b.run.err);
    REQUIRE(b.run.exit_code == 0);
    const auto warnings = lines_of(b.run.err);
    // One warning per (entry, xattr): hardlink2.txt, dir3, xfile.txt,
    // hardlink1.txt, hardlink3.txt and symlink1.txt carry one each.
    CHECK(warnings.size() == 6);
    for (const auto& w : warnings) {
      CHECK(w.rfind("rafs: warning: ", 0) == 0);
      CHECK(w.find(layer.string()) != std::string::npos);
    }
    for (const char* name : {"'hardlink3'", "'dir'", "'symlink'"}) {
      CAPTURE(name);
      CHECK(std::any_of(warnings.begin(), warnings.end(),
                        [&](const std::string& w) { return w.find(name) != std::string::npos; }));
    }
    json d = dump(b.boot);
    for (const auto& inode : d.at("inodes")) {
      CHECK(inode.at("xattrs").empty());
    }
    CHECK(run_rafs({"check", b.boot.string(), "-D", b.blobs.string()}).exit_code == 0);
    // The Linux twin of this layer (no xattrs) builds without a warning.
    Built linux_layer = create(tmp, nydus / "tar" / "all-entry-type.tar", {}, "linux");
    REQUIRE(linux_layer.run.exit_code == 0);
    CHECK(linux_layer.run.err == "");
  }

  TEST_CASE("missing parent directories are created 0755 root:root with mtime 0 until their entry comes") {
    TempDir tmp;
    using namespace rafs::test;
    write_tar(tmp / "layer.tar", {tar_file("a/b/c/file", "deep\n").with_owner(1000, 1000),
                                  tar_dir("a/b", 0700).with_owner(5, 6).with_mtime(k_time + 1, 42)});
    Built b = create(tmp, tmp / "layer.tar");
    REQUIRE(b.run.exit_code == 0);
    auto p = by_path(dump(b.boot));
    for (const char* implicit : {"/", "/a", "/a/b/c"}) {
      CAPTURE(implicit);
      const json& n = p.at(implicit);
      CHECK(n.at("type") == "dir");
      CHECK(n.at("mode") == "0755");
      CHECK(n.at("uid") == 0);
      CHECK(n.at("gid") == 0);
      CHECK(n.at("mtime") == 0);
    }
    CHECK(p.at("/a/b").at("mode") == "0700");
    CHECK(p.at("/a/b").at("uid") == 5);
    CHECK(p.at("/a/b").at("mtime") == k_time + 1);
    CHECK(p.at("/a/b").at("mtime_nsec") == 42);
    CHECK(p.at("/a/b/c/file").at("uid") == 1000);
    CHECK(p.size() == 5);
  }

  TEST_CASE("duplicate entries: the later one wins, and a directory over a directory keeps its children") {
    TempDir tmp;
    using namespace rafs::test;
    write_tar(tmp / "layer.tar", {tar_dir("d", 0700), tar_file("d/child", "child\n"), tar_file("f", "old\n"),
                                  tar_file("f", "new and longer\n", 0600), tar_dir("d", 0751),
                                  tar_symlink("s", "first"), tar_symlink("s", "second")});
    Built b = create(tmp, tmp / "layer.tar");
    REQUIRE(b.run.exit_code == 0);
    auto p = by_path(dump(b.boot));
    CHECK(p.at("/d").at("mode") == "0751");
    CHECK(p.at("/d/child").at("size") == 6);
    CHECK(p.at("/f").at("size") == 15);
    CHECK(p.at("/f").at("mode") == "0600");
    CHECK(p.at("/s").at("symlink") == "second");
    CHECK(p.size() == 5);
    CHECK(b.summary.at("entries") == 7);
  }

  TEST_CASE("hard links to symlinks and devices become separate inodes, a regular file's links share one") {
    TempDir tmp;
    using namespace rafs::test;
    write_tar(tmp / "layer.tar", {tar_dir("./", 0755), tar_symlink("sym", "target"), tar_hardlink("sym2", "sym"),
                                  tar_chardev("chr", 4, 5), tar_hardlink("chr2", "chr"), tar_fifo("fifo"),
                                  tar_hardlink("fifo2", "fifo"), tar_dir("z", 0755), tar_file("z/file", "data\n"),
                                  tar_hardlink("a-link", "z/file")});
    Built b = create(tmp, tmp / "layer.tar");
    INFO(b.run.err);
    REQUIRE(b.run.exit_code == 0);
    CHECK(run_rafs({"check", b.boot.string(), "-D", b.blobs.string()}).exit_code == 0);
    auto p = by_path(dump(b.boot));
    for (const char* path : {"/sym", "/sym2", "/chr", "/chr2", "/fifo", "/fifo2"}) {
      CAPTURE(path);
      CHECK(p.at(path).at("ino") == p.at(path).at("index"));
      CHECK(p.at(path).at("nlink") == 1);
    }
    CHECK(p.at("/sym2").at("symlink") == "target");
    CHECK(p.at("/sym2").at("type") == "symlink");
    CHECK(p.at("/chr2").at("type") == "chardev");
    CHECK(p.at("/chr2").at("rdev") == p.at("/chr").at("rdev"));
    CHECK(p.at("/fifo2").at("type") == "fifo");
    // The link sorts before its target: the group's ino is the link's index.
    const json& link = p.at("/a-link");
    const json& file = p.at("/z/file");
    CHECK(link.at("index") < file.at("index"));
    CHECK(link.at("ino") == link.at("index"));
    CHECK(file.at("ino") == link.at("index"));
    CHECK(link.at("nlink") == 2);
    CHECK(file.at("nlink") == 2);
    CHECK(file.at("size") == 5);
  }

  TEST_CASE("PAX attributes reach the bootstrap: mtime nanoseconds, xattrs, device numbers, long names") {
    TempDir tmp;
    rafs::test::write_tar(tmp / "layer.tar", feature_entries());
    Built b = create(tmp, tmp / "layer.tar");
    REQUIRE(b.run.exit_code == 0);
    auto p = by_path(dump(b.boot));
    CHECK(p.at("/bin/tool").at("mtime") == k_time + 2);
    CHECK(p.at("/bin/tool").at("mtime_nsec") == 123456789);
    CHECK(p.at("/bin/tool").at("nlink") == 3);
    CHECK(p.at("/bin/setuid").at("mode") == "4755");
    CHECK(p.at("/x").at("xattrs") == json::array({"trusted.overlay.opaque"}));
    CHECK(p.at("/x/user").at("xattrs") == json::array({"user.binary", "user.comment"}));
    CHECK(p.at("/x/cap").at("xattrs") == json::array({"security.capability"}));
    CHECK(p.at("/" + k_long_file).at("size") == 11);
    CHECK(p.at("/long/symlink").at("symlink") == long_symlink_target());
    CHECK(p.at("/long/symlink").at("size") == long_symlink_target().size());
    CHECK(p.at("/dev/big").at("rdev") == ((300u & 0xfffu) << 8 | (70000u & 0xffu) | ((70000u & ~0xffu) << 12)));
    const std::string latin1 = "/latin1-\xe9t\xe9";
    CHECK(p.count("hex:" + rafs::to_hex(rafs::Bytes(reinterpret_cast<const std::uint8_t*>(latin1.data()),
                                                     latin1.size()))) == 1);
    CHECK(p.at("/dup").at("mode") == "0750");
    CHECK(p.at("/dup/file").at("size") == 20);
  }

  TEST_CASE("holes of GNU and PAX sparse files become all-zero chunks stored once") {
    TempDir tmp;
    using namespace rafs::test;
    // PAX sparse (libarchive): 8 MiB, 4 KiB of data at 5 MiB.
    write_tar(tmp / "pax.tar", {tar_sparse("sparse", 8 * k_mib, {{5 * k_mib, random_bytes(4096, 71)}})});
    // GNU old-style sparse (GNU tar --format=gnu): the same file.
    fs::create_directories(tmp / "src");
    write_file(tmp / "data4k", [] {
      auto s = random_bytes(4096, 71);
      return std::vector<std::uint8_t>(s.begin(), s.end());
    }());
    const std::string q = shell_quote((tmp / "src").string());
    REQUIRE(sh("set -e; truncate -s 8M " + q + "/sparse; dd if=" + shell_quote((tmp / "data4k").string()) + " of=" +
               q + "/sparse bs=4096 seek=1280 conv=notrunc 2>/dev/null; tar --format=gnu --sparse -cf " +
               shell_quote((tmp / "gnu.tar").string()) + " -C " + q + " sparse")
                .exit_code == 0);
    CHECK(fs::file_size(tmp / "gnu.tar") < 64 * 1024); // holes are not stored
    std::string boot_digest;
    for (const char* name : {"pax.tar", "gnu.tar"}) {
      CAPTURE(name);
      TempDir work;
      Built b = create(work, tmp / name);
      REQUIRE(b.run.exit_code == 0);
      CHECK(b.summary.at("chunks") == 8);
      CHECK(b.summary.at("chunks_stored") == 2);
      CHECK(b.summary.at("dedup_hits") == 6);
      CHECK(b.summary.at("file_bytes") == 8 * k_mib);
      auto p = by_path(dump(b.boot, true));
      const json& chunks = p.at("/sparse").at("chunks");
      REQUIRE(chunks.size() == 8);
      for (std::size_t k = 0; k < 8; ++k) {
        CAPTURE(k);
        CHECK(chunks.at(k).at("file_offset") == k * k_mib);
        CHECK((chunks.at(k).at("block_id") == chunks.at(0).at("block_id")) == (k != 5));
      }
      if (boot_digest.empty()) {
        boot_digest = p.at("/sparse").at("digest").get<std::string>();
      } else {
        CHECK(p.at("/sparse").at("digest") == boot_digest);
      }
    }
  }

  TEST_CASE("an empty tar gives an image with only the root and no blob") {
    SKIP_WITHOUT_FIXTURES();
    TempDir tmp;
    Built b = create(tmp, nydus / "tar" / "empty.tar");
    INFO(b.run.err);
    REQUIRE(b.run.exit_code == 0);
    CHECK(fs::is_empty(b.blobs));
    CHECK(b.summary.at("blobs").empty());
    json d = dump(b.boot);
    CHECK(d.at("inodes").size() == 1);
    CHECK(d.at("blobs").empty());
  }
}
