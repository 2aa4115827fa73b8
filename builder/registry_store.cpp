#include "builder/registry_store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "builder/oci_media_types.hpp"

namespace rafs::builder {

namespace {

using json = nlohmann::json;

// "blobs/sha256/<64 hex>" -> "sha256:<hex>"; empty for anything else.
std::string digest_of_path(std::string path) {
  if (path.rfind("./", 0) == 0) {
    path.erase(0, 2);
  }
  constexpr std::string_view prefix = "blobs/sha256/";
  if (path.size() != prefix.size() + 64 || path.compare(0, prefix.size(), prefix) != 0) {
    return {};
  }
  const std::string hex = path.substr(prefix.size());
  if (!std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return {};
  }
  return "sha256:" + hex;
}

bool is_index(const std::string& media_type) {
  return media_type == oci::k_index || media_type == oci::k_docker_list;
}

class BlobStreamReader final : public ByteReader {
public:
  BlobStreamReader(std::unique_ptr<net::BlobStream> s, std::string name)
      : m_stream(std::move(s)), m_name(std::move(name)) {}
  Result<std::size_t> read(MutableBytes out) override {
    auto got = m_stream->read(out);
    if (!got) {
      return got.error().with_context(m_name);
    }
    m_read += *got;
    return got;
  }
  std::string name() const override { return m_name; }
  std::uint64_t raw_bytes_read() const override { return m_read; }

private:
  std::unique_ptr<net::BlobStream> m_stream;
  std::string m_name;
  std::uint64_t m_read = 0;
};

class RegistryStore final : public OciStore {
public:
  explicit RegistryStore(std::shared_ptr<net::Registry> r) : m_registry(std::move(r)) {}

  Result<void> load_top() {
    RAFS_TRY_ASSIGN(net::Registry::Manifest top, m_registry->get_manifest(m_registry->ref().reference()));
    json descriptor{{"mediaType", top.media_type}, {"digest", top.digest}, {"size", top.bytes.size()}};
    if (!m_registry->ref().tag.empty()) {
      descriptor["annotations"] = {{std::string(oci::k_ref_name), m_registry->ref().tag}};
    }
    json index{{"schemaVersion", 2}, {"mediaType", oci::k_index}, {"manifests", json::array({descriptor})}};
    m_files["index.json"] = to_bytes(index.dump());
    m_files["oci-layout"] = to_bytes(json{{"imageLayoutVersion", "1.0.0"}}.dump());
    remember(top);
    return {};
  }

  Result<std::optional<std::uint64_t>> size_of(const std::string& path) const override {
    std::lock_guard lock(m_mutex);
    if (auto it = m_files.find(path); it != m_files.end()) {
      return std::optional<std::uint64_t>(it->second.size());
    }
    const std::string digest = digest_of_path(path);
    if (digest.empty()) {
      return std::optional<std::uint64_t>{};
    }
    if (auto it = m_manifests.find(digest); it != m_manifests.end()) {
      return std::optional<std::uint64_t>(it->second.size());
    }
    if (m_manifest_digests.count(digest) != 0) {
      RAFS_TRY_ASSIGN(net::Registry::Manifest m, m_registry->get_manifest(digest));
      const std::uint64_t size = m.bytes.size();
      remember(m);
      return std::optional<std::uint64_t>(size);
    }
    return m_registry->blob_size(digest);
  }

  Result<std::vector<std::uint8_t>> read_all(const std::string& path, std::uint64_t cap) const override {
    std::lock_guard lock(m_mutex);
    std::vector<std::uint8_t> bytes;
    if (auto it = m_files.find(path); it != m_files.end()) {
      bytes = it->second;
    } else if (std::string digest = digest_of_path(path); digest.empty()) {
      return make_error(Errc::not_found, where(path) + ": no such file");
    } else if (auto m = m_manifests.find(digest); m != m_manifests.end()) {
      bytes = m->second;
    } else if (m_manifest_digests.count(digest) != 0) {
      RAFS_TRY_ASSIGN(net::Registry::Manifest got, m_registry->get_manifest(digest));
      bytes = got.bytes;
      remember(got);
    } else {
      RAFS_TRY_ASSIGN(bytes, m_registry->get_blob(digest, cap + 1));
    }
    if (bytes.size() > cap) {
      return make_error(Errc::overflow, where(path) + ": larger than " + std::to_string(cap) + " bytes");
    }
    return bytes;
  }

  Result<std::unique_ptr<ByteReader>> open(const std::string& path, std::string name) const override {
    const std::string digest = digest_of_path(path);
    if (digest.empty()) {
      return make_error(Errc::not_found, where(path) + ": no such blob");
    }
    RAFS_TRY_ASSIGN(auto stream, m_registry->open_blob(digest));
    return std::unique_ptr<ByteReader>(std::make_unique<BlobStreamReader>(std::move(stream), std::move(name)));
  }

  std::string where(const std::string& path) const override {
    const std::string digest = digest_of_path(path);
    const std::string repo = "docker://" + m_registry->ref().host + "/" + m_registry->ref().repo;
    return digest.empty() ? repo + " " + path : repo + "@" + digest;
  }

private:
  static std::vector<std::uint8_t> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }

  // Keeps a fetched manifest; an index's children are manifests too.
  void remember(const net::Registry::Manifest& m) const {
    m_manifests[m.digest] = m.bytes;
    if (!is_index(m.media_type)) {
      return;
    }
    auto doc = json::parse(m.bytes.begin(), m.bytes.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("manifests") || !doc["manifests"].is_array()) {
      return; // the loader reports what is wrong with it
    }
    for (const auto& d : doc["manifests"]) {
      if (d.is_object() && d.contains("digest") && d["digest"].is_string()) {
        m_manifest_digests.insert(d["digest"].get<std::string>());
      }
    }
  }

  std::shared_ptr<net::Registry> m_registry;
  mutable std::mutex m_mutex;
  std::map<std::string, std::vector<std::uint8_t>> m_files; // made-up files
  mutable std::map<std::string, std::vector<std::uint8_t>> m_manifests;
  mutable std::set<std::string> m_manifest_digests;
};

} // namespace

Result<std::unique_ptr<OciStore>> open_registry_store(std::shared_ptr<net::Registry> registry) {
  auto store = std::make_unique<RegistryStore>(std::move(registry));
  RAFS_TRY(store->load_top());
  return std::unique_ptr<OciStore>(std::move(store));
}

} // namespace rafs::builder
