// A Nydus image in a registry, for `rafs mount docker://...`: the manifest
// the reference names (from an index, the one for this machine's platform)
// and the bootstrap read out of its bootstrap layer (the layer annotated
// containerd.io/snapshot/nydus-bootstrap, a tar holding image/image.boot).
// The data blobs stay in the registry: the registry backend reads them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/error.hpp"
#include "net/registry.hpp"

namespace rafs::cli {

struct RegistryBootstrap {
  std::vector<std::uint8_t> bytes; // the RAFS bootstrap
  std::string manifest_digest;
  std::string layer_digest; // the bootstrap layer's
};

[[nodiscard]] Result<RegistryBootstrap> fetch_bootstrap(net::Registry& registry);

} // namespace rafs::cli
