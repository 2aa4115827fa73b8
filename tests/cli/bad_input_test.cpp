// Bad bootstraps and blobs: one line on stderr naming the file and the
// problem, exit code 1, no crash, no output file left behind.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "support/run.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using rafs::test::run_rafs;

namespace {

const char* const k_good = "sha256-nocompress-repeatable";

std::size_t count_lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

// A copy of the good fixture with byte `offset` xor-ed with `mask`.
fs::path flipped_copy(const rafs::test::TempDir& tmp, const fs::path& nydus, std::size_t offset,
                      std::uint8_t mask) {
  auto bytes = rafs::test::read_file(nydus / "repeatable" / k_good);
  REQUIRE(offset < bytes.size());
  bytes[offset] ^= mask;
  fs::path out = tmp / "flipped.boot";
  rafs::test::write_file(out, bytes);
  return out;
}

} // namespace

TEST_SUITE("cli::bad input") {
  TEST_CASE("the pre-release daemon test bootstrap is rejected at its first inode") {
    SKIP_WITHOUT_FIXTURES();
    const std::string path = (nydus / "bootstrap" / "nydusd_daemon_test_bootstrap").string();
    for (const char* cmd : {"dump", "check"}) {
      CAPTURE(cmd);
      auto r = run_rafs({cmd, path});
      CHECK(r.exit_code == 1);
      CHECK(r.out == "");
      CHECK(count_lines(r.err) == 1);
      CHECK(r.err.rfind("rafs: " + path + ": inode 1 at offset 0x12748:", 0) == 0);
    }
  }

  TEST_CASE("a truncated bootstrap gives one error line naming the file") {
    SKIP_WITHOUT_FIXTURES();
    auto bytes = rafs::test::read_file(nydus / "repeatable" / k_good);
    rafs::test::TempDir tmp;
    for (std::size_t len : {std::size_t{0}, std::size_t{100}, std::size_t{8192}, std::size_t{8200},
                            std::size_t{9000}, bytes.size() / 2, bytes.size() - 8, bytes.size() - 1}) {
      CAPTURE(len);
      fs::path p = tmp / "truncated.boot";
      rafs::test::write_file(p, std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len)));
      for (const char* cmd : {"dump", "check"}) {
        auto r = run_rafs({cmd, p.string()});
        CHECK(r.exit_code == 1);
        CHECK(count_lines(r.err) == 1);
        CHECK(r.err.rfind("rafs: " + p.string() + ": ", 0) == 0);
      }
    }
  }

  TEST_CASE("flipped bytes in the superblock, tables and records are reported") {
    SKIP_WITHOUT_FIXTURES();
    rafs::test::TempDir tmp;
    struct Case {
      std::size_t offset;
      std::uint8_t mask;
      const char* words;
    };
    // Offsets in the fixture: superblock 0..79, inode table 8192, blob table
    // 8408, ext table 8480, root record 8544, /hardlink-test record next.
    const Case cases[] = {
        {0, 0xFF, "bad magic"},
        {5, 0x01, "not RAFS v5"},
        {14, 0x01, "chunk size"},
        {17, 0x10, "undefined flag bits"},
        {100, 0x01, "reserved bytes"},
        {8195, 0x10, "inode table slot 1 at offset 0x2000: record offset 0x80002160 is outside the file"},
        {8412, 0x01, "non-zero"}, // readahead size -> not a valid table? see below
        {8544 + 92, 0x40, "child range"},
        {8680 + 100, 0x02, "inode 2 at offset 0x21e8: invalid name"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.offset);
      fs::path p = flipped_copy(tmp, nydus, c.offset, c.mask);
      auto r = run_rafs({"check", p.string()});
      if (c.offset == 8412) {
        // A readahead size is not covered by any rule: the image stays valid.
        CHECK(r.exit_code == 0);
        continue;
      }
      CHECK(r.exit_code == 1);
      CHECK(count_lines(r.err) == 1);
      CHECK(r.err.rfind("rafs: " + p.string() + ": ", 0) == 0);
      CHECK_MESSAGE(r.err.find(c.words) != std::string::npos, r.err);
    }
  }

  TEST_CASE("a flipped digest byte is a digest mismatch naming the path") {
    SKIP_WITHOUT_FIXTURES();
    rafs::test::TempDir tmp;
    // Byte 0 of the root inode's i_digest.
    fs::path p = flipped_copy(tmp, nydus, 8544, 0x01);
    auto r = run_rafs({"check", p.string()});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("problem: " + p.string() + ": /: inode digest mismatch: expected ") !=
          std::string::npos);
    CHECK(r.err == "rafs: " + p.string() + ": 1 problem found\n");
  }

  TEST_CASE("a flipped byte inside the blob is a digest mismatch naming the blob file") {
    SKIP_WITHOUT_FIXTURES();
    rafs::test::TempDir tmp;
    const std::string id = "7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00";
    fs::create_directory(tmp / "blobs");
    auto blob = rafs::test::read_file(nydus / "repeatable" / "blobs" / id);
    blob[100] ^= 0x20;
    rafs::test::write_file(tmp / "blobs" / id, blob);
    auto r = run_rafs({"check", (nydus / "repeatable" / k_good).string(), "-D", (tmp / "blobs").string()});
    CHECK(r.exit_code == 1);
    const std::string blob_path = (tmp / "blobs" / id).string();
    CHECK(r.out.find(": chunk 0: " + blob_path + ": chunk at offset 0: digest mismatch: expected ") !=
          std::string::npos);
    CHECK(r.out.find("problem: " + blob_path + ": sha256 of the blob file is ") != std::string::npos);
    CHECK(r.out.find("data: 22 chunks") != std::string::npos);
  }

  TEST_CASE("a missing or short blob is reported by check -D and fails unpack without output") {
    SKIP_WITHOUT_FIXTURES();
    rafs::test::TempDir tmp;
    fs::create_directory(tmp / "empty");
    auto r = run_rafs({"check", (nydus / "repeatable" / k_good).string(), "-D", (tmp / "empty").string()});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("problem: blob 7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00: ") !=
          std::string::npos);
    CHECK(r.out.find("No such file or directory") != std::string::npos);

    fs::path out = tmp / "empty" / "out.tar";
    auto u = run_rafs({"unpack", (nydus / "repeatable" / k_good).string(), "-D", (tmp / "empty").string(),
                   "-o", out.string()});
    CHECK(u.exit_code == 1);
    CHECK(count_lines(u.err) == 1);
    CHECK(u.err.rfind("rafs: " + out.string() + ": ", 0) == 0);
    CHECK(fs::is_empty(tmp / "empty")); // neither out.tar nor a temp file

    const std::string id = "7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00";
    auto blob = rafs::test::read_file(nydus / "repeatable" / "blobs" / id);
    blob.resize(blob.size() / 2);
    rafs::test::write_file(tmp / "empty" / id, blob);
    auto s = run_rafs({"check", (nydus / "repeatable" / k_good).string(), "-D", (tmp / "empty").string()});
    CHECK(s.exit_code == 1);
    CHECK(s.out.find("size 1754383 != compressed size 3508766 in the blob table") != std::string::npos);
    CHECK(s.out.find("is beyond the end (1754383 bytes)") != std::string::npos);
  }

  TEST_CASE("a file that is not a bootstrap is rejected by every subcommand") {
    rafs::test::TempDir tmp;
    fs::path p = tmp / "garbage";
    rafs::test::write_file(p, std::vector<std::uint8_t>(20000, 0x41));
    fs::create_directory(tmp / "blobs");
    for (std::vector<std::string> args :
         {std::vector<std::string>{"dump", p.string()}, {"check", p.string()},
          {"unpack", p.string(), "-D", (tmp / "blobs").string(), "-o", (tmp / "o.tar").string()}}) {
      auto r = run_rafs(args);
      CHECK(r.exit_code == 1);
      CHECK(r.err == "rafs: " + p.string() + ": superblock: bad magic 0x41414141 (expected 0x52414653) at offset 0\n");
    }
    CHECK(!fs::exists(tmp / "o.tar"));
    auto missing = run_rafs({"dump", (tmp / "nope").string()});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err == "rafs: " + (tmp / "nope").string() + ": No such file or directory\n");
  }

  TEST_CASE("bad usage exits 2 and --help exits 0 on every subcommand") {
    CHECK(run_rafs({}).exit_code == 2);
    CHECK(run_rafs({"frobnicate"}).exit_code == 2);
    CHECK(run_rafs({"dump"}).exit_code == 2);
    CHECK(run_rafs({"check", "x", "--bogus"}).exit_code == 2);
    CHECK(run_rafs({"unpack", "x"}).exit_code == 2);
    for (const char* cmd : {"dump", "check", "unpack"}) {
      auto r = run_rafs({cmd, "--help"});
      CHECK(r.exit_code == 0);
      CHECK(r.out.find("Usage:") != std::string::npos);
    }
    CHECK(run_rafs({"--help"}).exit_code == 0);
  }
}
