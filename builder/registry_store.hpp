// An image in a registry repository, read as if it were an OCI image layout
// (builder/oci_store.hpp), so OciImage selects, verifies and streams it
// exactly as it does a local layout:
//   oci-layout, index.json   made up: index.json holds one descriptor, of
//                            the manifest or index the reference names
//   blobs/sha256/<hex>       GET /manifests/<digest> for that manifest and
//                            the manifests of the indexes read through here,
//                            GET /blobs/<digest> for everything else
// Layers are streamed from the registry (never written to disk) and resumed
// with a Range request if the connection drops.
#pragma once

#include <memory>

#include "builder/oci_store.hpp"
#include "format/error.hpp"
#include "net/registry.hpp"

namespace rafs::builder {

// Fetches the manifest `registry->ref()` names (by tag or digest).
[[nodiscard]] Result<std::unique_ptr<OciStore>> open_registry_store(std::shared_ptr<net::Registry> registry);

} // namespace rafs::builder
