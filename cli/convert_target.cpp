#include "cli/convert_target.hpp"

#include <cstdlib>
#include <vector>

#include "builder/oci_archive_writer.hpp"
#include "builder/output_dirs.hpp"
#include "builder/registry_push.hpp"
#include "net/image_ref.hpp"

namespace rafs::cli {

namespace {

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

// "PATH[:TAG]" as skopeo's oci transports take it: the first ':' ends PATH.
void split_tag(std::string rest, std::filesystem::path& path, std::string& tag) {
  auto colon = rest.find(':');
  if (colon != std::string::npos) {
    tag = rest.substr(colon + 1);
    rest.erase(colon);
  }
  path = rest;
}

// REF of docker-archive:FILE:REF, a name as docker gives an image, whole,
// with ":latest" added when REF has no tag ("" when there is no REF). A
// digest names no image in an archive.
Result<std::string> docker_repo_tag(const std::string& target, const std::string& ref) {
  if (ref.empty()) {
    return std::string();
  }
  if (ref.find('@') != std::string::npos) {
    return make_error(Errc::invalid_argument,
                      target + ": a docker-archive names its image REPO[:TAG], not by digest");
  }
  auto parsed = net::parse_image_ref(ref);
  if (!parsed) {
    return parsed.error().with_context(target);
  }
  const auto slash = ref.rfind('/');
  const auto colon = ref.rfind(':');
  const bool tagged = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  return tagged ? ref : ref + ":" + parsed->tag; // "latest"
}

// A staging directory ".<name>.tmp-XXXXXX" in `parent`: the pattern
// OutputDirs::add_dir(parent / name) removes when a killed run left it.
// `dirs` first locks `parent` (and cleans it up), so the new directory is
// never taken for a leftover.
Result<std::filesystem::path> make_staging(const std::filesystem::path& parent, const std::string& name,
                                           builder::OutputDirs& dirs) {
  dirs.add_dir(parent / name);
  dirs.claim();
  std::string pattern = (parent / ("." + name + ".tmp-XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return sys_error(parent.string() + ": cannot make a staging directory");
  }
  return std::filesystem::path(buf.data());
}

std::filesystem::path parent_or_dot(const std::filesystem::path& p) {
  return p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
}

} // namespace

ConvertTarget::ConvertTarget(ConvertTarget&& o) noexcept
    : m_kind(o.m_kind), m_layout(std::move(o.m_layout)), m_archive(std::move(o.m_archive)),
      m_staging(std::move(o.m_staging)), m_tag(std::move(o.m_tag)), m_repo_tag(std::move(o.m_repo_tag)),
      m_display(std::move(o.m_display)),
      m_registry(std::move(o.m_registry)), m_mount_from(std::move(o.m_mount_from)) {
  o.m_staging.clear();
}

ConvertTarget::~ConvertTarget() {
  if (!m_staging.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(m_staging, ec);
  }
}

Result<ConvertTarget> ConvertTarget::open(const std::string& target, const std::string& source,
                                          const RegistryFlags& flags, builder::OutputDirs& dirs) {
  ConvertTarget t;
  t.m_display = target;
  if (net::is_docker_ref(target)) {
    RAFS_TRY_ASSIGN(net::ImageRef ref, net::parse_image_ref(target));
    if (!ref.digest.empty()) {
      return make_error(Errc::invalid_argument, target + ": a push needs a tag, not a digest");
    }
    if (net::is_docker_ref(source)) {
      auto src = net::parse_image_ref(source);
      if (src && src->host == ref.host && src->repo != ref.repo) {
        t.m_mount_from = src->repo;
      }
    }
    RAFS_TRY_ASSIGN(t.m_registry,
                    connect_registry(target, flags, RegistrySide::target, "pull,push", t.m_mount_from));
    t.m_kind = Kind::registry;
    t.m_tag = ref.tag;
    const char* tmp = std::getenv("TMPDIR");
    RAFS_TRY_ASSIGN(t.m_staging, make_staging(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "rafs-push", dirs));
    t.m_layout = t.m_staging / "image";
    return t;
  }
  const bool docker_archive = starts_with(target, "docker-archive:");
  if (docker_archive || starts_with(target, "oci-archive:")) {
    split_tag(target.substr(target.find(':') + 1), t.m_archive, t.m_tag);
    if (t.m_archive.empty()) {
      return make_error(Errc::invalid_argument, target + ": no archive file");
    }
    t.m_kind = Kind::archive;
    if (docker_archive) {
      RAFS_TRY_ASSIGN(t.m_repo_tag, docker_repo_tag(target, t.m_tag));
      t.m_tag = t.m_repo_tag.empty() ? std::string() : t.m_repo_tag.substr(t.m_repo_tag.rfind(':') + 1);
      t.m_kind = Kind::docker_archive;
    }
    dirs.add_file(t.m_archive); // the archive's own temporary file
    RAFS_TRY_ASSIGN(t.m_staging, make_staging(parent_or_dot(t.m_archive), t.m_archive.filename().string(), dirs));
    t.m_layout = t.m_staging / "image";
    return t;
  }
  if (starts_with(target, "oci:")) {
    split_tag(target.substr(4), t.m_layout, t.m_tag);
  } else {
    t.m_layout = target;
  }
  if (t.m_layout.empty()) {
    return make_error(Errc::invalid_argument, target + ": no output directory");
  }
  return t;
}

Result<std::string> ConvertTarget::finish() {
  switch (m_kind) {
  case Kind::layout: return std::string();
  case Kind::docker_archive:
    RAFS_TRY(builder::add_docker_manifest(m_layout, m_repo_tag));
    [[fallthrough]];
  case Kind::archive:
    RAFS_TRY(builder::write_layout_archive(m_layout, m_archive));
    return "packed: " + m_display;
  case Kind::registry: {
    RAFS_TRY_ASSIGN(builder::PushReport r, builder::push_layout(m_layout, *m_registry, m_tag, m_mount_from));
    return "pushed: " + m_display + " (manifest " + r.manifest_digest + "; " + std::to_string(r.uploaded) +
           " blobs uploaded, " + std::to_string(r.existed) + " already there, " + std::to_string(r.mounted) +
           " mounted from " + (m_mount_from.empty() ? "-" : m_mount_from) + "; " +
           std::to_string(r.bytes_uploaded) + " bytes)";
  }
  }
  return std::string();
}

} // namespace rafs::cli
