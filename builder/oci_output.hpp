// A Nydus image written as an OCI image layout, the way nydusify lays it out:
//
//   OUT_DIR/oci-layout           {"imageLayoutVersion":"1.0.0"}
//   OUT_DIR/index.json           one manifest descriptor (+ platform, + ref name)
//   OUT_DIR/blobs/sha256/<hex>   data blobs, the bootstrap layer, config, manifest
//
// The manifest lists one layer per data blob (media type
// application/vnd.oci.image.layer.nydus.blob.v1, annotation
// containerd.io/snapshot/nydus-blob) and, last, the bootstrap layer: a gzip'd
// tar holding only image/image.boot (annotations nydus-bootstrap and
// nydus-fs-version "5"). The config is the source image's, with rootfs
// rewritten to those layers' diff_ids. Same input, same bytes: the tar and the
// gzip carry no time, owner or name of ours.
//
// Everything is built in a staging directory beside OUT_DIR that becomes
// OUT_DIR only on commit(), so OUT_DIR is never seen half made.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "format/error.hpp"

namespace rafs::builder {

// A staging directory beside OUT_DIR ("<parent>/.<name>.tmp-XXXXXX") that
// becomes OUT_DIR only on commit(); destroyed uncommitted it is removed
// entirely (no half-made OUT_DIR ever).
class OciLayoutWriter {
public:
  // Creates the staging directory (with blobs/sha256) in OUT_DIR's parent,
  // which must exist. OUT_DIR itself is not looked at until commit().
  [[nodiscard]] static Result<OciLayoutWriter> create(const std::filesystem::path& out_dir);
  ~OciLayoutWriter(); // removes staging if not committed
  OciLayoutWriter(OciLayoutWriter&& o) noexcept;
  OciLayoutWriter& operator=(OciLayoutWriter&& o) noexcept; // drops our own staging first
  OciLayoutWriter(const OciLayoutWriter&) = delete;
  OciLayoutWriter& operator=(const OciLayoutWriter&) = delete;

  // Where the builder writes data blobs directly (staging/blobs/sha256); a
  // blob file there is named by its hex sha256. After commit(),
  // OUT_DIR/blobs/sha256.
  std::filesystem::path blob_dir() const;

  // Adds an existing blob file (e.g. from a chunk-dict blob dir) under its
  // sha256 hex id: a hard link if possible, else a copy (copy_file_range,
  // sendfile where refused) that appears under its name only once complete.
  // Verifies nothing: the caller knows the id. A blob already staged under
  // that id is kept as it is (same id, same bytes).
  // REQUIRES: hex_id is 64 lowercase hex digits (else Errc::invalid_argument).
  [[nodiscard]] Result<void> add_blob_file(const std::string& hex_id,
                                           const std::filesystem::path& src);

  // Removes a blob from staging that ended up unreferenced.
  // Errc::not_found if no blob of that id is staged.
  [[nodiscard]] Result<void> remove_blob(const std::string& hex_id);

  struct Image {
    // Hex id and size, in blob-table order; each already in blob_dir().
    std::vector<std::pair<std::string, std::uint64_t>> data_blobs;
    std::vector<std::uint8_t> bootstrap;     // bytes of the RAFS bootstrap
    std::vector<std::uint8_t> source_config; // the source image's config JSON bytes
    // index.json annotation org.opencontainers.image.ref.name ("" = none).
    std::string ref_name;
  };
  // Each "sha256:<hex>".
  struct Written {
    std::string manifest_digest, config_digest, bootstrap_layer_digest, bootstrap_diff_id;
  };

  // Writes the bootstrap layer, config, manifest, oci-layout and index.json
  // into staging, fsyncs them (data blobs and directories too), then moves
  // staging to OUT_DIR. An existing OUT_DIR is replaced: swapped atomically
  // (RENAME_EXCHANGE) where the filesystem can, else renamed aside, staging
  // renamed in, and put back on failure; the old one is then deleted
  // best-effort. A failure at any point leaves the old OUT_DIR as it was.
  //
  // Fails with Errc::corrupted "image config: ..." when source_config is not
  // a JSON object or lacks a non-empty string "os" or "architecture" (the
  // index's platform); Errc::not_found / Errc::corrupted when a data blob is
  // missing from blob_dir() or its size differs; Errc::invalid_argument when
  // OUT_DIR exists but is not a directory (a symlink included), or when
  // called again after a successful commit. A failed commit may be retried;
  // the staging directory stays until the writer is destroyed.
  [[nodiscard]] Result<Written> commit(const Image& image);

private:
  OciLayoutWriter() = default;
  void discard() noexcept;

  std::filesystem::path m_out;     // OUT_DIR as given, trailing slashes dropped
  std::filesystem::path m_staging; // empty once moved from
  bool m_committed = false;
};

} // namespace rafs::builder
