// AtomicFile: output that appears under its final name only on commit, with
// its fsync optionally started early on a thread of its own.
#include <doctest/doctest.h>

#include <filesystem>
#include <vector>

#include "format/file.hpp"
#include "support/temp_dir.hpp"

using namespace rafs;
using rafs::test::TempDir;

namespace {

std::vector<std::uint8_t> bytes_of(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = static_cast<std::uint8_t>(seed + i * 131);
  }
  return v;
}

std::size_t entries(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(
      std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()));
}

} // namespace

TEST_SUITE("format::atomic_file") {
  TEST_CASE("a commit after a background sync names the file with every byte, those written after the sync began too") {
    TempDir tmp;
    const auto first = bytes_of(3 << 20, 1);
    const auto later = bytes_of(5000, 2);
    auto f = AtomicFile::create(tmp / "out");
    REQUIRE(f);
    REQUIRE(f->write(first));
    f->sync_in_background();
    f->sync_in_background(); // a second call while one runs does nothing
    CHECK_FALSE(std::filesystem::exists(tmp / "out"));
    REQUIRE(f->write(later));
    AtomicFile moved(std::move(*f)); // the sync follows the file
    REQUIRE(moved.commit_as(tmp / "named"));
    std::vector<std::uint8_t> want = first;
    want.insert(want.end(), later.begin(), later.end());
    CHECK(rafs::test::read_file(tmp / "named") == want);
    CHECK(entries(tmp.path()) == 1);
  }

  TEST_CASE("a commit right after a background sync of everything names the file") {
    TempDir tmp;
    const auto data = bytes_of(70000, 3);
    auto f = AtomicFile::create(tmp / "out");
    REQUIRE(f);
    REQUIRE(f->write(data));
    f->sync_in_background();
    REQUIRE(f->commit());
    CHECK(rafs::test::read_file(tmp / "out") == data);
    CHECK(entries(tmp.path()) == 1);
  }

  TEST_CASE("a file dropped uncommitted while its background sync runs leaves nothing behind") {
    TempDir tmp;
    {
      auto f = AtomicFile::create(tmp / "out");
      REQUIRE(f);
      REQUIRE(f->write(bytes_of(4 << 20, 4)));
      f->sync_in_background();
    }
    CHECK(entries(tmp.path()) == 0);
  }
}
