// The mount's settings, read from nydusd's legacy (v1) "rafs config" JSON
// (field names as nydusd spells them; see schemas/mount-config.schema.json)
// and overridden by `rafs mount` flags.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "format/error.hpp"

namespace rafs::runtime {

struct PrefetchConfig {
  bool enable = false;
  unsigned threads_count = 0;     // 1..1024 when enabled
  std::uint64_t merging_size = 0; // largest merged backend read (bytes)
  std::uint64_t bandwidth_rate = 0; // bytes/s; 0 = unlimited
  bool prefetch_all = false;      // after the listed files, everything
};

struct RuntimeConfig {
  // device.backend: localfs only (type "localfs").
  std::filesystem::path blob_dir;              // config.dir (or -D)
  std::filesystem::path blob_file;             // config.blob_file: one file for every blob id
  std::vector<std::filesystem::path> alt_dirs; // config.alt_dirs
  // device.cache: "" / "dummycache" = none; "blobcache" / "filecache" = local cache.
  bool cache_enabled = false;
  std::filesystem::path cache_dir; // config.work_dir (or --cache-dir)
  bool cache_validate = false;     // cache.validate: check data read from the cache
  std::string mode = "direct";     // "direct" | "cached"
  bool digest_validate = false;    // check chunk data against block_id after every backend read
  bool enable_xattr = false;
  std::uint64_t amplify_io = 1 << 20; // merge adjacent missing chunks up to this many bytes
  PrefetchConfig prefetch;
};

// Parses v1 JSON; `name` (the file) prefixes errors. Unknown keys are
// ignored, as nydusd does; wrong types and out-of-range values are errors.
[[nodiscard]] Result<RuntimeConfig> parse_config(std::string_view json, const std::string& name);

} // namespace rafs::runtime
