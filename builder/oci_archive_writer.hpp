// An OCI image layout directory packed as an oci-archive (a plain tar of
// the layout, as skopeo's oci-archive: transport reads it): written to a
// temporary file beside FILE and renamed over it only when complete.
// Entries are sorted, owned by 0:0 with mtime 0, so the same layout gives
// the same bytes.
#pragma once

#include <filesystem>

#include "format/error.hpp"

namespace rafs::builder {

[[nodiscard]] Result<void> write_layout_archive(const std::filesystem::path& layout_dir,
                                                const std::filesystem::path& file);

} // namespace rafs::builder
