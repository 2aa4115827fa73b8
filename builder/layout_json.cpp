#include "builder/layout_json.hpp"

#include "format/file.hpp"

namespace rafs::builder {

namespace {
constexpr std::uint64_t k_max_json = 4 << 20;
} // namespace

Result<nlohmann::json> read_layout_json(const std::filesystem::path& file) {
  RAFS_TRY_ASSIGN(auto bytes, read_whole_file(file, k_max_json));
  auto doc = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(Errc::corrupted, file.string() + ": not a JSON object");
  }
  return doc;
}

Result<std::string> descriptor_blob(const nlohmann::json& descriptor, const std::string& where) {
  if (!descriptor.is_object() || !descriptor.contains("digest") || !descriptor["digest"].is_string()) {
    return make_error(Errc::corrupted, where + ": a descriptor without a digest");
  }
  const std::string digest = descriptor["digest"].get<std::string>();
  const std::string hex = digest.substr(digest.find(':') + 1);
  if (digest.rfind("sha256:", 0) != 0 || hex.size() != 64 ||
      hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return make_error(Errc::corrupted, where + ": digest '" + digest + "' is not sha256:<hex>");
  }
  return "blobs/sha256/" + hex;
}

} // namespace rafs::builder
