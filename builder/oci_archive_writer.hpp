// An OCI image layout directory packed as an oci-archive (a plain tar of
// the layout, as skopeo's oci-archive: transport reads it): written to a
// temporary file beside FILE and renamed over it only when complete.
// Entries are sorted, owned by 0:0 with mtime 0, so the same layout gives
// the same bytes.
//
// add_docker_manifest makes such a layout also what `docker save` (25+)
// writes, a docker-archive: manifest.json ([{Config, RepoTags, Layers}],
// paths of the layout's blobs) beside it, and the image's docker name as
// the io.containerd.image.name annotation in index.json. skopeo reads the
// packed file as either transport.
#pragma once

#include <filesystem>
#include <string>

#include "format/error.hpp"

namespace rafs::builder {

[[nodiscard]] Result<void> write_layout_archive(const std::filesystem::path& layout_dir,
                                                const std::filesystem::path& file);

// Adds manifest.json to a layout holding one image (as OciLayoutWriter
// writes it) and names that image `repo_tag` ("x/y:tag") in index.json;
// `repo_tag` "" leaves index.json as it is and RepoTags empty. Each file is
// replaced atomically. Errors name the file: an index without exactly one
// manifest, a manifest without config or layers, a digest not sha256:<hex>.
[[nodiscard]] Result<void> add_docker_manifest(const std::filesystem::path& layout_dir,
                                               const std::string& repo_tag);

} // namespace rafs::builder
