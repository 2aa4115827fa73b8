// rafs dump / check / unpack against the bootstraps and blob upstream
// nydus-image made (../shared/testdata/nydus/repeatable).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/fixture_result.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using rafs::test::run_rafs;
using rafs::test::sh;

namespace {

using rafs::test::k_upstream_fixtures;

// Splits a .result file into its `tree -J` block and its md5 block.
std::pair<std::string, std::string> result_blocks(const fs::path& result) {
  std::string text = rafs::test::read_text(result);
  auto end_of_tree = text.find("\n]\n");
  REQUIRE(end_of_tree != std::string::npos);
  return {text.substr(0, end_of_tree + 2), text.substr(end_of_tree + 3)};
}

} // namespace

TEST_SUITE("cli::upstream fixtures") {
  TEST_CASE("check -D verifies every chunk of both upstream v5 images") {
    SKIP_WITHOUT_FIXTURES();
    for (const char* name : k_upstream_fixtures) {
      CAPTURE(name);
      auto r = run_rafs({"check", (nydus / "repeatable" / name).string(), "-D",
                     (nydus / "repeatable" / "blobs").string()});
      CHECK(r.exit_code == 0);
      CHECK(r.err == "");
      CHECK(r.out.find("RAFS v5 filesystem metadata is valid: 51 inodes, 54 inode records") !=
            std::string::npos);
      CHECK(r.out.find("0: 7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00 "
                       "compressed 3508766 uncompressed 3508766 chunk size 0x100000 chunks 23") !=
            std::string::npos);
      CHECK(r.out.find("data: 23 chunks (3508766 bytes) verified in 1 blobs") != std::string::npos);
      CHECK(r.out.find("problem") == std::string::npos);
    }
  }

  TEST_CASE("unpack then GNU tar extraction reproduces the .result tree and md5 sums exactly") {
    SKIP_WITHOUT_FIXTURES();
    for (const char* name : k_upstream_fixtures) {
      CAPTURE(name);
      rafs::test::TempDir tmp;
      const fs::path tar = tmp / "image.tar";
      const fs::path root = tmp / "root";
      fs::create_directory(root);
      auto r = run_rafs({"unpack", (nydus / "repeatable" / name).string(), "-D",
                     (nydus / "repeatable" / "blobs").string(), "-o", tar.string()});
      REQUIRE(r.exit_code == 0);
      CHECK(r.err == "");
      auto x = sh("tar --xattrs --numeric-owner -xpf '" + tar.string() + "' -C '" + root.string() + "'");
      REQUIRE(x.exit_code == 0);
      auto c = rafs::test::compare_with_result(root, nydus / "repeatable" / (std::string(name) + ".result"));
      CHECK(c.got_tree == c.want_tree);
      CHECK(c.got_md5 == c.want_md5);
    }
  }

  TEST_CASE("unpack keeps hard links as hard links and symlink targets byte for byte") {
    SKIP_WITHOUT_FIXTURES();
    rafs::test::TempDir tmp;
    const fs::path tar = tmp / "image.tar";
    REQUIRE(run_rafs({"unpack", (nydus / "repeatable" / k_upstream_fixtures[0]).string(), "-D",
                  (nydus / "repeatable" / "blobs").string(), "-o", tar.string()})
                .exit_code == 0);
    auto list = sh("tar -tvf '" + tar.string() + "'");
    CHECK(list.out.find("hardlink-test/test.sh link to hardlink-test/foo") != std::string::npos);
    CHECK(list.out.find("normal-file-test/test.sh link to hardlink-test/foo") != std::string::npos);
    CHECK(list.out.find("symlink-test/root-1 -> /////////////////") != std::string::npos);
    CHECK(list.out.find("symlink-test/bar -> ../hardlink-test-tt") != std::string::npos);
  }

  TEST_CASE("dump lists every path of the .result tree") {
    SKIP_WITHOUT_FIXTURES();
    for (const char* name : k_upstream_fixtures) {
      CAPTURE(name);
      auto r = run_rafs({"dump", (nydus / "repeatable" / name).string()});
      REQUIRE(r.exit_code == 0);
      auto [tree, md5] = result_blocks(nydus / "repeatable" / (std::string(name) + ".result"));
      std::istringstream lines(md5);
      std::string line;
      int files = 0;
      while (std::getline(lines, line)) {
        if (line.size() > 34) {
          const std::string path = line.substr(34);
          CHECK((r.out.find(" " + path + "\n") != std::string::npos ||
                 r.out.find(" " + path + " (hard link to ") != std::string::npos));
          ++files;
        }
      }
      CHECK(files == 23);
      for (const char* p : {"/hardlink-test", "/symlink-test/root-1 -> /////////////////",
                            "/normal-file-test/holefiles", "/normal-file-test/busybox/1f777dbdd68d1c4d554bc0d20e027bfef9ed2dfe2d8d5f029e958552a0e12475/var/spool/mail",
                            "/symlink-test/foo -> ../normal-file-test/"}) {
        CHECK(r.out.find(std::string(" ") + p) != std::string::npos);
      }
      CHECK(r.out.find("dir 0755 0:0 4096 5 1970-01-01T00:00:00Z 0 /\n") != std::string::npos);
      CHECK(r.out.find("file 0775 0:0 944 3 2022-11-12T05:51:45Z 1 /hardlink-test/test.sh (hard link to /hardlink-test/foo)") != std::string::npos);
      // 54 records: header line + one line per inode after "tree:".
      auto tree_at = r.out.find("tree:");
      CHECK(std::count(r.out.begin() + static_cast<std::ptrdiff_t>(tree_at), r.out.end(), '\n') == 55);
    }
  }

  TEST_CASE("dump --json validates against schemas/dump.schema.json") {
    SKIP_WITHOUT_FIXTURES();
    rafs::test::TempDir tmp;
    for (const char* flag : {"--json", "--chunks"}) {
      std::vector<std::string> args{"dump", "--json", (nydus / "repeatable" / k_upstream_fixtures[1]).string()};
      if (std::string(flag) == "--chunks") {
        args.push_back("--chunks");
      }
      auto r = run_rafs(args);
      REQUIRE(r.exit_code == 0);
      const fs::path doc = tmp / "dump.json";
      std::ofstream(doc) << r.out;
      auto v = rafs::test::run({"/usr/bin/python3", std::string(RAFS_SOURCE_DIR) + "/ci/validate_json.py",
                                std::string(RAFS_SOURCE_DIR) + "/schemas/dump.schema.json", doc.string()});
      CHECK(v.out == "");
      CHECK(v.err == "");
      CHECK(v.exit_code == 0);
    }
    auto r = run_rafs({"dump", "--json", (nydus / "repeatable" / k_upstream_fixtures[1]).string()});
    CHECK(r.out.find("\"digester\": \"blake3\"") != std::string::npos);
    CHECK(r.out.find("\"hardlink_to\": \"/hardlink-test/foo\"") != std::string::npos);
  }

  TEST_CASE("check -J writes the result as JSON") {
    SKIP_WITHOUT_FIXTURES();
    rafs::test::TempDir tmp;
    auto r = run_rafs({"check", (nydus / "repeatable" / k_upstream_fixtures[0]).string(), "-J",
                   (tmp / "out.json").string()});
    REQUIRE(r.exit_code == 0);
    std::string j = rafs::test::read_text(tmp / "out.json");
    CHECK(j.find("\"valid\": true") != std::string::npos);
    CHECK(j.find("\"fs_version\": \"5\"") != std::string::npos);
    CHECK(j.find("\"compressor\": \"none\"") != std::string::npos);
    CHECK(j.find("\"7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00\"") != std::string::npos);
  }
}
