// The mount's settings, read from nydusd's legacy (v1) "rafs config" JSON
// (field names as nydusd spells them; see schemas/mount-config.schema.json)
// and overridden by `rafs mount` flags.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/error.hpp"
#include "net/credentials.hpp"

namespace rafs::runtime {

struct PrefetchConfig {
  bool enable = false;
  unsigned threads_count = 0;     // 1..1024 when enabled
  std::uint64_t merging_size = 0; // largest merged backend read (bytes)
  std::uint64_t bandwidth_rate = 0; // bytes/s; 0 = unlimited
  bool prefetch_all = false;      // after the listed files, everything
};

// device.backend.config of type "registry" (nydusd's field names).
struct RegistryBackendConfig {
  std::string scheme; // "https", "http", or "" = https, falling back to http when skip_verify or a local host
  std::string host;   // "host[:port]"
  std::string repo;   // "namespace/repo"
  std::string auth;   // base64 of "user:password"; $IMAGE_PULL_AUTH replaces it
  std::optional<net::Credentials> creds; // from `rafs mount --creds` or the auth files (not JSON)
  std::string registry_token;            // a bearer token used as is
  bool skip_verify = false;              // no TLS verification; plain http allowed
  std::vector<std::filesystem::path> ca_cert_files;
  std::uint64_t timeout_s = 5;         // each request (and a stalled transfer)
  std::uint64_t connect_timeout_s = 5;
  unsigned retry_limit = 0;            // further tries of a failed request
};

enum class BackendType : std::uint8_t { localfs, registry };

// A blob stored inside a larger file: `size` bytes at `offset` of `file`
// (an oci-archive's member, read in place).
struct BlobExtent {
  std::filesystem::path file;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

struct RuntimeConfig {
  BackendType backend = BackendType::localfs;
  RegistryBackendConfig registry; // backend == registry
  // device.backend of type "localfs".
  std::filesystem::path blob_dir;              // config.dir (or -D)
  std::filesystem::path blob_file;             // config.blob_file: one file for every blob id
  std::vector<std::filesystem::path> alt_dirs; // config.alt_dirs
  // Not from JSON: blobs of an image archive by id (`rafs mount
  // oci-archive:FILE`); when set, they are the only blobs there are.
  std::map<std::string, BlobExtent> blob_extents;
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
