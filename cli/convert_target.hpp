// Where `rafs convert -o TARGET` puts the Nydus image:
//   DIR | oci:DIR[:TAG]          an OCI image layout (TAG: its ref.name)
//   oci-archive:FILE[:TAG]       that layout as a tar
//   docker-archive:FILE[:REF]    that layout plus docker's manifest.json, as
//                                `docker save` (25+) writes it; REF is a
//                                docker name ("x/y:tag"; ":latest" added when
//                                untagged; a digest is refused). The same file
//                                is an oci-archive too.
//   docker://HOST/REPO:TAG       pushed to a registry
// The image is first written as a layout (in a staging directory beside
// FILE, or in TMPDIR for a push), then packed or pushed by finish().
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "builder/output_dirs.hpp"
#include "cli/registry_flags.hpp"
#include "format/error.hpp"

namespace rafs::cli {

class ConvertTarget {
public:
  // Connects to a target registry first (so bad credentials fail before any
  // work). `source` is the convert's SOURCE: a registry on the same host
  // lends its blobs by cross-repository mount.
  // A staging directory is made beside an archive (".FILE.tmp-XXXXXX") or
  // in TMPDIR for a push (".rafs-push.tmp-XXXXXX"); `dirs` holds the lock
  // on its parent and has removed what killed runs left there.
  [[nodiscard]] static Result<ConvertTarget> open(const std::string& target, const std::string& source,
                                                  const RegistryFlags& flags, builder::OutputDirs& dirs);
  ConvertTarget(ConvertTarget&&) noexcept;
  ConvertTarget& operator=(ConvertTarget&&) = delete;
  ~ConvertTarget(); // removes the staging directory

  // Where the OCI layout is written.
  const std::filesystem::path& layout_dir() const noexcept { return m_layout; }
  // The tag given in TARGET ("" when none); a docker-archive's REF gives its
  // tag part ("nydus" of "x/y:nydus"), the layout's ref.name as docker writes it.
  const std::string& tag() const noexcept { return m_tag; }
  // What to print as the image's place ("out/", "oci-archive:f.tar", "docker://...").
  const std::string& display() const noexcept { return m_display; }
  // Packs or pushes the committed layout; a line saying what was done ("" for a plain layout).
  [[nodiscard]] Result<std::string> finish();

private:
  enum class Kind : std::uint8_t { layout, archive, docker_archive, registry };
  ConvertTarget() = default;

  Kind m_kind = Kind::layout;
  std::filesystem::path m_layout;
  std::filesystem::path m_archive;
  std::filesystem::path m_staging; // removed on destruction when set
  std::string m_tag;
  std::string m_repo_tag; // docker-archive: REF with its tag ("" = untagged)
  std::string m_display;
  std::shared_ptr<net::Registry> m_registry;
  std::string m_mount_from;
};

} // namespace rafs::cli
