#include "support/registry_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/run.hpp"
#include "support/tar_maker.hpp"

namespace rafs::test {

namespace {

namespace fs = std::filesystem;

// A port the kernel has just handed out (and taken back): free for now.
int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("no free port");
  }
  ::close(s);
  return ntohs(a.sin_port);
}

bool accepts(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = s >= 0 && ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (s >= 0) {
    ::close(s);
  }
  return ok;
}

void check(const RunResult& r, const std::string& what) {
  if (r.exit_code != 0) {
    throw std::runtime_error(what + " failed: " + r.out + r.err);
  }
}

} // namespace

RegistryServer::RegistryServer(fs::path dir, RegistryServerOptions options)
    : m_dir(std::move(dir)), m_options(std::move(options)), m_port(free_port()) {
  m_host = "127.0.0.1:" + std::to_string(m_port);
  fs::create_directories(m_dir / "storage");
  fs::create_directories(cert_dir());
  std::ofstream cfg(m_dir / "config.yml");
  cfg << "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "
      << (m_dir / "storage").string() << "\n  delete:\n    enabled: true\nhttp:\n  addr: " << m_host << "\n";
  if (m_options.tls) {
    const std::string certs = shell_quote(cert_dir().string());
    check(sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout " + shell_quote((m_dir / "server.key").string()) +
             " -out " + certs + "/ca.crt 2>&1"),
          "openssl");
    cfg << "  tls:\n    certificate: " << (cert_dir() / "ca.crt").string()
        << "\n    key: " << (m_dir / "server.key").string() << "\n";
  }
  if (!m_options.user.empty()) {
    const fs::path htpasswd = m_dir / "htpasswd";
    check(sh("htpasswd -Bbn " + shell_quote(m_options.user) + " " + shell_quote(m_options.password) + " > " +
             shell_quote(htpasswd.string())),
          "htpasswd");
    cfg << "auth:\n  htpasswd:\n    realm: rafs-test\n    path: " << htpasswd.string() << "\n";
  }
  cfg.close();
  start();
}

RegistryServer::~RegistryServer() {
  try {
    stop();
  } catch (...) {
  }
}

std::string RegistryServer::skopeo_flags(const std::string& side) const {
  const std::string p = side.empty() ? "--" : "--" + side + "-";
  std::string f = m_options.tls ? p + "cert-dir " + shell_quote(cert_dir().string()) : p + "tls-verify=false";
  if (!m_options.user.empty()) {
    f += " " + p + "creds " + shell_quote(m_options.user + ":" + m_options.password);
  }
  return f;
}

void RegistryServer::start() {
  if (m_pid > 0) {
    return;
  }
  const std::string log = (m_dir / "registry.log").string();
  const std::string config = (m_dir / "config.yml").string();
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execlp("docker-registry", "docker-registry", "serve", config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  m_pid = pid;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!accepts(m_port)) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      throw std::runtime_error("docker-registry exited at start; see " + log);
    }
    if (std::chrono::steady_clock::now() > end) {
      throw std::runtime_error("docker-registry did not listen on " + m_host);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void RegistryServer::stop() {
  if (m_pid <= 0) {
    return;
  }
  ::kill(m_pid, SIGTERM);
  int status = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::waitpid(m_pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  m_pid = -1;
  // The port must be closed before anyone relies on "the registry is down".
  while (accepts(m_port)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

} // namespace rafs::test
