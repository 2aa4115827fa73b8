// What the user asked a build to do. Immutable once the cli has filled and
// validated it; what the build discovers goes into BuildResult.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "format/codec.hpp"
#include "format/digest.hpp"

namespace rafs::builder {

enum class WhiteoutSpec : std::uint8_t { oci, overlayfs, none };

enum class PrefetchPolicy : std::uint8_t {
  none,
  fs,   // bootstrap prefetch table (inode numbers) + the data placed together
  blob, // the data placed together + each blob's readahead range covering it
};

struct BuildOptions {
  std::uint32_t chunk_size = 0x100000;
  Compressor compressor = Compressor::zstd;
  int compression_level = 0; // 0: the codec's default (zstd 3)
  DigestAlgo digester = DigestAlgo::blake3;
  WhiteoutSpec whiteout_spec = WhiteoutSpec::oci;
  PrefetchPolicy prefetch_policy = PrefetchPolicy::none;
  bool repeatable = false;   // no uid/gid (EXPLICIT_UID_GID clear, all 0)
  unsigned threads = 1;      // hashing/compression workers
};

} // namespace rafs::builder
