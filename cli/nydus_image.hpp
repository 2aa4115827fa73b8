// A Nydus image to mount (`rafs mount docker://...` or `oci:DIR[:TAG]`):
// the manifest the reference names (from an index, the one for this
// machine's platform) and the bootstrap read out of its bootstrap layer
// (the layer annotated containerd.io/snapshot/nydus-bootstrap, a tar
// holding image/image.boot), checked against the layer's digest. The data
// blobs stay where they are: the registry backend, or the layout's
// blobs/sha256 directory, serves them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/error.hpp"
#include "net/registry.hpp"

namespace rafs::cli {

struct NydusBootstrap {
  std::vector<std::uint8_t> bytes; // the RAFS bootstrap
  std::string manifest_digest;
  std::string layer_digest; // the bootstrap layer's
};

[[nodiscard]] Result<NydusBootstrap> fetch_bootstrap(net::Registry& registry);

// An OCI image layout holding a Nydus image (as `rafs convert` writes one):
// `tag` selects by org.opencontainers.image.ref.name ("" = the only image).
[[nodiscard]] Result<NydusBootstrap> read_layout_bootstrap(const std::string& dir, const std::string& tag);

} // namespace rafs::cli
