#include "builder/oci_image.hpp"
#include "builder/oci_media_types.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include "builder/byte_reader.hpp"
#include "builder/oci_store.hpp"
#include "builder/tar_source.hpp"
#include "format/digest.hpp"

namespace rafs::builder {

using nlohmann::json;

namespace {

// index.json, manifests and configs are read whole; nothing real comes near.
constexpr std::uint64_t k_json_cap = std::uint64_t{16} << 20;
constexpr int k_max_index_depth = 4; // index.json -> image index -> ... -> manifest


std::optional<LayerCompression> compression_of(std::string_view media_type) {
  struct Known {
    std::string_view media_type;
    LayerCompression compression;
  };
  static constexpr Known k_known[] = {
      {"application/vnd.oci.image.layer.v1.tar", LayerCompression::none},
      {"application/vnd.oci.image.layer.v1.tar+gzip", LayerCompression::gzip},
      {"application/vnd.oci.image.layer.v1.tar+zstd", LayerCompression::zstd},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", LayerCompression::none},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", LayerCompression::gzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", LayerCompression::zstd},
      {"application/vnd.docker.image.rootfs.diff.tar", LayerCompression::none},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", LayerCompression::gzip},
  };
  for (const Known& k : k_known) {
    if (k.media_type == media_type) {
      return k.compression;
    }
  }
  return std::nullopt;
}

Error corrupted(std::string message) { return make_error(Errc::corrupted, std::move(message)); }

// ------------------------------------------------------------------ JSON

Result<json> parse_json(const std::vector<std::uint8_t>& bytes, const std::string& where) {
  try {
    return json::parse(bytes.begin(), bytes.end());
  } catch (const json::exception& e) {
    std::string what = e.what();
    if (auto end = what.find("] "); what.rfind("[json.exception.", 0) == 0 && end != std::string::npos) {
      what.erase(0, end + 2); // "[json.exception.parse_error.101] parse error at ..."
    }
    return corrupted(where + ": invalid JSON: " + what);
  }
}

const json* field(const json& obj, std::string_view key) {
  if (!obj.is_object()) {
    return nullptr;
  }
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// The string at `key`, "" when absent or not a string.
std::string string_field(const json& obj, std::string_view key) {
  const json* f = field(obj, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

Result<std::string> required_string(const json& obj, const char* key, const std::string& where) {
  const json* f = field(obj, key);
  if (f == nullptr || !f->is_string()) {
    return corrupted(where + ": " + key + (f == nullptr ? " is missing" : " is not a string"));
  }
  return f->get<std::string>();
}

Result<const json*> required_array(const json& obj, const char* key, const std::string& where) {
  const json* f = field(obj, key);
  if (f == nullptr || !f->is_array()) {
    return corrupted(where + ": " + key + (f == nullptr ? " is missing" : " is not an array"));
  }
  return f;
}

Platform platform_of(const json& obj) {
  return {string_field(obj, "os"), string_field(obj, "architecture"), string_field(obj, "variant")};
}

// ------------------------------------------------------------------ selection

std::string variant_or_default(const Platform& p) {
  if (!p.variant.empty()) {
    return p.variant;
  }
  if (p.architecture == "arm64") {
    return "v8";
  }
  if (p.architecture == "arm") {
    return "v7";
  }
  return "";
}

bool platform_matches(const Platform& want, const Platform& have) {
  return want.os == have.os && want.architecture == have.architecture &&
         (want.variant.empty() || variant_or_default(want) == variant_or_default(have));
}

// "docker.io/library/alpine:3.19" -> "3.19"; "" when the reference has no tag.
std::string tag_part(const std::string& ref) {
  const std::size_t colon = ref.rfind(':');
  const std::size_t slash = ref.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && slash > colon)) {
    return "";
  }
  return ref.substr(colon + 1);
}

// Docker's short form: "docker.io/library/alpine:3" -> "alpine:3",
// "docker.io/x/y:1" -> "x/y:1".
std::string familiar(const std::string& ref) {
  for (std::string_view prefix : {"docker.io/library/", "docker.io/"}) {
    if (ref.rfind(prefix, 0) == 0) {
      return ref.substr(prefix.size());
    }
  }
  return ref;
}

// exact: the whole reference, also in docker's short form; else its tag part.
bool tag_matches(const std::string& ref, const std::string& tag, bool exact) {
  return exact ? ref == tag || familiar(ref) == familiar(tag) : tag_part(ref) == tag;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    out += (out.empty() ? "" : ", ") + s;
  }
  return out;
}

void add_unique(std::vector<std::string>& items, std::string s) {
  if (std::find(items.begin(), items.end(), s) == items.end()) {
    items.push_back(std::move(s));
  }
}

std::string list_tags(const std::vector<std::string>& tags) {
  return tags.empty() ? "there are no tags" : "tags: " + join(tags);
}

struct Descriptor {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
  std::optional<Platform> platform;
  std::string ref_name;
  std::string image_name; // io.containerd.image.name (docker 25+ `docker save`): "docker.io/library/alpine:3"
  bool attestation = false; // buildx provenance, not an image
  bool nydus_bootstrap = false;
};

// The hex part of a (checked) sha256 digest.
std::string hex_of(const std::string& digest) { return digest.substr(digest.find(':') + 1); }
std::string blob_path(const std::string& digest) { return "blobs/sha256/" + hex_of(digest); }

Result<Descriptor> parse_descriptor(const json& d, const std::string& where) {
  if (!d.is_object()) {
    return corrupted(where + ": not a descriptor (JSON object)");
  }
  Descriptor out;
  out.media_type = string_field(d, "mediaType");
  RAFS_TRY_ASSIGN(out.digest, required_string(d, "digest", where));
  if (auto ok = check_sha256_digest(out.digest); !ok) {
    return ok.error().with_context(where + ": digest");
  }
  const json* size = field(d, "size");
  if (size == nullptr || !size->is_number_unsigned()) {
    return corrupted(where + ": size is missing or not a non-negative integer");
  }
  out.size = size->get<std::uint64_t>();
  if (const json* p = field(d, "platform"); p != nullptr && p->is_object()) {
    out.platform = platform_of(*p);
  }
  if (const json* a = field(d, "annotations"); a != nullptr) {
    out.ref_name = string_field(*a, oci::k_ref_name);
    out.image_name = string_field(*a, "io.containerd.image.name");
    out.attestation = field(*a, "vnd.docker.reference.type") != nullptr;
    out.nydus_bootstrap = string_field(*a, oci::k_nydus_bootstrap) == "true";
  }
  return out;
}

// A manifest reached from index.json, and the tag of the index.json entry
// it was reached through.
struct Candidate {
  Descriptor descriptor;
  std::string ref_name;
};

// A manifest and its config, read and verified.
struct LoadedImage {
  json manifest;
  std::vector<std::uint8_t> config_bytes;
  json config;
  std::string config_name; // for messages: "SOURCE: config sha256:..." or the member path
  Platform platform;
};

struct SourceRef {
  enum class Kind : std::uint8_t { any, layout, oci_archive, docker_archive } kind = Kind::any;
  std::string path;
  std::string tag;
};

bool path_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

Result<SourceRef> parse_source(const std::string& source) {
  SourceRef ref;
  std::string rest = source;
  struct Prefix {
    std::string_view text;
    SourceRef::Kind kind;
  };
  for (const Prefix& p :
       {Prefix{"oci:", SourceRef::Kind::layout}, Prefix{"oci-archive:", SourceRef::Kind::oci_archive},
        Prefix{"docker-archive:", SourceRef::Kind::docker_archive}}) {
    if (source.rfind(p.text, 0) == 0 && !path_exists(source)) {
      ref.kind = p.kind;
      rest = source.substr(p.text.size());
      break;
    }
  }
  if (rest.empty()) {
    return make_error(Errc::invalid_argument, source + ": no path");
  }
  if (path_exists(rest)) {
    ref.path = rest;
    return ref;
  }
  for (std::size_t colon = rest.rfind(':'); colon != std::string::npos && colon > 0;
       colon = rest.rfind(':', colon - 1)) {
    if (colon + 1 < rest.size() && path_exists(rest.substr(0, colon))) {
      ref.path = rest.substr(0, colon);
      ref.tag = rest.substr(colon + 1);
      return ref;
    }
  }
  return make_error(Errc::not_found, source + ": no such file or directory");
}

} // namespace

// ------------------------------------------------------------------ loader

// Fills an OciImage from its index (OCI) or manifest.json (docker).
class OciImageLoader {
public:
  OciImageLoader(OciImage& image, const std::optional<Platform>& want, std::string tag)
      : m_image(image), m_want(want), m_tag(std::move(tag)) {}

  Result<void> load_oci() {
    const OciStore& store = *m_image.m_store;
    RAFS_TRY_ASSIGN(auto layout_size, store.size_of("oci-layout"));
    if (!layout_size) {
      return make_error(Errc::not_found, name() + ": not an OCI image layout (oci-layout is missing)");
    }
    RAFS_TRY_ASSIGN(json layout, read_json_file("oci-layout"));
    RAFS_TRY(required_string(layout, "imageLayoutVersion", store.where("oci-layout")));
    RAFS_TRY_ASSIGN(auto index_size, store.size_of("index.json"));
    if (!index_size) {
      return make_error(Errc::not_found, name() + ": index.json is missing");
    }
    RAFS_TRY_ASSIGN(json index, read_json_file("index.json"));
    const std::string where = store.where("index.json");
    RAFS_TRY_ASSIGN(std::vector<Descriptor> top, manifest_list(index, where));
    RAFS_TRY_ASSIGN(top, select_tag(std::move(top)));
    std::vector<Candidate> candidates;
    for (const Descriptor& d : top) {
      RAFS_TRY(expand(d, d.ref_name, 0, candidates));
    }
    if (candidates.empty()) {
      return make_error(Errc::not_found, name() + ": no image manifest in index.json" +
                                             (m_tag.empty() ? "" : " for tag " + m_tag));
    }
    RAFS_TRY_ASSIGN(const Candidate* chosen, select_platform(candidates));
    RAFS_TRY_ASSIGN(LoadedImage * image, load_image(chosen->descriptor));
    m_image.m_ref_name = chosen->ref_name;
    m_image.m_manifest_digest = chosen->descriptor.digest;
    RAFS_TRY(take_config(*image));
    return read_layers(image->manifest, "manifest " + chosen->descriptor.digest);
  }

  Result<void> load_docker() {
    const OciStore& store = *m_image.m_store;
    RAFS_TRY_ASSIGN(auto manifest_size, store.size_of("manifest.json"));
    if (!manifest_size) {
      return make_error(Errc::not_found, name() + ": not a docker archive (manifest.json is missing)");
    }
    RAFS_TRY_ASSIGN(json manifest, read_json_file("manifest.json"));
    const std::string where = store.where("manifest.json");
    if (!manifest.is_array() || manifest.empty()) {
      return corrupted(where + ": not a non-empty JSON array of images");
    }
    RAFS_TRY_ASSIGN(std::size_t pick, select_docker_image(manifest, where));
    const json& entry = manifest[pick];
    const std::string ewhere = where + ": image " + std::to_string(pick + 1);
    RAFS_TRY_ASSIGN(std::string config_path, required_string(entry, "Config", ewhere));
    RAFS_TRY_ASSIGN(auto config_size, store.size_of(config_path));
    if (!config_size) {
      return make_error(Errc::not_found, name() + ": config " + config_path + " is missing");
    }
    LoadedImage image;
    RAFS_TRY_ASSIGN(image.config_bytes, store.read_all(config_path, k_json_cap));
    RAFS_TRY_ASSIGN(image.config, parse_json(image.config_bytes, store.where(config_path)));
    RAFS_TRY(check_config(image, store.where(config_path)));
    if (m_want && !platform_matches(*m_want, image.platform)) {
      return make_error(Errc::not_found, name() + ": no image for platform " + m_want->str() +
                                             "; available: " + image.platform.str());
    }
    RAFS_TRY(take_config(image));
    RAFS_TRY_ASSIGN(const json* layers, required_array(entry, "Layers", ewhere));
    RAFS_TRY_ASSIGN(const json* diff_ids, diff_ids_for(layers->size(), store.where(config_path)));
    for (std::size_t i = 0; i < layers->size(); ++i) {
      const json& l = (*layers)[i];
      if (!l.is_string()) {
        return corrupted(ewhere + ": Layers[" + std::to_string(i) + "] is not a string");
      }
      LayerDescriptor d;
      d.path = l.get<std::string>();
      d.diff_id = (*diff_ids)[i].get<std::string>();
      m_image.m_layers.push_back(d);
      RAFS_TRY_ASSIGN(auto size, store.size_of(d.path));
      if (!size) {
        return make_error(Errc::not_found, name() + ": member " + d.path + " (layer " +
                                               std::to_string(i + 1) + ") is missing");
      }
      m_image.m_layers.back().size = *size;
      RAFS_TRY_ASSIGN(m_image.m_layers.back().compression, peek_compression(i));
    }
    return {};
  }

private:
  const std::string& name() const { return m_image.m_name; }

  Result<json> read_json_file(const std::string& path) {
    const OciStore& store = *m_image.m_store;
    RAFS_TRY_ASSIGN(auto bytes, store.read_all(path, k_json_cap));
    return parse_json(bytes, store.where(path));
  }

  // A blob named by a descriptor, checked against its size and digest.
  Result<std::vector<std::uint8_t>> read_blob(const Descriptor& d, const std::string& role) {
    const OciStore& store = *m_image.m_store;
    const std::string what = name() + ": blob " + d.digest + " (" + role + ")";
    if (d.size > k_json_cap) {
      return make_error(Errc::overflow, what + ": " + std::to_string(d.size) +
                                            " bytes exceeds the limit of " + std::to_string(k_json_cap));
    }
    const std::string path = blob_path(d.digest);
    RAFS_TRY_ASSIGN(auto size, store.size_of(path));
    if (!size) {
      return make_error(Errc::not_found, what + " is missing");
    }
    if (*size != d.size) {
      return corrupted(what + ": size mismatch: descriptor says " + std::to_string(d.size) +
                       " bytes, blob is " + std::to_string(*size) + " bytes");
    }
    RAFS_TRY_ASSIGN(auto bytes, store.read_all(path, k_json_cap));
    Sha256 sha;
    sha.update(bytes);
    const std::string actual = "sha256:" + to_hex(sha.finalize());
    if (actual != d.digest) {
      return corrupted(what + ": digest mismatch: data is " + actual);
    }
    return bytes;
  }

  Result<json> read_json_blob(const Descriptor& d, const std::string& role) {
    RAFS_TRY_ASSIGN(auto bytes, read_blob(d, role));
    return parse_json(bytes, name() + ": " + role + " " + d.digest);
  }

  // The "manifests" of an image index (index.json or a nested one).
  Result<std::vector<Descriptor>> manifest_list(const json& index, const std::string& where) {
    if (!index.is_object()) {
      return corrupted(where + ": not a JSON object");
    }
    if (std::string mt = string_field(index, "mediaType");
        !mt.empty() && mt != oci::k_index && mt != oci::k_docker_list) {
      return corrupted(where + ": media type " + mt + " is not an image index");
    }
    RAFS_TRY_ASSIGN(const json* manifests, required_array(index, "manifests", where));
    std::vector<Descriptor> out;
    for (std::size_t i = 0; i < manifests->size(); ++i) {
      RAFS_TRY_ASSIGN(Descriptor d,
                      parse_descriptor((*manifests)[i], where + ": manifests[" + std::to_string(i) + "]"));
      if (!d.attestation) {
        out.push_back(std::move(d));
      }
    }
    return out;
  }

  // The index.json entries the tag names: by the whole ref.name (or
  // containerd image name), else by their tag part. All entries without a tag.
  Result<std::vector<Descriptor>> select_tag(std::vector<Descriptor> top) {
    if (m_tag.empty()) {
      return top;
    }
    for (bool exact : {true, false}) {
      std::vector<Descriptor> hits;
      for (const Descriptor& d : top) {
        if (tag_matches(d.ref_name, m_tag, exact) || tag_matches(d.image_name, m_tag, exact)) {
          hits.push_back(d);
        }
      }
      if (!hits.empty()) {
        return hits;
      }
    }
    std::vector<std::string> tags;
    for (const Descriptor& d : top) {
      if (!d.ref_name.empty()) {
        add_unique(tags, d.ref_name);
      }
    }
    return make_error(Errc::not_found, name() + ": no image tagged " + m_tag + " (" + list_tags(tags) + ")");
  }

  // Follows image indexes down to manifests.
  Result<void> expand(const Descriptor& d, const std::string& ref_name, int depth,
                      std::vector<Candidate>& out) {
    if (d.media_type == oci::k_manifest || d.media_type == oci::k_docker_manifest) {
      out.push_back({d, ref_name});
      return {};
    }
    if (d.media_type != oci::k_index && d.media_type != oci::k_docker_list) {
      return {}; // not an image (e.g. an artifact): never selected
    }
    if (depth >= k_max_index_depth) {
      return corrupted(name() + ": index " + d.digest + ": image indexes nested deeper than " +
                       std::to_string(k_max_index_depth));
    }
    RAFS_TRY_ASSIGN(json index, read_json_blob(d, "index"));
    RAFS_TRY_ASSIGN(std::vector<Descriptor> children, manifest_list(index, name() + ": index " + d.digest));
    for (const Descriptor& c : children) {
      RAFS_TRY(expand(c, ref_name, depth + 1, out));
    }
    return {};
  }

  Result<const Candidate*> select_platform(const std::vector<Candidate>& candidates) {
    std::set<std::string> digests;
    for (const Candidate& c : candidates) {
      digests.insert(c.descriptor.digest);
    }
    if (!m_want && digests.size() == 1) {
      return &candidates.front();
    }
    const Platform want = m_want.value_or(Platform{"linux", "amd64", ""});
    std::vector<const Candidate*> hits;
    std::vector<std::string> available;
    for (const Candidate& c : candidates) {
      Platform have;
      if (c.descriptor.platform) {
        have = *c.descriptor.platform;
      } else {
        RAFS_TRY_ASSIGN(LoadedImage * image, load_image(c.descriptor));
        have = image->platform;
      }
      add_unique(available, have.str());
      const bool same = std::any_of(hits.begin(), hits.end(), [&](const Candidate* h) {
        return h->descriptor.digest == c.descriptor.digest;
      });
      if (platform_matches(want, have) && !same) {
        hits.push_back(&c);
      }
    }
    if (hits.empty()) {
      return make_error(Errc::not_found,
                        name() + ": no image for platform " + want.str() + "; available: " + join(available));
    }
    if (hits.size() > 1) {
      std::vector<std::string> which;
      for (const Candidate* h : hits) {
        which.push_back(h->ref_name.empty() ? h->descriptor.digest : h->ref_name);
      }
      return make_error(Errc::invalid_argument,
                        name() + ": " + std::to_string(hits.size()) + " images for platform " + want.str() +
                            " (" + join(which) + "); choose one with SOURCE:TAG or a more exact platform");
    }
    return hits.front();
  }

  // Reads (once) the manifest and config a descriptor names.
  Result<LoadedImage*> load_image(const Descriptor& d) {
    if (auto it = m_loaded.find(d.digest); it != m_loaded.end()) {
      return it->second.get();
    }
    auto image = std::make_unique<LoadedImage>();
    RAFS_TRY_ASSIGN(image->manifest, read_json_blob(d, "manifest"));
    const std::string where = name() + ": manifest " + d.digest;
    if (!image->manifest.is_object()) {
      return corrupted(where + ": not a JSON object");
    }
    const std::string mt = string_field(image->manifest, "mediaType");
    if (!mt.empty() && mt != oci::k_manifest && mt != oci::k_docker_manifest) {
      return corrupted(where + ": media type " + mt + " is not an image manifest");
    }
    const json* config = field(image->manifest, "config");
    if (config == nullptr) {
      return corrupted(where + ": config is missing");
    }
    RAFS_TRY_ASSIGN(Descriptor c, parse_descriptor(*config, where + ": config"));
    if (c.media_type != oci::k_config && c.media_type != oci::k_docker_config) {
      return make_error(Errc::unsupported,
                        where + ": config media type " + c.media_type + " is not a container image config");
    }
    RAFS_TRY_ASSIGN(image->config_bytes, read_blob(c, "config"));
    const std::string cwhere = name() + ": config " + c.digest;
    RAFS_TRY_ASSIGN(image->config, parse_json(image->config_bytes, cwhere));
    RAFS_TRY(check_config(*image, cwhere));
    return m_loaded.emplace(d.digest, std::move(image)).first->second.get();
  }

  Result<void> check_config(LoadedImage& image, const std::string& where) {
    if (!image.config.is_object()) {
      return corrupted(where + ": not a JSON object");
    }
    image.platform = platform_of(image.config);
    image.config_name = where;
    return {};
  }

  Result<void> take_config(LoadedImage& image) {
    m_config_where = image.config_name;
    m_image.m_config_bytes = std::move(image.config_bytes);
    m_image.m_config = std::make_unique<json>(std::move(image.config));
    m_image.m_platform = image.platform;
    return {};
  }

  // The config's rootfs.diff_ids, checked to have one digest per layer.
  Result<const json*> diff_ids_for(std::size_t layers, const std::string& where) {
    const json* rootfs = field(*m_image.m_config, "rootfs");
    if (rootfs == nullptr) {
      return corrupted(where + ": rootfs is missing");
    }
    RAFS_TRY_ASSIGN(const json* ids, required_array(*rootfs, "diff_ids", where + ": rootfs"));
    if (ids->size() != layers) {
      return corrupted(where + ": rootfs.diff_ids has " + std::to_string(ids->size()) + " entries for " +
                       std::to_string(layers) + " layers");
    }
    for (std::size_t i = 0; i < ids->size(); ++i) {
      const std::string at = where + ": rootfs.diff_ids[" + std::to_string(i) + "]";
      if (!(*ids)[i].is_string()) {
        return corrupted(at + " is not a string");
      }
      if (auto ok = check_sha256_digest((*ids)[i].get<std::string>()); !ok) {
        return ok.error().with_context(at);
      }
    }
    return ids;
  }

  Result<void> read_layers(const json& manifest, const std::string& manifest_name) {
    const OciStore& store = *m_image.m_store;
    const std::string where = name() + ": " + manifest_name;
    RAFS_TRY_ASSIGN(const json* layers, required_array(manifest, "layers", where));
    RAFS_TRY_ASSIGN(const json* diff_ids, diff_ids_for(layers->size(), m_config_where));
    for (std::size_t i = 0; i < layers->size(); ++i) {
      RAFS_TRY_ASSIGN(Descriptor d,
                      parse_descriptor((*layers)[i], where + ": layers[" + std::to_string(i) + "]"));
      LayerDescriptor l;
      l.digest = d.digest;
      l.media_type = d.media_type;
      l.size = d.size;
      l.diff_id = (*diff_ids)[i].get<std::string>();
      l.path = blob_path(d.digest);
      l.nydus_blob = d.media_type == oci::k_nydus_blob_layer;
      l.nydus_bootstrap = d.nydus_bootstrap;
      m_image.m_layers.push_back(l);
      const std::string label = m_image.layer_name(i);
      auto compression = l.nydus_blob ? LayerCompression::none : compression_of(d.media_type);
      if (!compression) {
        return make_error(Errc::unsupported, label + ": unsupported media type " +
                                                 (d.media_type.empty() ? "(none)" : d.media_type));
      }
      m_image.m_layers.back().compression = *compression;
      RAFS_TRY_ASSIGN(auto size, store.size_of(l.path));
      if (!size) {
        return make_error(Errc::not_found, name() + ": blob " + d.digest + " (layer " +
                                               std::to_string(i + 1) + ") is missing");
      }
      if (*size != d.size) {
        return corrupted(label + ": size mismatch: manifest says " + std::to_string(d.size) +
                         " bytes, blob is " + std::to_string(*size) + " bytes");
      }
    }
    return {};
  }

  // manifest.json: the entry the tag names (by a whole RepoTags entry, else
  // by its tag part), or the only one. Sets the ref name.
  Result<std::size_t> select_docker_image(const json& manifest, const std::string& where) {
    std::vector<std::vector<std::string>> repo_tags(manifest.size());
    std::vector<std::string> all_tags;
    for (std::size_t i = 0; i < manifest.size(); ++i) {
      if (!manifest[i].is_object()) {
        return corrupted(where + ": image " + std::to_string(i + 1) + " is not a JSON object");
      }
      if (const json* tags = field(manifest[i], "RepoTags"); tags != nullptr && tags->is_array()) {
        for (const json& t : *tags) {
          if (t.is_string()) {
            repo_tags[i].push_back(t.get<std::string>());
            add_unique(all_tags, t.get<std::string>());
          }
        }
      }
    }
    if (m_tag.empty()) {
      if (manifest.size() != 1) {
        return make_error(Errc::invalid_argument,
                          name() + ": the archive holds " + std::to_string(manifest.size()) +
                              " images; choose one with SOURCE:TAG (" + list_tags(all_tags) + ")");
      }
      m_image.m_ref_name = repo_tags[0].empty() ? "" : repo_tags[0].front();
      return std::size_t{0};
    }
    for (bool exact : {true, false}) {
      std::vector<std::size_t> hits;
      for (std::size_t i = 0; i < manifest.size(); ++i) {
        auto hit = std::find_if(repo_tags[i].begin(), repo_tags[i].end(),
                                [&](const std::string& t) { return tag_matches(t, m_tag, exact); });
        if (hit != repo_tags[i].end()) {
          hits.push_back(i);
          m_image.m_ref_name = *hit;
        }
      }
      if (hits.size() > 1) {
        return make_error(Errc::invalid_argument,
                          name() + ": " + std::to_string(hits.size()) + " images are tagged " + m_tag +
                              "; give the whole name:tag (" + list_tags(all_tags) + ")");
      }
      if (hits.size() == 1) {
        return hits.front();
      }
    }
    return make_error(Errc::not_found,
                      name() + ": no image tagged " + m_tag + " (" + list_tags(all_tags) + ")");
  }

  Result<LayerCompression> peek_compression(std::size_t i) {
    RAFS_TRY_ASSIGN(auto reader, m_image.m_store->open(m_image.m_layers[i].path, m_image.layer_name(i)));
    std::array<std::uint8_t, 4> head{};
    std::size_t filled = 0;
    while (filled < head.size()) {
      RAFS_TRY_ASSIGN(std::size_t n, reader->read(MutableBytes(head).subspan(filled)));
      if (n == 0) {
        break;
      }
      filled += n;
    }
    return detect_layer_compression(Bytes(head).first(filled));
  }

  OciImage& m_image;
  std::optional<Platform> m_want;
  std::string m_tag;
  std::map<std::string, std::unique_ptr<LoadedImage>> m_loaded;
  std::string m_config_where; // the selected config's name, for messages
};

// ------------------------------------------------------------------ public

std::string Platform::str() const {
  std::string s = (os.empty() ? "unknown" : os) + "/" + (architecture.empty() ? "unknown" : architecture);
  return variant.empty() ? s : s + "/" + variant;
}

Result<Platform> parse_platform(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = text.find('/', start);
    parts.emplace_back(
        text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  const bool empty_part =
      std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); });
  if (parts.size() < 2 || parts.size() > 3 || empty_part) {
    return make_error(Errc::invalid_argument,
                      "platform '" + std::string(text) + "' is not OS/ARCH[/VARIANT] (e.g. linux/arm64/v8)");
  }
  return Platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
}

OciImage::OciImage() = default;
OciImage::~OciImage() = default;

std::string OciImage::layer_name(std::size_t i) const {
  const LayerDescriptor& l = m_layers.at(i);
  return m_name + ": layer " + std::to_string(i + 1) + " (" + (l.digest.empty() ? l.path : l.digest) + ")";
}

Result<ImageStore> open_image_store(const std::string& source) {
  try {
    RAFS_TRY_ASSIGN(SourceRef ref, parse_source(source));
    std::error_code ec;
    const bool is_dir = std::filesystem::is_directory(ref.path, ec);
    if (ref.kind == SourceRef::Kind::layout && !is_dir) {
      return make_error(Errc::invalid_argument,
                        source + ": " + ref.path + " is not a directory (an OCI image layout)");
    }
    if ((ref.kind == SourceRef::Kind::oci_archive || ref.kind == SourceRef::Kind::docker_archive) && is_dir) {
      return make_error(Errc::invalid_argument, source + ": " + ref.path + " is a directory, not an archive");
    }
    ImageStore out;
    out.tag = ref.tag;
    if (is_dir) {
      RAFS_TRY_ASSIGN(out.store, open_dir_store(ref.path));
      return out;
    }
    RAFS_TRY_ASSIGN(out.store, open_archive_store(ref.path)); // its errors name the file
    out.format = ImageFormat::oci_archive;
    if (ref.kind == SourceRef::Kind::docker_archive) {
      out.format = ImageFormat::docker_archive;
    } else if (ref.kind == SourceRef::Kind::any) {
      RAFS_TRY_ASSIGN(auto index, out.store->size_of("index.json"));
      RAFS_TRY_ASSIGN(auto layout, out.store->size_of("oci-layout"));
      RAFS_TRY_ASSIGN(auto manifest, out.store->size_of("manifest.json"));
      if (!index && !layout && !manifest) {
        return corrupted(source + ": not an image archive (no index.json, oci-layout or manifest.json)");
      }
      out.format = index || layout ? ImageFormat::oci_archive : ImageFormat::docker_archive;
    }
    return out;
  } catch (const std::exception& e) {
    return make_error(Errc::internal, source + ": " + e.what());
  }
}

Result<std::unique_ptr<OciImage>> OciImage::open(const std::string& source,
                                                 const std::optional<Platform>& platform) {
  RAFS_TRY_ASSIGN(ImageStore s, open_image_store(source));
  return open(std::move(s.store), s.format, source, s.tag, platform);
}

Result<std::unique_ptr<OciImage>> OciImage::open(std::unique_ptr<OciStore> store, ImageFormat format,
                                                 std::string name, const std::string& tag,
                                                 const std::optional<Platform>& platform) {
  std::unique_ptr<OciImage> image(new OciImage());
  image->m_name = std::move(name);
  image->m_format = format;
  image->m_store = std::move(store);
  try {
    OciImageLoader loader(*image, platform, tag);
    RAFS_TRY(format == ImageFormat::docker_archive ? loader.load_docker() : loader.load_oci());
    return image;
  } catch (const json::exception& e) {
    return corrupted(image->m_name + ": " + e.what());
  } catch (const std::exception& e) {
    return make_error(Errc::internal, image->m_name + ": " + e.what());
  }
}

Result<std::unique_ptr<Source>> OciImage::open_layer(std::size_t i) const {
  try {
    const LayerDescriptor& l = m_layers.at(i);
    if (l.nydus_blob) {
      return make_error(Errc::unsupported, layer_name(i) + ": a Nydus data blob, not a tar layer (the image is "
                                                               "a Nydus image already)");
    }
    RAFS_TRY_ASSIGN(std::unique_ptr<ByteReader> raw, m_store->open(l.path, layer_name(i)));
    std::optional<LayerCompression> expected;
    if (!l.digest.empty()) { // docker-archive: the magic bytes decide
      RAFS_TRY_ASSIGN(raw, verify_sha256(std::move(raw), {l.digest, l.size, "manifest", "digest"}));
      expected = l.compression;
    }
    RAFS_TRY_ASSIGN(std::unique_ptr<ByteReader> tar, LayerStream::open(std::move(raw), expected));
    if (!l.diff_id.empty()) {
      RAFS_TRY_ASSIGN(tar, verify_sha256(std::move(tar), {l.diff_id, std::nullopt, "config", "diff_id"}));
    }
    return open_tar_source(std::move(tar));
  } catch (const std::exception& e) {
    return make_error(Errc::internal, m_name + ": layer " + std::to_string(i + 1) + ": " + e.what());
  }
}

} // namespace rafs::builder
