#include "net/credentials.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "format/file.hpp"
#include "net/base64.hpp"

namespace rafs::net {

namespace {

constexpr std::uint64_t k_max_auth_file = 4 << 20;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::vector<std::filesystem::path> auth_files() {
  if (auto f = env("REGISTRY_AUTH_FILE"); !f.empty()) {
    return {f};
  }
  std::vector<std::filesystem::path> files;
  if (auto run = env("XDG_RUNTIME_DIR"); !run.empty()) {
    files.emplace_back(std::filesystem::path(run) / "containers" / "auth.json");
  }
  const std::string home = env("HOME");
  if (!home.empty()) {
    files.emplace_back(std::filesystem::path(home) / ".config" / "containers" / "auth.json");
  }
  if (auto dc = env("DOCKER_CONFIG"); !dc.empty()) {
    files.emplace_back(std::filesystem::path(dc) / "config.json");
  } else if (!home.empty()) {
    files.emplace_back(std::filesystem::path(home) / ".docker" / "config.json");
  }
  return files;
}

// The key's registry: "https://index.docker.io/v1/" -> "index.docker.io".
std::string key_host(std::string key) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (key.rfind(scheme, 0) == 0) {
      key.erase(0, scheme.size());
    }
  }
  if (auto slash = key.find('/'); slash != std::string::npos) {
    key.erase(slash);
  }
  return key;
}

bool same_registry(const std::string& key, const std::string& host) {
  const std::string k = key_host(key);
  if (k == host) {
    return true;
  }
  auto is_docker_hub = [](const std::string& h) {
    return h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io";
  };
  return is_docker_hub(k) && is_docker_hub(host);
}

Result<std::optional<Credentials>> from_file(const std::filesystem::path& file, const std::string& host) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return std::optional<Credentials>{};
  }
  RAFS_TRY_ASSIGN(auto bytes, read_whole_file(file, k_max_auth_file));
  const std::string name = file.string();
  auto doc = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(Errc::corrupted, name + ": not a JSON object");
  }
  auto auths = doc.find("auths");
  if (auths == doc.end() || !auths->is_object()) {
    return std::optional<Credentials>{};
  }
  for (const auto& [key, entry] : auths->items()) {
    if (!same_registry(key, host) || !entry.is_object()) {
      continue;
    }
    const std::string where = name + ": auths." + key;
    if (auto a = entry.find("auth"); a != entry.end() && a->is_string() && !a->get<std::string>().empty()) {
      RAFS_TRY_ASSIGN(auto c, parse_auth_field(a->get<std::string>(), where));
      return std::optional<Credentials>(std::move(c));
    }
    auto u = entry.find("username");
    auto p = entry.find("password");
    if (u != entry.end() && p != entry.end() && u->is_string() && p->is_string()) {
      return std::optional<Credentials>(Credentials{u->get<std::string>(), p->get<std::string>()});
    }
  }
  return std::optional<Credentials>{};
}

} // namespace

Result<Credentials> parse_creds(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return make_error(Errc::invalid_argument, "credentials must be USER:PASSWORD");
  }
  return Credentials{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

Result<Credentials> parse_auth_field(std::string_view base64, const std::string& where) {
  auto decoded = base64_decode(base64);
  if (!decoded) {
    return make_error(Errc::corrupted, where + ": auth is not base64");
  }
  auto c = parse_creds(*decoded);
  if (!c) {
    return make_error(Errc::corrupted, where + ": auth does not decode to USER:PASSWORD");
  }
  return c;
}

Result<std::optional<Credentials>> find_credentials(const std::string& host) {
  for (const auto& file : auth_files()) {
    RAFS_TRY_ASSIGN(auto found, from_file(file, host));
    if (found) {
      return found;
    }
  }
  return std::optional<Credentials>{};
}

} // namespace rafs::net
