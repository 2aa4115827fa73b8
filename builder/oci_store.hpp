// Where an image's files are read from: a directory (an OCI image layout)
// or a tar archive (oci-archive, docker-archive), addressed by their path
// inside it ("index.json", "blobs/sha256/<hex>", "<id>/layer.tar").
// Nothing is unpacked to disk: an archive member is read by opening the
// archive again and skipping (seeking) over the members before it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/byte_reader.hpp"
#include "format/error.hpp"

namespace rafs::builder {

// Every method is const and keeps no state between calls, so one store may
// serve several readers at once (each has its own file or archive handle).
// Where a file's bytes lie: `size` bytes at `offset` in `file` (a layout's
// own file at 0, or an archive member's data inside the archive).
struct FileExtent {
  std::string file;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

class OciStore {
public:
  virtual ~OciStore() = default;
  // The file's size; nullopt when there is no such file. Paths are
  // normalized (a leading "./" is ignored); a path with ".." is not found.
  // Archive members that are symbolic or hard links are followed.
  [[nodiscard]] virtual Result<std::optional<std::uint64_t>> size_of(const std::string& path) const = 0;
  // A whole file of at most `cap` bytes (Errc::overflow beyond it,
  // Errc::not_found when missing).
  [[nodiscard]] virtual Result<std::vector<std::uint8_t>> read_all(const std::string& path,
                                                                   std::uint64_t cap) const = 0;
  // The file as a stream; `name` is the reader's name for messages.
  [[nodiscard]] virtual Result<std::unique_ptr<ByteReader>> open(const std::string& path,
                                                                 std::string name) const = 0;
  // Where the file's bytes lie, for reading them in place (pread). Errors:
  // Errc::not_found when missing; Errc::unsupported for a member of a
  // compressed archive or a sparse member (its bytes are not contiguous),
  // and for stores that are not files (the default).
  [[nodiscard]] virtual Result<FileExtent> locate(const std::string& path) const;
  // "DIR/path" or "ARCHIVE/path", for messages.
  virtual std::string where(const std::string& path) const = 0;
};

// REQUIRES: `dir` is a directory.
[[nodiscard]] Result<std::unique_ptr<OciStore>> open_dir_store(const std::string& dir);
// Reads the archive's headers once (plain, gzip or zstd tar). "FILE: not a
// tar archive (...)" when it is none.
[[nodiscard]] Result<std::unique_ptr<OciStore>> open_archive_store(const std::string& file);

} // namespace rafs::builder
