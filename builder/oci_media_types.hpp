// Media types and annotation keys of the OCI image-spec and Docker's v2
// formats that rafs reads and writes, and the nydus ones as nydusify and
// nydus-snapshotter write and read them. One place for every spelling.
#pragma once

#include <string_view>

namespace rafs::builder::oci {

inline constexpr std::string_view k_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view k_docker_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view k_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view k_docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view k_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view k_docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view k_layer_tar_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view k_nydus_blob_layer = "application/vnd.oci.image.layer.nydus.blob.v1";

inline constexpr std::string_view k_ref_name = "org.opencontainers.image.ref.name";
inline constexpr std::string_view k_nydus_blob = "containerd.io/snapshot/nydus-blob";
inline constexpr std::string_view k_nydus_bootstrap = "containerd.io/snapshot/nydus-bootstrap";
inline constexpr std::string_view k_nydus_fs_version = "containerd.io/snapshot/nydus-fs-version";

} // namespace rafs::builder::oci
