#include "cli/nydus_image.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <memory>

#include "builder/oci_media_types.hpp"
#include "format/bytes.hpp"
#include "format/digest.hpp"
#include "format/layout.hpp"

namespace rafs::cli {

namespace {

using json = nlohmann::json;

constexpr std::string_view k_bootstrap_path = "image/image.boot";

struct ArchiveReadFree {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};

// GOARCH of this machine, as image indexes spell it.
std::string machine_arch() {
  utsname u{};
  ::uname(&u);
  const std::string m = u.machine;
  if (m == "x86_64") {
    return "amd64";
  }
  if (m == "aarch64") {
    return "arm64";
  }
  return m;
}

Result<json> parse(const std::vector<std::uint8_t>& bytes, const std::string& where) {
  auto doc = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(Errc::corrupted, where + ": not a JSON object");
  }
  return doc;
}

// From an index, the manifest for linux/<this machine>, or its only one.
Result<std::string> pick_from_index(const json& index, const std::string& where) {
  if (!index.contains("manifests") || !index["manifests"].is_array() || index["manifests"].empty()) {
    return make_error(Errc::corrupted, where + ": an image index without manifests");
  }
  const auto& list = index["manifests"];
  const std::string arch = machine_arch();
  for (const auto& d : list) {
    if (d.is_object() && d.contains("platform") && d["platform"].is_object() &&
        d["platform"].value("os", "") == "linux" && d["platform"].value("architecture", "") == arch &&
        d.contains("digest") && d["digest"].is_string()) {
      return d["digest"].get<std::string>();
    }
  }
  if (list.size() == 1 && list[0].is_object() && list[0].contains("digest") && list[0]["digest"].is_string()) {
    return list[0]["digest"].get<std::string>();
  }
  return make_error(Errc::not_found, where + ": no image for linux/" + arch + " in the index");
}

Result<HugeBuffer> extract_bootstrap(const std::vector<std::uint8_t>& layer, const std::string& where) {
  std::unique_ptr<archive, ArchiveReadFree> owner(archive_read_new());
  archive* a = owner.get();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, layer.data(), layer.size()) != ARCHIVE_OK) {
    return make_error(Errc::corrupted, where + ": " + archive_error_string(a));
  }
  archive_entry* e = nullptr;
  for (;;) {
    const int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) {
      return make_error(Errc::corrupted, where + ": no " + std::string(k_bootstrap_path) + " in the bootstrap layer");
    }
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return make_error(Errc::corrupted, where + ": " + archive_error_string(a));
    }
    std::string path = archive_entry_pathname(e) != nullptr ? archive_entry_pathname(e) : "";
    if (path.rfind("./", 0) == 0) {
      path.erase(0, 2);
    }
    if (path == k_bootstrap_path && archive_entry_filetype(e) == AE_IFREG) {
      break;
    }
  }
  const la_int64_t size = archive_entry_size(e);
  if (size < 0 || static_cast<std::uint64_t>(size) > v5::k_max_bootstrap_size) {
    return make_error(Errc::overflow, where + ": " + std::string(k_bootstrap_path) + " is larger than the cap of " +
                                          std::to_string(v5::k_max_bootstrap_size) + " bytes");
  }
  HugeBuffer out(static_cast<std::size_t>(size));
  std::size_t got = 0;
  while (got < out.size()) {
    const la_ssize_t n = archive_read_data(a, out.data() + got, out.size() - got);
    if (n <= 0) {
      return make_error(Errc::corrupted, where + ": " + std::string(k_bootstrap_path) + " is cut short");
    }
    got += static_cast<std::size_t>(n);
  }
  return out;
}

Result<void> check_digest(const std::vector<std::uint8_t>& bytes, const std::string& digest, const std::string& where) {
  Sha256 h;
  h.update(bytes);
  if (const std::string got = "sha256:" + to_hex(h.finalize()); got != digest) {
    return make_error(Errc::corrupted, where + ": digest mismatch: data is " + got);
  }
  return {};
}

// Where the manifests and blobs of an image come from.
struct BlobSource {
  std::function<Result<std::vector<std::uint8_t>>(const std::string& digest)> manifest;
  std::function<Result<std::vector<std::uint8_t>>(const std::string& digest, std::uint64_t cap)> blob;
};

// The bootstrap of the image whose manifest (or index) is `top`.
Result<NydusBootstrap> bootstrap_of(const std::vector<std::uint8_t>& top, const std::string& top_digest,
                                    const std::string& name, const BlobSource& source) {
  RAFS_TRY_ASSIGN(json doc, parse(top, name));
  NydusBootstrap out;
  out.manifest_digest = top_digest;
  if (doc.contains("manifests")) {
    RAFS_TRY_ASSIGN(out.manifest_digest, pick_from_index(doc, name));
    RAFS_TRY_ASSIGN(auto m, source.manifest(out.manifest_digest));
    RAFS_TRY_ASSIGN(doc, parse(m, name + "@" + out.manifest_digest));
  }
  if (!doc.contains("layers") || !doc["layers"].is_array()) {
    return make_error(Errc::corrupted, name + ": the manifest has no layers");
  }
  std::uint64_t size = 0;
  for (const auto& l : doc["layers"]) {
    if (l.is_object() && l.contains("annotations") && l["annotations"].is_object() &&
        l["annotations"].value(std::string(builder::oci::k_nydus_bootstrap), "") == "true" && l.contains("digest") &&
        l["digest"].is_string()) {
      out.layer_digest = l["digest"].get<std::string>();
      size = l.value("size", std::uint64_t{0});
    }
  }
  if (out.layer_digest.empty()) {
    return make_error(Errc::corrupted, name + ": not a Nydus image (no layer annotated " +
                                           std::string(builder::oci::k_nydus_bootstrap) + ")");
  }
  const std::string where = name + ": bootstrap layer " + out.layer_digest;
  if (size > v5::k_max_bootstrap_size) {
    return make_error(Errc::overflow, where + ": larger than the cap of " + std::to_string(v5::k_max_bootstrap_size) + " bytes");
  }
  RAFS_TRY_ASSIGN(auto layer, source.blob(out.layer_digest, v5::k_max_bootstrap_size));
  RAFS_TRY(check_digest(layer, out.layer_digest, where));
  RAFS_TRY_ASSIGN(out.bytes, extract_bootstrap(layer, where));
  return out;
}

} // namespace

Result<NydusBootstrap> fetch_bootstrap(net::Registry& registry) {
  const std::string name = "docker://" + registry.ref().str();
  RAFS_TRY_ASSIGN(auto top, registry.get_manifest(registry.ref().reference()));
  return bootstrap_of(top.bytes, top.digest, name, {
      [&](const std::string& digest) -> Result<std::vector<std::uint8_t>> {
        RAFS_TRY_ASSIGN(auto m, registry.get_manifest(digest));
        return m.bytes;
      },
      [&](const std::string& digest, std::uint64_t cap) { return registry.get_blob(digest, cap); }});
}

Result<NydusBootstrap> read_image_bootstrap(const builder::OciImage& image) {
  const auto& layers = image.layers();
  auto boot = std::find_if(layers.rbegin(), layers.rend(), [](const auto& l) { return l.nydus_bootstrap; });
  if (boot == layers.rend()) {
    return make_error(Errc::corrupted, image.name() + ": not a Nydus image (no layer annotated " +
                                           std::string(builder::oci::k_nydus_bootstrap) + ")");
  }
  NydusBootstrap out;
  out.manifest_digest = image.manifest_digest();
  out.layer_digest = boot->digest;
  const std::string where = image.name() + ": bootstrap layer " + out.layer_digest;
  RAFS_TRY_ASSIGN(auto layer, image.store().read_all(boot->path, v5::k_max_bootstrap_size));
  RAFS_TRY(check_digest(layer, out.layer_digest, where));
  RAFS_TRY_ASSIGN(out.bytes, extract_bootstrap(layer, where));
  return out;
}

} // namespace rafs::cli
