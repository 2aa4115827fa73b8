// A real OCI registry for tests: Debian's docker-registry (distribution 2.8)
// on 127.0.0.1 at a free port, storing under the test's directory; with
// htpasswd Basic auth over TLS (a certificate made here with openssl for
// 127.0.0.1) when asked. Stopped at scope exit; stop() and start() keep
// the port and the storage (a registry that goes away and comes back).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace rafs::test {

struct RegistryServerOptions {
  bool tls = false;
  std::string user;     // non-empty: htpasswd auth with this user...
  std::string password; // ...and password (requires tls)
};

class RegistryServer {
public:
  // Writes the config (and certificate, htpasswd) under `dir` and starts.
  explicit RegistryServer(std::filesystem::path dir, RegistryServerOptions options = {});
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // "127.0.0.1:PORT"
  const std::string& host() const { return m_host; }
  // "docker://127.0.0.1:PORT/<repo>"
  std::string ref(const std::string& repo) const { return "docker://" + m_host + "/" + repo; }
  // A directory holding the CA certificate (ca.crt) when tls.
  std::filesystem::path cert_dir() const { return m_dir / "certs"; }
  // skopeo's flags for this registry ("--dest-tls-verify=false" or
  // "--dest-cert-dir ..." and "--dest-creds ..."), `side` "src", "dest" or
  // "" (inspect: "--tls-verify=false"...).
  std::string skopeo_flags(const std::string& side) const;

  // SIGTERM and wait; start() again on the same port and storage. Both
  // fail the test (throw) if the registry does not stop or come up.
  void stop();
  void start();
  bool running() const { return m_pid > 0; }

private:
  std::filesystem::path m_dir;
  RegistryServerOptions m_options;
  std::string m_host;
  int m_port = 0;
  pid_t m_pid = -1;
};

} // namespace rafs::test
