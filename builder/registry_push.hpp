// Pushes an OCI image layout holding one image (as OciLayoutWriter writes
// it) to a registry repository: every layer blob, then the config, then
// the manifest under the tag, so a run that fails never leaves a manifest
// that points at missing blobs. A blob the registry already has is not
// sent again (HEAD first); one in `mount_from_repo` on the same registry is
// mounted instead of uploaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "format/error.hpp"
#include "net/registry.hpp"

namespace rafs::builder {

struct PushReport {
  std::size_t uploaded = 0, existed = 0, mounted = 0;
  std::uint64_t bytes_uploaded = 0;
  std::string manifest_digest;
};

[[nodiscard]] Result<PushReport> push_layout(const std::filesystem::path& layout_dir, net::Registry& target,
                                             const std::string& tag, const std::string& mount_from_repo = {});

} // namespace rafs::builder
