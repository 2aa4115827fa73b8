#include "builder/oci_archive_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/layout_json.hpp"
#include "format/file.hpp"

namespace rafs::builder {

namespace {

using json = nlohmann::json;

// The image's docker name in index.json, as docker 25+ and containerd write it.
constexpr std::string_view k_image_name = "io.containerd.image.name";

struct ArchiveFree {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};

Error archive_failure(archive* a, const std::filesystem::path& file) {
  const char* why = archive_error_string(a);
  return make_error(Errc::io, file.string() + ": " + (why != nullptr ? why : "tar writer failed"));
}

// Layout-relative paths, directories before their contents, sorted.
Result<std::vector<std::filesystem::path>> list(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    out.push_back(std::filesystem::relative(it->path(), dir));
  }
  if (ec) {
    return make_error(Errc::io, dir.string() + ": " + ec.message());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<void> add_entry(archive* a, const std::filesystem::path& dir, const std::filesystem::path& rel,
                       const std::filesystem::path& file) {
  const std::filesystem::path full = dir / rel;
  std::error_code ec;
  const bool is_dir = std::filesystem::is_directory(full, ec);
  std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), is_dir ? (rel.string() + "/").c_str() : rel.string().c_str());
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  archive_entry_set_mtime(e.get(), 0, 0);
  if (is_dir) {
    archive_entry_set_filetype(e.get(), AE_IFDIR);
    archive_entry_set_perm(e.get(), 0755);
    if (archive_write_header(a, e.get()) != ARCHIVE_OK) {
      return archive_failure(a, file);
    }
    return {};
  }
  RAFS_TRY_ASSIGN(RandomAccessFile in, RandomAccessFile::open(full));
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(in.size()));
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) {
    return archive_failure(a, file);
  }
  std::vector<std::uint8_t> buf(1 << 20);
  for (std::uint64_t off = 0; off < in.size();) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), in.size() - off));
    RAFS_TRY(in.read_at(off, MutableBytes(buf.data(), n)));
    if (archive_write_data(a, buf.data(), n) != static_cast<la_ssize_t>(n)) {
      return archive_failure(a, file);
    }
    off += n;
  }
  return {};
}

// Writes `j` as compact JSON in place of `file`, atomically.
template <typename Json> Result<void> replace_json(const std::filesystem::path& file, const Json& j) {
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  RAFS_TRY_ASSIGN(AtomicFile out, AtomicFile::create(file));
  RAFS_TRY(out.write(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())));
  return out.commit();
}

} // namespace

Result<void> add_docker_manifest(const std::filesystem::path& layout_dir, const std::string& repo_tag) {
  const std::filesystem::path index_file = layout_dir / "index.json";
  RAFS_TRY_ASSIGN(json index, read_layout_json(index_file));
  json* manifests = index.contains("manifests") ? &index["manifests"] : nullptr;
  if (manifests == nullptr || !manifests->is_array() || manifests->size() != 1) {
    return make_error(Errc::corrupted,
                      index_file.string() + ": a docker-archive needs exactly one manifest listed");
  }
  json& top = (*manifests)[0];
  RAFS_TRY_ASSIGN(std::string manifest_member, descriptor_blob(top, index_file.string()));
  const std::filesystem::path manifest_file = layout_dir / manifest_member;
  RAFS_TRY_ASSIGN(json manifest, read_layout_json(manifest_file));
  if (!manifest.contains("config") || !manifest.contains("layers") || !manifest["layers"].is_array()) {
    return make_error(Errc::corrupted,
                      manifest_file.string() + ": not an image manifest (no config or layers)");
  }
  using ordered = nlohmann::ordered_json; // keys in docker's order
  ordered entry;
  RAFS_TRY_ASSIGN(entry["Config"], descriptor_blob(manifest["config"], manifest_file.string()));
  entry["RepoTags"] = repo_tag.empty() ? ordered::array() : ordered::array({repo_tag});
  entry["Layers"] = ordered::array();
  for (const json& layer : manifest["layers"]) {
    RAFS_TRY_ASSIGN(std::string member, descriptor_blob(layer, manifest_file.string()));
    entry["Layers"].push_back(std::move(member));
  }
  if (!repo_tag.empty()) {
    json& annotations = top["annotations"];
    if (annotations.is_null()) { // absent
      annotations = json::object();
    }
    if (!annotations.is_object()) {
      return make_error(Errc::corrupted,
                        index_file.string() + ": the manifest's annotations are not an object");
    }
    annotations[std::string(k_image_name)] = repo_tag;
    RAFS_TRY(replace_json(index_file, index));
  }
  return replace_json(layout_dir / "manifest.json", ordered::array({std::move(entry)}));
}

Result<void> write_layout_archive(const std::filesystem::path& layout_dir, const std::filesystem::path& file) {
  RAFS_TRY_ASSIGN(auto entries, list(layout_dir));
  RAFS_TRY_ASSIGN(AtomicFile out, AtomicFile::create(file));
  std::unique_ptr<archive, ArchiveFree> owner(archive_write_new());
  archive* a = owner.get();
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open_fd(a, out.fd()) != ARCHIVE_OK) {
    return archive_failure(a, file);
  }
  for (const auto& rel : entries) {
    RAFS_TRY(add_entry(a, layout_dir, rel, file));
  }
  if (archive_write_close(a) != ARCHIVE_OK) {
    return archive_failure(a, file);
  }
  return out.commit();
}

} // namespace rafs::builder
