#include "support/oci_maker.hpp"

#include <nlohmann/json.hpp>
#include <zlib.h>
#include <zstd.h>

#include <map>
#include <set>
#include <stdexcept>

#include "format/bytes.hpp"
#include "format/digest.hpp"
#include "support/temp_dir.hpp"

namespace rafs::test {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Path inside the image -> bytes.
using Files = std::map<std::string, std::vector<std::uint8_t>>;

constexpr const char* k_index_type = "application/vnd.oci.image.index.v1+json";
constexpr const char* k_manifest_type = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* k_config_type = "application/vnd.oci.image.config.v1+json";
constexpr const char* k_ref_name = "org.opencontainers.image.ref.name";

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
std::vector<std::uint8_t> json_bytes(const json& j) { return bytes_of(j.dump()); }
std::string hex_of(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

struct Blob {
  std::string digest;
  std::uint64_t size = 0;
};

// Stores `data` as blobs/sha256/<hex of `name`> (default: its own digest).
Blob add_blob(Files& files, const std::vector<std::uint8_t>& data, std::string name = {}) {
  if (name.empty()) {
    name = sha256_digest(data);
  }
  files["blobs/sha256/" + hex_of(name)] = data;
  return {name, data.size()};
}

json descriptor(const std::string& media_type, const Blob& b) {
  return {{"mediaType", media_type}, {"digest", b.digest}, {"size", b.size}};
}

json platform_json(const OciImageSpec& image) {
  json p = {{"architecture", image.architecture}, {"os", image.os}};
  if (!image.variant.empty()) {
    p["variant"] = image.variant;
  }
  return p;
}

std::string default_media_type(TarFilter filter) {
  switch (filter) {
  case TarFilter::gzip: return "application/vnd.oci.image.layer.v1.tar+gzip";
  case TarFilter::zstd: return "application/vnd.oci.image.layer.v1.tar+zstd";
  case TarFilter::none: break;
  }
  return "application/vnd.oci.image.layer.v1.tar";
}

struct BuiltLayer {
  std::vector<std::uint8_t> blob;
  std::string digest; // as the manifest names it
  std::string diff_id;
  std::string media_type;
};

BuiltLayer build_layer(const OciLayerSpec& spec) {
  const std::vector<std::uint8_t> tar =
      spec.content.empty() ? make_tar(spec.entries) : bytes_of(spec.content);
  BuiltLayer l;
  l.blob = compress_layer(tar, spec.filter);
  l.digest = sha256_digest(spec.wrong_digest ? bytes_of(std::string("not this blob")) : l.blob);
  l.diff_id = sha256_digest(spec.wrong_diff_id ? bytes_of(std::string("not this layer")) : tar);
  l.media_type = spec.media_type.empty() ? default_media_type(spec.filter) : spec.media_type;
  return l;
}

json config_json(const OciImageSpec& image, const std::vector<BuiltLayer>& layers) {
  json config = platform_json(image);
  config["created"] = "2024-01-01T00:00:00Z";
  config["config"] = {
      {"Env", {"PATH=/usr/local/bin:/usr/bin:/bin"}}, {"Entrypoint", {"/bin/sh", "-c"}}, {"WorkingDir", "/"}};
  json diff_ids = json::array();
  json history = json::array();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (!image.short_diff_ids || i + 1 < layers.size()) {
      diff_ids.push_back(layers[i].diff_id);
    }
    history.push_back(
        {{"created", "2024-01-01T00:00:00Z"}, {"created_by", "layer " + std::to_string(i + 1)}});
  }
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  config["history"] = history;
  return config;
}

// Adds an image's layers, config and manifest; returns the manifest blob.
Blob add_image(Files& files, const OciImageSpec& image, OciImageInfo& info) {
  std::vector<BuiltLayer> layers;
  json layer_descriptors = json::array();
  for (const OciLayerSpec& spec : image.layers) {
    layers.push_back(build_layer(spec));
    const BuiltLayer& l = layers.back();
    if (!spec.omit_blob) {
      add_blob(files, l.blob, l.digest);
    }
    layer_descriptors.push_back(descriptor(l.media_type, {l.digest, l.blob.size()}));
    info.layer_digests.push_back(l.digest);
    info.diff_ids.push_back(l.diff_id);
    info.layer_paths.push_back("blobs/sha256/" + hex_of(l.digest));
  }
  const Blob config = add_blob(files, json_bytes(config_json(image, layers)));
  info.config_digest = config.digest;
  const json manifest = {{"schemaVersion", 2},
                         {"mediaType", k_manifest_type},
                         {"config", descriptor(k_config_type, config)},
                         {"layers", layer_descriptors}};
  const Blob m = add_blob(files, json_bytes(manifest));
  info.manifest_digest = m.digest;
  return m;
}

void add_index_json(Files& files, const json& manifests, const OciLayoutOptions& options) {
  files["oci-layout"] = json_bytes(json{{"imageLayoutVersion", "1.0.0"}});
  const std::string index =
      json{{"schemaVersion", 2}, {"mediaType", k_index_type}, {"manifests", manifests}}.dump();
  files["index.json"] = bytes_of(options.broken_index_json ? index.substr(0, index.size() / 2) : index);
}

Files layout_files(const std::vector<OciImageSpec>& images, const OciLayoutOptions& options,
                   std::vector<OciImageInfo>& infos) {
  Files files;
  json manifests = json::array();
  for (const OciImageSpec& image : images) {
    infos.emplace_back();
    json d = descriptor(k_manifest_type, add_image(files, image, infos.back()));
    if (!image.tag.empty()) {
      d["annotations"][k_ref_name] = image.tag;
    }
    if (!image.containerd_name.empty()) {
      d["annotations"]["io.containerd.image.name"] = image.containerd_name;
    }
    if (options.platform_in_index) {
      d["platform"] = platform_json(image);
    }
    manifests.push_back(d);
  }
  add_index_json(files, manifests, options);
  return files;
}

void write_dir(const fs::path& dir, const Files& files) {
  for (const auto& [path, data] : files) {
    fs::create_directories((dir / path).parent_path());
    write_file(dir / path, data);
  }
}

void write_archive(const fs::path& file, const Files& files, const std::string& prefix) {
  std::set<std::string> dirs;
  for (const auto& [path, data] : files) {
    for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      dirs.insert(path.substr(0, slash));
    }
  }
  std::vector<TarEntry> entries;
  for (const std::string& d : dirs) {
    entries.push_back(tar_dir(prefix + d));
  }
  for (const auto& [path, data] : files) {
    entries.push_back(tar_file(prefix + path, std::string(data.begin(), data.end())));
  }
  write_tar(file, entries);
}

} // namespace

std::string sha256_digest(const std::vector<std::uint8_t>& bytes) {
  Sha256 sha;
  sha.update(bytes);
  return "sha256:" + to_hex(sha.finalize());
}

std::vector<std::uint8_t> compress_layer(const std::vector<std::uint8_t>& tar, TarFilter filter) {
  if (filter == TarFilter::zstd) {
    std::vector<std::uint8_t> out(ZSTD_compressBound(tar.size()));
    const std::size_t n = ZSTD_compress(out.data(), out.size(), tar.data(), tar.size(), 3);
    if (ZSTD_isError(n) != 0) {
      throw std::runtime_error(std::string("oci_maker: zstd: ") + ZSTD_getErrorName(n));
    }
    out.resize(n);
    return out;
  }
  if (filter == TarFilter::gzip) {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("oci_maker: deflateInit2 failed");
    }
    std::vector<std::uint8_t> in = tar; // zlib's next_in is not const
    std::vector<std::uint8_t> out(deflateBound(&z, static_cast<uLong>(in.size())) + 64);
    z.next_in = in.data();
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int r = deflate(&z, Z_FINISH);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
      throw std::runtime_error("oci_maker: deflate did not finish");
    }
    return out;
  }
  return tar;
}

std::vector<OciImageInfo> write_oci_layout(const fs::path& dir, const std::vector<OciImageSpec>& images,
                                           const OciLayoutOptions& options) {
  std::vector<OciImageInfo> infos;
  write_dir(dir, layout_files(images, options, infos));
  return infos;
}

std::vector<OciImageInfo> write_oci_archive(const fs::path& file, const std::vector<OciImageSpec>& images,
                                            const OciLayoutOptions& options) {
  std::vector<OciImageInfo> infos;
  write_archive(file, layout_files(images, options, infos), options.member_prefix);
  return infos;
}

std::vector<OciImageInfo> write_oci_multi_platform(const fs::path& dir,
                                                   const std::vector<OciImageSpec>& images,
                                                   const std::string& tag, const OciLayoutOptions& options) {
  Files files;
  std::vector<OciImageInfo> infos;
  json manifests = json::array();
  for (const OciImageSpec& image : images) {
    infos.emplace_back();
    json d = descriptor(k_manifest_type, add_image(files, image, infos.back()));
    d["platform"] = platform_json(image);
    manifests.push_back(d);
  }
  const json index = {{"schemaVersion", 2}, {"mediaType", k_index_type}, {"manifests", manifests}};
  json d = descriptor(k_index_type, add_blob(files, json_bytes(index)));
  if (!tag.empty()) {
    d["annotations"] = {{k_ref_name, tag}};
  }
  add_index_json(files, json::array({d}), options);
  write_dir(dir, files);
  return infos;
}

std::vector<OciImageInfo> write_docker_archive(const fs::path& file, const std::vector<OciImageSpec>& images,
                                               const OciLayoutOptions& options) {
  Files files;
  std::vector<OciImageInfo> infos;
  json manifest = json::array();
  json repositories = json::object();
  for (const OciImageSpec& image : images) {
    OciImageInfo& info = infos.emplace_back();
    std::vector<BuiltLayer> layers;
    json layer_paths = json::array();
    std::string id;
    for (const OciLayerSpec& spec : image.layers) {
      layers.push_back(build_layer(spec));
      id = hex_of(sha256_digest(bytes_of(id + " " + layers.back().diff_id))); // a chain id, as docker's
      const std::string path = id + "/layer.tar";
      if (!spec.omit_blob) {
        files[path] = layers.back().blob;
      }
      files[id + "/VERSION"] = bytes_of(std::string("1.0"));
      files[id + "/json"] = json_bytes(json{{"id", id}});
      layer_paths.push_back(path);
      info.layer_digests.emplace_back();
      info.diff_ids.push_back(layers.back().diff_id);
      info.layer_paths.push_back(path);
    }
    const std::vector<std::uint8_t> config = json_bytes(config_json(image, layers));
    info.config_digest = sha256_digest(config);
    files[hex_of(info.config_digest) + ".json"] = config;
    json entry = {
        {"Config", hex_of(info.config_digest) + ".json"}, {"RepoTags", nullptr}, {"Layers", layer_paths}};
    if (!image.tag.empty()) {
      entry["RepoTags"] = {"rafs-test:" + image.tag};
      repositories["rafs-test"][image.tag] = id;
    }
    manifest.push_back(entry);
  }
  const std::string text = manifest.dump();
  files["manifest.json"] = bytes_of(options.broken_index_json ? text.substr(0, text.size() / 2) : text);
  files["repositories"] = json_bytes(repositories);
  write_archive(file, files, options.member_prefix);
  return infos;
}

} // namespace rafs::test
