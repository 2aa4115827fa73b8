// A Nydus image to mount (`rafs mount docker://...`, `oci:DIR[:TAG]`, an archive):
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

#include "builder/oci_image.hpp"
#include "format/error.hpp"
#include "format/huge_pages.hpp"
#include "net/registry.hpp"

namespace rafs::cli {

struct NydusBootstrap {
  HugeBuffer bytes; // the RAFS bootstrap (for v5::Bootstrap::from_buffer)
  std::string manifest_digest;
  std::string layer_digest; // the bootstrap layer's
};

[[nodiscard]] Result<NydusBootstrap> fetch_bootstrap(net::Registry& registry);

// The bootstrap of a Nydus image in a layout or archive (as `rafs convert`
// writes one), opened with builder::OciImage: the layer annotated
// nydus-bootstrap (the last one), checked against its digest.
[[nodiscard]] Result<NydusBootstrap> read_image_bootstrap(const builder::OciImage& image);

} // namespace rafs::cli
