// The registry flags `convert` and `mount` share (skopeo's spelling):
// credentials, TLS verification and extra CA certificates; and the image
// reference forms they take (oci:, oci-archive:, docker-archive:, docker://).
#pragma once

#include <memory>
#include <string>

#include "format/error.hpp"
#include "net/image_ref.hpp"
#include "net/registry.hpp"

namespace CLI {
class App;
}

namespace rafs::cli {

struct RegistryFlags {
  std::string creds;      // USER:PASS for both sides
  std::string src_creds;  // convert: the source registry
  std::string dest_creds; // convert: the target registry
  bool tls_verify = true;
  std::string cert_dir; // *.crt files: CA certificates to trust besides the system's
};

enum class RegistrySide : std::uint8_t { source, target };

// `convert` adds --src-creds and --dest-creds too.
void add_registry_flags(CLI::App& app, RegistryFlags& flags, bool two_sides);

// Options for talking to `ref`'s registry; credentials from the flags, else
// (left unset) from the auth files at connect.
[[nodiscard]] Result<net::RegistryOptions> registry_options(const RegistryFlags& flags, RegistrySide side);

// Connects to `text` ("docker://...") for `actions` ("pull", "pull,push").
[[nodiscard]] Result<std::shared_ptr<net::Registry>>
connect_registry(const std::string& text, const RegistryFlags& flags, RegistrySide side, const std::string& actions,
                 const std::string& mount_from_repo = {});

} // namespace rafs::cli
