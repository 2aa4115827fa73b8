#include "builder/registry_push.hpp"

#include <nlohmann/json.hpp>

#include "builder/layout_json.hpp"
#include "format/file.hpp"

namespace rafs::builder {

namespace {

using json = nlohmann::json;

constexpr std::uint64_t k_max_json = 4 << 20;

// "sha256:<hex>" -> DIR/blobs/sha256/<hex>
Result<std::filesystem::path> blob_path(const std::filesystem::path& dir, const json& descriptor,
                                        const std::string& where) {
  RAFS_TRY_ASSIGN(std::string member, descriptor_blob(descriptor, where));
  return dir / member;
}

} // namespace

Result<PushReport> push_layout(const std::filesystem::path& dir, net::Registry& target, const std::string& tag,
                               const std::string& mount_from_repo) {
  const std::string index_name = (dir / "index.json").string();
  RAFS_TRY_ASSIGN(json index, read_layout_json(dir / "index.json"));
  if (!index.contains("manifests") || !index["manifests"].is_array() || index["manifests"].size() != 1) {
    return make_error(Errc::corrupted, index_name + ": must list exactly one manifest to push");
  }
  const json& top = index["manifests"][0];
  RAFS_TRY_ASSIGN(auto manifest_file, blob_path(dir, top, index_name));
  RAFS_TRY_ASSIGN(auto manifest_bytes, read_whole_file(manifest_file, k_max_json));
  auto manifest = json::parse(manifest_bytes.begin(), manifest_bytes.end(), nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() || !manifest.contains("layers") ||
      !manifest["layers"].is_array() || !manifest.contains("config")) {
    return make_error(Errc::corrupted, manifest_file.string() + ": not an image manifest");
  }
  std::vector<json> blobs(manifest["layers"].begin(), manifest["layers"].end());
  blobs.push_back(manifest["config"]); // after the layers: the config makes the image visible to no one yet
  PushReport report;
  for (const json& d : blobs) {
    RAFS_TRY_ASSIGN(auto file, blob_path(dir, d, manifest_file.string()));
    const std::string digest = d["digest"].get<std::string>();
    RAFS_TRY_ASSIGN(auto result, target.push_blob(digest, file, mount_from_repo));
    switch (result) {
    case net::Registry::PushResult::uploaded:
      ++report.uploaded;
      report.bytes_uploaded += d.value("size", std::uint64_t{0});
      break;
    case net::Registry::PushResult::existed: ++report.existed; break;
    case net::Registry::PushResult::mounted: ++report.mounted; break;
    }
  }
  std::string media_type = top.value("mediaType", std::string());
  if (media_type.empty()) {
    media_type = manifest.value("mediaType", std::string("application/vnd.oci.image.manifest.v1+json"));
  }
  RAFS_TRY_ASSIGN(report.manifest_digest, target.put_manifest(tag, media_type, manifest_bytes));
  return report;
}

} // namespace rafs::builder
