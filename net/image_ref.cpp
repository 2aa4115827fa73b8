#include "net/image_ref.hpp"

#include <algorithm>

namespace rafs::net {

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// A path component: lower-case alphanumerics separated by ".", "_", "__"
// or runs of "-" (the distribution spec's grammar, simplified to reject
// leading and trailing separators).
bool valid_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) {
    return false;
  }
  return std::all_of(c.begin(), c.end(), [](char ch) {
    return is_lower_alnum(ch) || ch == '.' || ch == '_' || ch == '-';
  });
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-') {
    return false;
  }
  return std::all_of(t.begin(), t.end(), [](char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-';
  });
}

bool valid_digest(std::string_view d) {
  constexpr std::string_view prefix = "sha256:";
  return d.size() == prefix.size() + 64 && d.substr(0, prefix.size()) == prefix &&
         std::all_of(d.begin() + static_cast<std::ptrdiff_t>(prefix.size()), d.end(), is_hex);
}

// docker's rule: the first component names a registry when it has a "." or
// a ":" or is "localhost".
bool names_registry(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost";
}

Error bad(std::string_view text, const std::string& why) {
  return make_error(Errc::invalid_argument,
                    "image reference '" + std::string(text) + "': " + why);
}

} // namespace

std::string ImageRef::api_host() const {
  return host == "docker.io" ? std::string("registry-1.docker.io") : host;
}

std::string ImageRef::str() const {
  std::string s = host + "/" + repo;
  if (!tag.empty()) {
    s += ":" + tag;
  }
  if (!digest.empty()) {
    s += "@" + digest;
  }
  return s;
}

ImageRef ImageRef::with_tag(std::string t) const {
  ImageRef r = *this;
  r.tag = std::move(t);
  r.digest.clear();
  return r;
}

bool is_docker_ref(std::string_view text) noexcept {
  return text.substr(0, k_docker_transport.size()) == k_docker_transport;
}

bool is_local_host(std::string_view host_port) {
  std::string_view host = host_port;
  if (!host.empty() && host.front() == '[') { // [::1]:5000
    host = host.substr(1, host.find(']') == std::string_view::npos ? host.npos : host.find(']') - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos &&
                                            host.find(':') == colon) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || host.substr(0, 4) == "127.";
}

Result<ImageRef> parse_image_ref(std::string_view text) {
  const std::string_view whole = text;
  if (is_docker_ref(text)) {
    text.remove_prefix(k_docker_transport.size());
  }
  if (text.empty()) {
    return bad(whole, "empty");
  }
  ImageRef ref;
  if (auto at = text.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(text.substr(at + 1));
    text = text.substr(0, at);
    if (!valid_digest(ref.digest)) {
      return bad(whole, "digest '" + ref.digest + "' is not sha256:<64 lower-case hex digits>");
    }
  }
  // A tag is after the last ':' that follows the last '/'.
  const auto last_slash = text.rfind('/');
  const auto colon = text.rfind(':');
  if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(text.substr(colon + 1));
    text = text.substr(0, colon);
    if (!valid_tag(ref.tag)) {
      return bad(whole, "tag '" + ref.tag + "' is not valid");
    }
  }
  const auto first_slash = text.find('/');
  if (first_slash != std::string_view::npos && names_registry(text.substr(0, first_slash))) {
    ref.host = std::string(text.substr(0, first_slash));
    text = text.substr(first_slash + 1);
  } else {
    ref.host = "docker.io";
  }
  ref.repo = std::string(text);
  if (ref.host == "docker.io" && ref.repo.find('/') == std::string::npos) {
    ref.repo = "library/" + ref.repo;
  }
  if (ref.repo.empty()) {
    return bad(whole, "no repository");
  }
  std::size_t pos = 0;
  while (pos <= ref.repo.size()) {
    auto slash = ref.repo.find('/', pos);
    auto end = slash == std::string::npos ? ref.repo.size() : slash;
    if (!valid_component(std::string_view(ref.repo).substr(pos, end - pos))) {
      return bad(whole, "repository '" + ref.repo +
                            "' must be lower-case alphanumerics separated by '/', '.', '_' or '-'");
    }
    pos = end + 1;
  }
  if (ref.tag.empty() && ref.digest.empty()) {
    ref.tag = "latest";
  }
  return ref;
}

} // namespace rafs::net
