// Container images built in code, for tests of image input: an OCI image
// layout directory, the same layout packed in a tar (oci-archive), a
// `docker save` archive (docker-archive), and a multi-platform layout
// (index.json -> image index -> one manifest per platform). Layers are
// tar_maker tars (PAX), compressed here with zlib / zstd so each diff_id is
// the sha256 of exactly the tar inside. Per-layer and per-layout faults
// make the bad-input cases.
//
// A layout has: oci-layout; index.json (one entry per image, annotated
// org.opencontainers.image.ref.name = tag); blobs/sha256/ with each
// layer, config (os, architecture, variant, Env, Entrypoint, history,
// rootfs.diff_ids) and manifest (OCI media types).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "support/tar_maker.hpp"

namespace rafs::test {

// Every member has a default (`{}` at least), so a partial brace
// initialization ({entries, filter}) stays clean under -Wextra.
struct OciLayerSpec {
  std::vector<TarEntry> entries{};
  TarFilter filter = TarFilter::none;

  // Faults (all off by default):
  // "" = the OCI layer media type matching `filter`.
  std::string media_type{};
  // Non-empty: these bytes instead of the tar of `entries` (still compressed per `filter`).
  std::string content{};
  // The manifest names the blob by another digest (the blob is stored under that name).
  bool wrong_digest = false;
  // The config's diff_id is the sha256 of other bytes.
  bool wrong_diff_id = false;
  // The blob (docker-archive: ID/layer.tar) is not written.
  bool omit_blob = false;
};

struct OciImageSpec {
  std::vector<OciLayerSpec> layers{};
  std::string tag = "latest"; // ref.name annotation; docker RepoTags "rafs-test:<tag>"; "" = untagged
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant{};
  std::string containerd_name{}; // io.containerd.image.name annotation, as docker 25+ writes; "" = none
  bool short_diff_ids = false;   // fault: the config's rootfs.diff_ids lacks its last entry
};

struct OciLayoutOptions {
  bool broken_index_json = false;  // index.json (docker-archive: manifest.json) is cut short
  bool platform_in_index = false;  // index.json descriptors carry a platform field
  std::string member_prefix{};     // archives: before every member name, e.g. "./"
};

// What was written, for exact assertions.
struct OciImageInfo {
  std::string manifest_digest; // "sha256:<hex>"; "" for docker-archive
  std::string config_digest;
  std::vector<std::string> layer_digests; // as the manifest names them ("" for docker-archive)
  std::vector<std::string> diff_ids;      // as the config says
  std::vector<std::string> layer_paths;   // "blobs/sha256/<hex>" or "<id>/layer.tar"
};

// One image per index.json entry, in order.
std::vector<OciImageInfo> write_oci_layout(const std::filesystem::path& dir,
                                           const std::vector<OciImageSpec>& images,
                                           const OciLayoutOptions& options = {});
// The layout of write_oci_layout() as one tar file.
std::vector<OciImageInfo> write_oci_archive(const std::filesystem::path& file,
                                            const std::vector<OciImageSpec>& images,
                                            const OciLayoutOptions& options = {});
// manifest.json ([{Config, RepoTags, Layers}]), <config hex>.json,
// <id>/layer.tar (+ VERSION, json) per layer, repositories.
std::vector<OciImageInfo> write_docker_archive(const std::filesystem::path& file,
                                               const std::vector<OciImageSpec>& images,
                                               const OciLayoutOptions& options = {});
// index.json holds one entry (ref.name = `tag`) naming an image index whose
// manifests carry platform fields, one per image (each image's own tag is
// not used).
std::vector<OciImageInfo> write_oci_multi_platform(const std::filesystem::path& dir,
                                                   const std::vector<OciImageSpec>& images,
                                                   const std::string& tag,
                                                   const OciLayoutOptions& options = {});

// "sha256:<hex>" of some bytes.
std::string sha256_digest(const std::vector<std::uint8_t>& bytes);
// The bytes compressed as a layer would be (gzip, zstd; none: unchanged).
std::vector<std::uint8_t> compress_layer(const std::vector<std::uint8_t>& tar, TarFilter filter);

} // namespace rafs::test
