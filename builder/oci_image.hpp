// A whole container image as input: an OCI image layout (a directory), an
// oci-archive (that layout in a tar) or a docker-archive (`docker save`).
// open() reads the index, selects one image by tag and platform, verifies
// the size and sha256 of every index, manifest and config blob it reads and
// checks that every layer blob is there; open_layer() then streams one
// layer's tar entries, nothing unpacked to disk:
//
//   blob bytes -> verify manifest digest and size -> decompress (per media
//   type) -> verify the config's diff_id -> tar entries
//
// so a layer that is not what the manifest or the config says fails at the
// latest when its Source reports its end. Every error is one line naming
// the source and the file, blob or layer concerned.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/layer_stream.hpp"
#include "builder/oci_store.hpp"
#include "builder/source_entry.hpp"
#include "format/error.hpp"

namespace rafs::builder {

class OciStore;

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;     // may be empty
  std::string str() const; // "linux/arm64/v8", "linux/amd64"
  bool operator==(const Platform&) const = default;
};

// "os/arch[/variant]", e.g. "linux/arm64/v8". Errc::invalid_argument when a
// part is empty or there are more than three.
[[nodiscard]] Result<Platform> parse_platform(std::string_view text);

enum class ImageFormat : std::uint8_t { oci_layout, oci_archive, docker_archive };

struct LayerDescriptor {
  std::string digest;     // "sha256:<hex>" of the blob; empty for docker-archive
  std::string media_type; // as the manifest says; empty for docker-archive
  std::uint64_t size = 0; // bytes of the blob (docker-archive: of the member)
  std::string diff_id;    // "sha256:<hex>" of the uncompressed tar, from the config
  LayerCompression compression = LayerCompression::none; // docker-archive: from the magic bytes
  std::string path; // inside the image: "blobs/sha256/<hex>" or "<id>/layer.tar"
  // A Nydus image's layers (media type or annotation as nydusify writes
  // them): a data blob is no tar, open_layer() refuses it; the bootstrap
  // layer is a tar holding image/image.boot.
  bool nydus_blob = false;
  bool nydus_bootstrap = false;
};

// An image source opened as a store of files, before any of its JSON is read.
struct ImageStore {
  std::unique_ptr<OciStore> store;
  ImageFormat format = ImageFormat::oci_layout;
  std::string tag; // "" for none
};

// The store a source names (see OciImage::open for the forms; a bare FILE
// is an oci_archive when it holds index.json or oci-layout, else a
// docker_archive when it holds manifest.json).
[[nodiscard]] Result<ImageStore> open_image_store(const std::string& source);

class OciImage {
public:
  // `source` is one of
  //   DIR | DIR:TAG | oci:DIR[:TAG]                   an OCI image layout
  //   oci-archive:FILE[:TAG]                          that layout in a tar
  //   docker-archive:FILE[:TAG]                       `docker save` output
  //   FILE[:TAG]   a tar: with index.json or oci-layout an oci-archive, else
  //                with manifest.json a docker-archive
  // A path that exists as given is never split at a ':'; otherwise the
  // last ':' whose left part exists separates the path from the TAG (so a
  // tag may hold ':' itself, as in "img:docker.io/library/alpine:3.19").
  // TAG selects by the annotation org.opencontainers.image.ref.name (or
  // io.containerd.image.name, as docker 25+ writes), or by a docker RepoTags
  // entry ("name:tag"): the whole reference (also in docker's short form:
  // "alpine:3" for "docker.io/library/alpine:3"), else the part after its
  // last ':' ("3").
  //
  // `platform` selects among several images; nullopt means linux/amd64, but
  // when exactly one image is there (after the tag), it is taken whatever
  // its platform. A variant is compared only when `platform` has one
  // (arm64 without a variant is arm64/v8). Errors: no such tag, no image for
  // the platform (lists the available ones), several images for it (asks
  // for a tag), bad JSON, blobs missing or not matching their descriptor,
  // unsupported media types, a config whose rootfs.diff_ids does not have
  // one entry per layer.
  [[nodiscard]] static Result<std::unique_ptr<OciImage>> open(const std::string& source,
                                                              const std::optional<Platform>& platform);
  // The same from a store already open (e.g. one held in memory): `format`
  // says how to read it (oci_archive reads as oci_layout), `name` prefixes
  // messages and `tag` selects as the TAG above ("" for none).
  [[nodiscard]] static Result<std::unique_ptr<OciImage>> open(std::unique_ptr<OciStore> store, ImageFormat format,
                                                              std::string name, const std::string& tag,
                                                              const std::optional<Platform>& platform);
  ~OciImage();
  OciImage(const OciImage&) = delete;
  OciImage& operator=(const OciImage&) = delete;

  ImageFormat format() const noexcept { return m_format; }
  const std::string& name() const noexcept { return m_name; }                      // the source as given
  const OciStore& store() const noexcept { return *m_store; }
  const std::vector<LayerDescriptor>& layers() const noexcept { return m_layers; } // lowest first
  const std::vector<std::uint8_t>& config_bytes() const noexcept { return m_config_bytes; }
  const nlohmann::json& config() const noexcept { return *m_config; }
  // Of the selected image, from its config (os, architecture, variant).
  Platform platform() const { return m_platform; }
  // The selected image's ref.name annotation, or the docker RepoTags entry
  // ("name:tag") it was selected by (or its first one); "" when untagged.
  const std::string& ref_name() const noexcept { return m_ref_name; }
  // "sha256:<hex>" of the selected manifest; empty for docker-archive.
  std::string manifest_digest() const { return m_manifest_digest; }

  // Layer `i` (0 = lowest) as a stream of tar entries, verified as it is
  // read (see the top of this file). Its name(), which prefixes its
  // messages, is "SOURCE: layer N (sha256:<hex>)" with N counted from 1
  // (docker-archive: the member path instead of the digest). Layers may be
  // open at the same time (each has its own file handles).
  // REQUIRES: i < layers().size().
  [[nodiscard]] Result<std::unique_ptr<Source>> open_layer(std::size_t i) const;
  // "SOURCE: layer N (...)" as above.
  std::string layer_name(std::size_t i) const;

private:
  OciImage();
  friend class OciImageLoader;

  std::string m_name;
  ImageFormat m_format = ImageFormat::oci_layout;
  std::unique_ptr<OciStore> m_store;
  std::vector<LayerDescriptor> m_layers;
  std::vector<std::uint8_t> m_config_bytes;
  std::unique_ptr<nlohmann::json> m_config;
  Platform m_platform;
  std::string m_ref_name;
  std::string m_manifest_digest;
};

} // namespace rafs::builder
