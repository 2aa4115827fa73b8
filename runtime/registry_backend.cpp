#include "runtime/registry_backend.hpp"

#include <cstdlib>

#include "net/credentials.hpp"
#include "net/image_ref.hpp"
#include "net/registry.hpp"

namespace rafs::runtime {

namespace {

bool is_sha256_hex(const std::string& id) {
  return id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class RegistryBackend final : public BlobBackend {
public:
  RegistryBackend(const v5::Bootstrap& boot, std::shared_ptr<net::Registry> r)
      : m_boot(boot), m_registry(std::move(r)) {}

  Result<void> read(std::uint32_t blob_index, std::uint64_t offset, MutableBytes out) override {
    if (blob_index >= m_boot.blobs().size()) {
      return make_error(Errc::out_of_range, "blob index " + std::to_string(blob_index));
    }
    const std::string& id = m_boot.blobs()[blob_index].id;
    if (!is_sha256_hex(id)) {
      return make_error(Errc::corrupted, "blob id '" + id + "' is not a sha256 digest: not a registry blob");
    }
    return m_registry->read_blob("sha256:" + id, offset, out);
  }

  net::RegistryCounters* registry_counters() noexcept override { return &m_registry->counters(); }

private:
  const v5::Bootstrap& m_boot;
  std::shared_ptr<net::Registry> m_registry;
};

} // namespace

Result<std::unique_ptr<BlobBackend>> open_registry_backend(const v5::Bootstrap& boot, const RuntimeConfig& config) {
  const RegistryBackendConfig& rc = config.registry;
  net::ImageRef ref;
  ref.host = rc.host;
  ref.repo = rc.repo;
  net::RegistryOptions o;
  o.scheme = rc.scheme;
  o.allow_http = rc.skip_verify;
  o.http.tls_verify = !rc.skip_verify;
  o.http.ca_files = rc.ca_cert_files;
  o.http.connect_timeout_s = static_cast<long>(rc.connect_timeout_s);
  o.http.stall_timeout_s = static_cast<long>(rc.timeout_s);
  o.request_timeout = std::chrono::seconds(rc.timeout_s);
  o.retry_limit = rc.retry_limit;
  o.bearer_token = rc.registry_token;
  std::string auth = rc.auth;
  if (const char* env = std::getenv("IMAGE_PULL_AUTH"); env != nullptr && *env != '\0') {
    auth = env; // nydusd's override
  }
  if (!auth.empty()) {
    RAFS_TRY_ASSIGN(auto creds, net::parse_auth_field(auth, "registry backend: auth"));
    o.creds = creds;
  } else if (rc.creds) {
    o.creds = rc.creds;
  }
  RAFS_TRY_ASSIGN(auto registry, net::Registry::connect(ref, std::move(o), "pull"));
  return std::unique_ptr<BlobBackend>(std::make_unique<RegistryBackend>(boot, std::move(registry)));
}

} // namespace rafs::runtime
