// Where blob bytes come from: byte ranges of a blob, by blob-table index.
//
// localfs (nydusd's localfs backend, here) and registry
// (runtime/registry_backend.hpp) implement it.
// Implementations are thread-safe: any number of threads read at once.
#pragma once

#include <cstdint>
#include <memory>

#include "format/bootstrap.hpp"
#include "format/bytes.hpp"
#include "format/error.hpp"
#include "net/registry.hpp"
#include "runtime/config.hpp"

namespace rafs::runtime {

class BlobBackend {
public:
  virtual ~BlobBackend() = default;

  // Fills `out` with the bytes of blob `blob_index` from `offset`. A missing
  // blob is an error at the first read that needs it (other blobs keep
  // working); a blob shorter than the range is an error.
  [[nodiscard]] virtual Result<void> read(std::uint32_t blob_index, std::uint64_t offset,
                                          MutableBytes out) = 0;

  // A hint that [offset, offset + size) of the blob will be read soon
  // (readahead(2) for local files). Never fails; the default does nothing.
  virtual void readahead(std::uint32_t blob_index, std::uint64_t offset, std::uint64_t size);

  // A remote backend's wire counters (requests, bytes, retries); nullptr for local files.
  virtual net::RegistryCounters* registry_counters() noexcept { return nullptr; }
};

// The backend config.backend names (localfs or registry).
[[nodiscard]] Result<std::unique_ptr<BlobBackend>> open_blob_backend(const v5::Bootstrap& boot,
                                                                     const RuntimeConfig& config);

// The localfs backend of `config`: with config.blob_file set, that one file
// for every blob id; otherwise `<blob_dir>/<id>`, then `<alt_dir>/<id>` for
// each of config.alt_dirs in order (the first that exists). Files are opened
// once, on first use, and read with pread. Fails when the bootstrap has
// blobs and neither blob_file nor blob_dir is set.
[[nodiscard]] Result<std::unique_ptr<BlobBackend>>
open_localfs_backend(const v5::Bootstrap& boot, const RuntimeConfig& config);

} // namespace rafs::runtime
