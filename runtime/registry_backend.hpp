// The registry backend (nydusd's "registry"): blob `id` is the registry
// blob sha256:<id> of config.registry.repo, read with HTTP Range requests
// over pooled keep-alive connections, redirects followed, the token renewed
// on 401. A read that fails (registry down, 5xx) is retried up to
// retry_limit times with backoff, each try limited to `timeout`; then it is
// an error (EIO at the FUSE layer) and the next read tries afresh.
#pragma once

#include <memory>

#include "format/bootstrap.hpp"
#include "runtime/blob_backend.hpp"
#include "runtime/config.hpp"

namespace rafs::runtime {

// Connects (GET /v2/ and the auth flow) before returning, so a registry
// that is unreachable or refuses the credentials fails the mount.
[[nodiscard]] Result<std::unique_ptr<BlobBackend>> open_registry_backend(const v5::Bootstrap& boot,
                                                                         const RuntimeConfig& config);

} // namespace rafs::runtime
