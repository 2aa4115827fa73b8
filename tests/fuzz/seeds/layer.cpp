// Seeds of fuzz_layer: tar layers. small_layer_tar() in each tar format and
// filter, and the upstream tar, gzip and zstd fixtures.
#include <system_error>

#include "fuzz/seeds/seeds.hpp"
#include "support/oci_maker.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace rafs::fuzz_seeds {

namespace {

using test::TarEntry;

std::vector<TarEntry> small_entries() {
  return {
      test::tar_dir("etc"),
      test::tar_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n").with_owner(0, 0),
      test::tar_dir("a", 0750),
      test::tar_file("a/big", test::random_bytes(4500, 7)).with_mtime(1700000000, 123456789),
      test::tar_symlink("a/link", "../etc/passwd"),
      test::tar_hardlink("a/hard", "etc/passwd"),
      test::tar_chardev("dev/null", 1, 3),
      test::tar_blockdev("dev/sda", 8, 0),
      test::tar_fifo("fifo"),
      test::tar_file("dir/file", std::string(5000, 'x')).with_xattr("user.k", "v").with_owner(70000, 70000),
      test::tar_file("dir/.wh..wh..opq", ""),
      test::tar_file(".wh.gone", ""),
      test::tar_sparse("usr/bin/sparse", 20000, {{0, "head"}, {12288, "middle"}}),
  };
}

// GNU long names and ustar: no xattrs, no sparse maps.
std::vector<TarEntry> plain_entries() {
  const std::string deep = "usr/share/" + std::string(120, 'n');
  return {
      test::tar_dir("usr/share"),
      test::tar_file(deep, "long name\n"),
      test::tar_symlink("usr/share/l", deep),
      test::tar_hardlink("usr/share/h", deep),
      test::tar_file("etc/hosts", "127.0.0.1 localhost\n"),
  };
}

// Compressed by zlib/zstd here, not by libarchive: its gzip header holds the
// time, and committed seeds should not change when regenerated.
Seed tar_of(const std::vector<TarEntry>& entries, test::TarFormat format, test::TarFilter filter) {
  return test::compress_layer(
      test::make_tar(entries, {format, test::TarFilter::none, /*pad_last_block=*/false}), filter);
}

} // namespace

std::vector<std::uint8_t> small_layer_tar() {
  return tar_of(small_entries(), test::TarFormat::pax, test::TarFilter::none);
}

Seeds layer_seeds(const std::filesystem::path& upstream) {
  using test::TarFilter;
  using test::TarFormat;
  Seeds seeds = {
      {"small-pax.tar", small_layer_tar()},
      {"small-pax.tar.gz", tar_of(small_entries(), TarFormat::pax, TarFilter::gzip)},
      {"small-pax.tar.zst", tar_of(small_entries(), TarFormat::pax, TarFilter::zstd)},
      {"long-names-gnu.tar", tar_of(plain_entries(), TarFormat::gnutar, TarFilter::none)},
      {"restricted-pax.tar.gz", tar_of(plain_entries(), TarFormat::pax_restricted, TarFilter::gzip)},
      {"ustar.tar",
       tar_of({test::tar_file("x", "y"), test::tar_dir("d")}, TarFormat::ustar, TarFilter::none)},
  };
  if (!upstream.empty()) {
    for (const char* rel :
         {"tar/all-entry-type.tar", "tar/all-entry-type-macos.tar", "tar/empty.tar",
          "zran/zran-single-stream.tar.gz", "zran/zran-two-streams.tar.gz", "zran/zran-zero-file.tar.gz"}) {
      std::error_code ec;
      if (std::filesystem::is_regular_file(upstream / rel, ec)) {
        std::string name = std::string("upstream-") + rel;
        name[name.find('/')] = '-';
        seeds.emplace_back(name, test::read_file(upstream / rel));
      }
    }
  }
  return seeds;
}

} // namespace rafs::fuzz_seeds
