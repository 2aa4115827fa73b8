// Seeds of fuzz_bootstrap: u32 LE bootstrap length | bootstrap | blobs.
// The tiny image in each chunk codec (lz4_block, zstd, gzip) and digester,
// an image the builder makes from a small layer, and the upstream v5
// bootstraps with the start of their blob.
#include <zlib.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "builder/build.hpp"
#include "builder/tar_source.hpp"
#include "format/codec.hpp"
#include "format/layout.hpp"
#include "fuzz/seeds/seeds.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_image.hpp"

namespace rafs::fuzz_seeds {

namespace {

using test::TinyImage;

Seed input_of(const Seed& boot, const std::vector<Seed>& blobs, std::size_t max_len = k_max_len) {
  std::size_t total = 4 + boot.size();
  for (const Seed& b : blobs) {
    total += b.size();
  }
  Seed out;
  out.reserve(total); // one allocation (and no false -Warray-bounds from GCC 12 at -O3)
  out.resize(4);
  store_le<std::uint32_t>(out.data(), static_cast<std::uint32_t>(boot.size()));
  out.insert(out.end(), boot.begin(), boot.end());
  for (const Seed& b : blobs) {
    out.insert(out.end(), b.begin(), b.end());
  }
  out.resize(std::min(out.size(), max_len));
  return out;
}

// One gzip member, as upstream writers store a gzip chunk.
Seed gzip(const Seed& in) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  Seed out(deflateBound(&z, static_cast<uLong>(in.size())) + 32);
  z.next_in = const_cast<Bytef*>(in.data()); // zlib's API is not const-correct
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    throw std::runtime_error("deflate failed");
  }
  return out;
}

// The tiny image with /one's chunk stored by `codec` (blob 0 rebuilt) and
// every digest made by `algo`.
TinyImage tiny_variant(Compressor codec, DigestAlgo algo) {
  using namespace test::tiny;
  TinyImage img = test::make_tiny_image();
  v5::BootstrapSpec& spec = img.spec;
  const Seed& one = img.contents.at("/one");
  Seed packed;
  if (codec == Compressor::gzip) {
    packed = gzip(one);
  } else if (ChunkCompressor c(codec, 3); !c.compress(one, packed).value()) {
    throw std::runtime_error("tiny image: /one did not shrink");
  }
  spec.flags &= ~(v5::k_sb_compression_lz4 | v5::k_sb_hash_blake3);
  spec.flags |= (codec == Compressor::zstd ? v5::k_sb_compression_zstd : v5::k_sb_compression_gzip) |
                (algo == DigestAlgo::sha256 ? v5::k_sb_hash_sha256 : v5::k_sb_hash_blake3);
  Seed& blob0 = img.blob_data.at(0);
  blob0.resize(100); // /hard's raw chunk, then /one's
  blob0.insert(blob0.end(), packed.begin(), packed.end());
  img.at(k_one).chunks.at(0).compressed_size = static_cast<std::uint32_t>(packed.size());
  for (std::size_t b = 0; b < spec.blobs.size(); ++b) {
    spec.blobs[b].compressed_size = img.blob_data[b].size();
    spec.blobs[b].id = to_hex(digest_of(DigestAlgo::sha256, img.blob_data[b]));
  }
  const std::map<std::uint32_t, std::string> paths = {
      {k_hard, "/hard"}, {k_hard2, "/dir/hard2"}, {k_one, "/one"}, {k_two, "/two"}};
  for (const auto& [index, path] : paths) {
    const Bytes data = img.contents.at(path);
    for (v5::ChunkInfo& c : img.at(index).chunks) {
      c.block_id = digest_of(algo, data.subspan(c.file_offset, c.uncompressed_size));
    }
  }
  test::fill_inode_digests(spec);
  return img;
}

Seed tiny_input(const TinyImage& img) { return input_of(img.encode(), img.blob_data); }

// What `rafs create` makes of small_layer_tar(), chunk size 0x1000.
Seed built_input() {
  test::TempDir dir;
  test::write_file(dir / "layer.tar", small_layer_tar());
  auto source = builder::open_tar_source((dir / "layer.tar").string());
  builder::BuildOptions options;
  options.chunk_size = 0x1000;
  options.compressor = Compressor::lz4_block;
  builder::BuildOutputs out;
  out.bootstrap = dir / "image.boot";
  out.blob = dir / "image.blob";
  if (!source) {
    throw std::runtime_error(source.error().message);
  }
  auto built = builder::build(**source, options, out);
  if (!built) {
    throw std::runtime_error(built.error().message);
  }
  return input_of(test::read_file(out.bootstrap), {test::read_file(out.blob)});
}

} // namespace

Seeds bootstrap_seeds(const std::filesystem::path& upstream) {
  Seeds seeds = {
      {"tiny-lz4-blake3", tiny_input(test::make_tiny_image())},
      {"tiny-zstd-sha256", tiny_input(tiny_variant(Compressor::zstd, DigestAlgo::sha256))},
      {"tiny-gzip-blake3", tiny_input(tiny_variant(Compressor::gzip, DigestAlgo::blake3))},
      {"built-small-layer", built_input()},
  };
  if (!upstream.empty()) {
    const Seed blob = test::read_file(upstream / "repeatable" / "blobs" /
                                      "7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00");
    for (const char* name : {"sha256-nocompress-repeatable", "blake3-lz4_block-non_repeatable"}) {
      seeds.emplace_back(std::string("upstream-") + name,
                         input_of(test::read_file(upstream / "repeatable" / name), {blob}));
    }
  }
  return seeds;
}

} // namespace rafs::fuzz_seeds
