// A registry image reference, as skopeo's docker transport spells it after
// "docker://": HOST[:PORT]/REPO[:TAG|@DIGEST], with docker's short forms
// ("alpine" is docker.io/library/alpine:latest).
#pragma once

#include <string>
#include <string_view>

#include "format/error.hpp"

namespace rafs::net {

inline constexpr std::string_view k_docker_transport = "docker://";

struct ImageRef {
  std::string host;   // "host[:port]" as written ("docker.io" for short forms)
  std::string repo;   // "library/alpine", "team/app"
  std::string tag;    // "latest" when neither tag nor digest is given
  std::string digest; // "sha256:<hex>" when given (then tag may be empty)

  // Where the API is: docker.io's is registry-1.docker.io.
  std::string api_host() const;
  // The tag, or the digest when there is one: what /manifests/<x> takes.
  const std::string& reference() const noexcept { return digest.empty() ? tag : digest; }
  // "host/repo:tag", "host/repo@sha256:..." (no transport prefix).
  std::string str() const;
  // The same repository with another tag.
  ImageRef with_tag(std::string t) const;
};

// Parses the text after "docker://" (with or without that prefix).
// Errc::invalid_argument naming what is wrong: an empty or upper-case
// repository, a bad tag, a digest that is not sha256:<64 hex>.
[[nodiscard]] Result<ImageRef> parse_image_ref(std::string_view text);

// True when `text` starts with "docker://".
bool is_docker_ref(std::string_view text) noexcept;

// A host docker treats as local (localhost, 127.0.0.0/8, ::1, with any
// port): plain http is allowed without asking.
bool is_local_host(std::string_view host_port);

} // namespace rafs::net
