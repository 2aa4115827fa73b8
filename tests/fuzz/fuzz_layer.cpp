// A tar layer from untrusted bytes (plain, gzip or zstd: the magic bytes
// decide, as for `rafs create`) built into a blob and bootstrap on tmpfs,
// then opened and read back. Besides not crashing, rafs must keep its
// promises: a failed build leaves no file behind; a built image opens,
// its inode digests hold and every chunk reads back and verifies.
//
// Input: the layer's bytes. The build settings are picked from the input's
// length (mutations change it all the time, so every setting gets inputs):
// chunk codec, digester, prefetch policy, whiteout spec, uid/gid mode, and
// `rafs create` (one layer, whiteouts kept; for some, again with 2 threads:
// the output must be the same bytes) or `rafs convert` (the layer twice,
// the second over the first with whiteouts applied).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "builder/build.hpp"
#include "builder/image_builder.hpp"
#include "builder/layer_stream.hpp"
#include "builder/tar_source.hpp"
#include "format/bootstrap.hpp"
#include "format/chunk_reader.hpp"
#include "format/file.hpp"
#include "format/inode_digest.hpp"
#include "fuzz/fuzz_support.hpp"

namespace {

using namespace rafs;

constexpr std::uint64_t k_read_budget = 64 << 20;
// Plain tar bytes per layer: more is only a slower input.
constexpr std::uint64_t k_layer_cap = 64 << 20;

struct Settings {
  builder::BuildOptions options;
  bool two_layers = false;
  bool compare_threads = false; // create again with 2 threads: the same bytes
};

Settings settings_for(std::size_t size) {
  Settings s;
  s.options.chunk_size = 0x1000; // many chunks from small inputs
  s.options.compression_level = 1;
  s.options.threads = 1;
  constexpr Compressor k_codecs[] = {Compressor::none, Compressor::lz4_block, Compressor::zstd};
  constexpr builder::PrefetchPolicy k_policies[] = {
      builder::PrefetchPolicy::none, builder::PrefetchPolicy::fs, builder::PrefetchPolicy::blob};
  constexpr builder::WhiteoutSpec k_whiteouts[] = {
      builder::WhiteoutSpec::oci, builder::WhiteoutSpec::overlayfs, builder::WhiteoutSpec::none};
  s.options.compressor = k_codecs[size % 3];
  s.options.digester = (size / 3) % 2 == 0 ? DigestAlgo::blake3 : DigestAlgo::sha256;
  s.options.prefetch_policy = k_policies[(size / 6) % 3];
  s.options.whiteout_spec = k_whiteouts[(size / 18) % 3];
  s.options.repeatable = (size / 54) % 2 == 1;
  s.two_layers = (size / 108) % 2 == 1;
  s.compare_threads = (size / 216) % 2 == 1;
  return s;
}

builder::PrefetchList prefetch_list() {
  std::vector<std::string> warnings;
  return builder::PrefetchList::parse("/etc\n/a\n/dir/file\n/usr/bin\n/missing\n", warnings);
}

Result<std::unique_ptr<builder::Source>> open_layer(Bytes input) {
  RAFS_TRY_ASSIGN(auto stream,
                  builder::LayerStream::open(fuzz::memory_reader(input, "fuzz.tar"), std::nullopt));
  return builder::open_tar_source(fuzz::capped_reader(std::move(stream), k_layer_cap));
}

// `rafs create` into `dir`: the bootstrap file's path, or nullopt when the
// input is no layer.
std::optional<std::filesystem::path> create(Bytes input, const Settings& s,
                                            const std::filesystem::path& dir) {
  auto source = open_layer(input);
  if (!source) {
    return std::nullopt;
  }
  builder::BuildOutputs out;
  out.bootstrap = dir / "image.boot";
  out.blob_dir = dir;
  builder::BuildExtras extras;
  extras.prefetch = prefetch_list();
  auto built = builder::build(**source, s.options, out, extras);
  if (!built) {
    return std::nullopt;
  }
  return built->bootstrap;
}

// `rafs convert` of a two-layer image whose layers are both the input.
std::optional<std::filesystem::path> convert(Bytes input, const Settings& s) {
  builder::ImageBuilder image(s.options, prefetch_list());
  for (int layer = 0; layer < 2; ++layer) {
    auto source = open_layer(input);
    if (!source || !image.add_layer(**source, {fuzz::scratch_dir(), {}, {}}, /*apply_whiteouts=*/true)) {
      return std::nullopt;
    }
  }
  auto built = image.finish();
  if (!built) {
    return std::nullopt;
  }
  auto path = builder::write_bootstrap(built->bootstrap, fuzz::scratch_dir() / "image.boot", {});
  if (!path) {
    fuzz::fail("writing the bootstrap: " + path.error().message);
  }
  return *path;
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  auto bytes = read_whole_file(path, std::uint64_t{1} << 32);
  if (!bytes) {
    fuzz::fail(bytes.error().message);
  }
  return std::move(*bytes);
}

// The README promises the same output whatever --threads is.
void check_threads_agree(Bytes input, Settings s) {
  const std::filesystem::path dir = fuzz::scratch_dir() / "threads2";
  std::filesystem::create_directory(dir);
  s.options.threads = 2;
  if (!create(input, s, dir)) {
    fuzz::fail("the build fails with 2 threads, not with 1");
  }
  for (const auto& e : std::filesystem::directory_iterator(fuzz::scratch_dir())) {
    if (e.is_regular_file() && read_file(e.path()) != read_file(dir / e.path().filename())) {
      fuzz::fail(e.path().filename().string() + " differs between 1 and 2 threads");
    }
  }
}

void check_image(const std::filesystem::path& boot_path) {
  auto b = v5::Bootstrap::open(boot_path);
  if (!b) {
    fuzz::fail("the built bootstrap does not open: " + b.error().message);
  }
  (void)fuzz::walk_metadata(*b);
  if (auto bad = v5::verify_inode_digests(*b); !bad.empty()) {
    fuzz::fail("the built bootstrap has a wrong inode digest at " + b->path(bad.front().index));
  }
  v5::ChunkReader reader(*b, fuzz::scratch_dir());
  fuzz::read_every_file(*b, k_read_budget, [&](std::uint32_t index, std::uint64_t offset, MutableBytes out) {
    if (auto r = reader.read_file(index, offset, out, true); !r) {
      fuzz::fail("reading back " + b->path(index) + ": " + r.error().message);
    }
    return true;
  });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::clear_scratch_dir();
  const Bytes input(data, size);
  const Settings s = settings_for(size);
  auto boot = s.two_layers ? convert(input, s) : create(input, s, fuzz::scratch_dir());
  if (!boot) {
    // A convert stores blobs as it goes (the cli's staging directory removes
    // them); a failed create must leave nothing.
    if (!s.two_layers && !fuzz::scratch_dir_empty()) {
      fuzz::fail("a failed build left files in " + fuzz::scratch_dir().string());
    }
    return 0;
  }
  check_image(*boot);
  if (!s.two_layers && s.compare_threads) {
    check_threads_agree(input, s);
  }
  fuzz::clear_scratch_dir();
  return 0;
}
