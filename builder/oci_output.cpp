#include "builder/oci_output.hpp"
#include "builder/oci_media_types.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>

#include "builder/oci_output_fs.hpp"
#include "builder/oci_output_layer.hpp"
#include "format/bytes.hpp"
#include "format/digest.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace rafs::builder {

namespace {

// Where nydus-snapshotter looks for the bootstrap inside the bootstrap layer.
constexpr std::string_view k_bootstrap_entry = "image/image.boot";

bool is_hex_id(std::string_view id) {
  if (id.size() != 64) {
    return false;
  }
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

Result<void> check_hex_id(std::string_view id) {
  if (!is_hex_id(id)) {
    return make_error(Errc::invalid_argument,
                      "blob id \"" + std::string(id) + "\" is not 64 lowercase hex digits");
  }
  return {};
}

Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string sha256_digest(Bytes data) {
  Sha256 h;
  h.update(data);
  return "sha256:" + to_hex(h.finalize());
}

std::string canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The source config as an object, and the index's platform from it.
Result<json> parse_config(Bytes bytes) {
  json config;
  try {
    config = json::parse(bytes.begin(), bytes.end());
  } catch (const json::parse_error& e) {
    return make_error(Errc::corrupted,
                      "image config: not valid JSON (at byte " + std::to_string(e.byte) + ")");
  }
  if (!config.is_object()) {
    return make_error(Errc::corrupted, std::string("image config: a JSON ") + config.type_name() +
                                           ", not an object");
  }
  for (const char* key : {"os", "architecture"}) {
    auto it = config.find(key);
    if (it == config.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return make_error(Errc::corrupted,
                        std::string("image config: \"") + key + "\" is missing or not a string");
    }
  }
  return config;
}

json platform_of(const json& config) {
  json p = {{"os", config["os"]}, {"architecture", config["architecture"]}};
  if (auto it = config.find("variant"); it != config.end() && it->is_string()) {
    p["variant"] = *it;
  }
  if (auto it = config.find("os.version"); it != config.end() && it->is_string()) {
    p["os.version"] = *it;
  }
  if (auto it = config.find("os.features"); it != config.end() && it->is_array()) {
    p["os.features"] = *it;
  }
  return p;
}

json descriptor(std::string_view media_type, const std::string& digest, std::uint64_t size) {
  return {{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

// A data blob must be in the blob dir at its declared size; fsyncs it.
Result<void> check_data_blob(const fs::path& dir, const std::string& id, std::uint64_t size) {
  RAFS_TRY(check_hex_id(id));
  fs::path path = dir / id;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return make_error(Errc::not_found, path.string() + ": data blob of the image is missing");
    }
    return sys_error(path.string());
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(Errc::corrupted, path.string() + ": data blob is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) != size) {
    return make_error(Errc::corrupted, path.string() + ": data blob is " +
                                           std::to_string(st.st_size) + " bytes, the image says " +
                                           std::to_string(size));
  }
  return fsync_path(path);
}

// Writes a blob named by its digest; returns the digest.
Result<std::string> put_blob(const fs::path& dir, Bytes data) {
  std::string digest = sha256_digest(data);
  RAFS_TRY(write_file_synced(dir / digest.substr(7), data));
  return digest;
}

} // namespace

Result<OciLayoutWriter> OciLayoutWriter::create(const fs::path& out_dir) {
  std::string text = out_dir.string();
  while (text.size() > 1 && text.back() == '/') {
    text.pop_back();
  }
  fs::path out = text;
  std::string name = out.filename().string();
  if (name.empty() || name == "." || name == ".." || name == "/") {
    return make_error(Errc::invalid_argument,
                      out_dir.string() + ": not usable as an output directory name");
  }
  fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  std::string tmpl = (parent / ("." + name + ".tmp-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return sys_error("cannot create a staging directory in " + parent.string());
  }
  OciLayoutWriter w;
  w.m_out = out;
  w.m_staging = tmpl;
  // mkdtemp makes it 0700; OUT_DIR should read like any directory made by mkdir.
  if (::chmod(tmpl.c_str(), 0755) != 0) {
    return sys_error("chmod " + tmpl);
  }
  for (const fs::path& dir : {w.m_staging / "blobs", w.m_staging / "blobs" / "sha256"}) {
    if (::mkdir(dir.c_str(), 0755) != 0) {
      return sys_error("mkdir " + dir.string());
    }
  }
  return w;
}

OciLayoutWriter::~OciLayoutWriter() { discard(); }

OciLayoutWriter::OciLayoutWriter(OciLayoutWriter&& o) noexcept
    : m_out(std::move(o.m_out)), m_staging(std::exchange(o.m_staging, fs::path())),
      m_committed(o.m_committed) {}

OciLayoutWriter& OciLayoutWriter::operator=(OciLayoutWriter&& o) noexcept {
  if (this != &o) {
    discard();
    m_out = std::move(o.m_out);
    m_staging = std::exchange(o.m_staging, fs::path());
    m_committed = o.m_committed;
  }
  return *this;
}

void OciLayoutWriter::discard() noexcept {
  if (!m_committed && !m_staging.empty()) {
    std::error_code ec;
    fs::remove_all(m_staging, ec);
  }
  m_staging.clear();
}

fs::path OciLayoutWriter::blob_dir() const {
  return (m_committed ? m_out : m_staging) / "blobs" / "sha256";
}

Result<void> OciLayoutWriter::add_blob_file(const std::string& hex_id, const fs::path& src) {
  if (m_committed || m_staging.empty()) {
    return make_error(Errc::invalid_argument,
                      m_out.string() + ": cannot add blob " + hex_id + " after commit");
  }
  RAFS_TRY(check_hex_id(hex_id));
  Result<void> added = add_file(src, blob_dir() / hex_id, Transfer::link_or_copy);
  if (!added) {
    return std::move(added).error().with_context("add blob " + hex_id);
  }
  return {};
}

Result<void> OciLayoutWriter::remove_blob(const std::string& hex_id) {
  if (m_committed || m_staging.empty()) {
    return make_error(Errc::invalid_argument,
                      m_out.string() + ": cannot remove blob " + hex_id + " after commit");
  }
  RAFS_TRY(check_hex_id(hex_id));
  fs::path path = blob_dir() / hex_id;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) {
      return make_error(Errc::not_found, path.string() + ": no such blob to remove");
    }
    return sys_error("unlink " + path.string());
  }
  return {};
}

Result<OciLayoutWriter::Written> OciLayoutWriter::commit(const Image& image) {
  if (m_committed || m_staging.empty()) {
    return make_error(Errc::invalid_argument, m_out.string() + ": already committed");
  }
  RAFS_TRY_ASSIGN(json config, parse_config(image.source_config));
  const fs::path blobs = blob_dir();

  json layers = json::array();
  json diff_ids = json::array();
  for (const auto& [id, size] : image.data_blobs) {
    RAFS_TRY(check_data_blob(blobs, id, size));
    json layer = descriptor(oci::k_nydus_blob_layer, "sha256:" + id, size);
    layer["annotations"] = {{oci::k_nydus_blob, "true"}};
    layers.push_back(std::move(layer));
    // A nydus blob layer is stored uncompressed: its diff_id is its digest.
    diff_ids.push_back("sha256:" + id);
  }

  Written written;
  {
    RAFS_TRY_ASSIGN(auto tar, ustar_single_file(k_bootstrap_entry, image.bootstrap));
    written.bootstrap_diff_id = sha256_digest(tar);
    RAFS_TRY_ASSIGN(auto gz, gzip_deterministic(tar));
    RAFS_TRY_ASSIGN(written.bootstrap_layer_digest, put_blob(blobs, gz));
    json layer = descriptor(oci::k_layer_tar_gzip, written.bootstrap_layer_digest, gz.size());
    layer["annotations"] = {{oci::k_nydus_bootstrap, "true"}, {oci::k_nydus_fs_version, "5"}};
    layers.push_back(std::move(layer));
    diff_ids.push_back(written.bootstrap_diff_id);
  }

  json platform = platform_of(config);
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", std::move(diff_ids)}};
  std::string config_text = canonical(config);
  RAFS_TRY_ASSIGN(written.config_digest, put_blob(blobs, as_bytes(config_text)));

  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", oci::k_manifest},
      {"config", descriptor(oci::k_config, written.config_digest, config_text.size())},
      {"layers", std::move(layers)},
  };
  std::string manifest_text = canonical(manifest);
  RAFS_TRY_ASSIGN(written.manifest_digest, put_blob(blobs, as_bytes(manifest_text)));

  json entry = descriptor(oci::k_manifest, written.manifest_digest, manifest_text.size());
  entry["platform"] = std::move(platform);
  if (!image.ref_name.empty()) {
    entry["annotations"] = {{oci::k_ref_name, image.ref_name}};
  }
  json index = {
      {"schemaVersion", 2},
      {"mediaType", oci::k_index},
      {"manifests", json::array({std::move(entry)})},
  };
  RAFS_TRY(write_file_synced(m_staging / "oci-layout",
                             as_bytes(canonical({{"imageLayoutVersion", "1.0.0"}}))));
  RAFS_TRY(write_file_synced(m_staging / "index.json", as_bytes(canonical(index))));

  RAFS_TRY(fsync_path(blobs));
  RAFS_TRY(fsync_path(m_staging / "blobs"));
  RAFS_TRY(fsync_path(m_staging));
  RAFS_TRY(install_dir(m_staging, m_out, Swap::exchange));
  m_committed = true;
  return written;
}

} // namespace rafs::builder
