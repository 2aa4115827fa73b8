#include "cli/registry_flags.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>

namespace rafs::cli {

void add_registry_flags(CLI::App& app, RegistryFlags& flags, bool two_sides) {
  app.add_option("--creds", flags.creds, "Registry credentials USER:PASSWORD (else the auth files)");
  if (two_sides) {
    app.add_option("--src-creds", flags.src_creds, "Credentials USER:PASSWORD for the source registry");
    app.add_option("--dest-creds", flags.dest_creds, "Credentials USER:PASSWORD for the target registry");
  }
  app.add_option("--tls-verify", flags.tls_verify,
                 "Verify registry TLS certificates; false also allows plain http (default true)")
      ->default_str("true");
  app.add_option("--cert-dir", flags.cert_dir, "Trust the CA certificates (*.crt) in this directory too")
      ->check(CLI::ExistingDirectory);
}

Result<net::RegistryOptions> registry_options(const RegistryFlags& flags, RegistrySide side) {
  net::RegistryOptions o;
  o.http.tls_verify = flags.tls_verify;
  o.allow_http = !flags.tls_verify;
  std::string creds = side == RegistrySide::source ? flags.src_creds : flags.dest_creds;
  if (creds.empty()) {
    creds = flags.creds;
  }
  if (!creds.empty()) {
    auto c = net::parse_creds(creds);
    if (!c) {
      return c.error().with_context("--creds");
    }
    o.creds = *c;
  }
  if (!flags.cert_dir.empty()) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(flags.cert_dir, ec)) {
      if (e.path().extension() == ".crt") {
        o.http.ca_files.push_back(e.path());
      }
    }
    if (ec) {
      return make_error(Errc::io, flags.cert_dir + ": " + ec.message());
    }
    std::sort(o.http.ca_files.begin(), o.http.ca_files.end());
  }
  return o;
}

Result<std::shared_ptr<net::Registry>> connect_registry(const std::string& text, const RegistryFlags& flags,
                                                        RegistrySide side, const std::string& actions,
                                                        const std::string& mount_from_repo) {
  RAFS_TRY_ASSIGN(net::ImageRef ref, net::parse_image_ref(text));
  RAFS_TRY_ASSIGN(net::RegistryOptions options, registry_options(flags, side));
  return net::Registry::connect(ref, std::move(options), actions, mount_from_repo);
}

} // namespace rafs::cli
