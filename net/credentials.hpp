// Registry credentials: given on the command line ("user:pass"), in a
// nydusd config ("auth": base64 of "user:pass"), or found in the auth files
// skopeo and docker write, looked up the way they do:
//   $REGISTRY_AUTH_FILE (only that file, when set), else
//   ${XDG_RUNTIME_DIR}/containers/auth.json, $HOME/.config/containers/auth.json,
//   then ${DOCKER_CONFIG:-$HOME/.docker}/config.json.
// In each, "auths" is searched for the registry as "host[:port]", with an
// http:// or https:// prefix, with a path ("https://index.docker.io/v1/"
// for docker.io); the first file with an entry wins. An entry holds "auth"
// (base64 "user:pass") or "username" and "password". Credential helpers
// (credHelpers, credsStore) are not run.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "format/error.hpp"

namespace rafs::net {

struct Credentials {
  std::string username;
  std::string password;
};

// "user:pass" (the password may hold ':'). Errc::invalid_argument when
// there is no ':' or the user is empty.
[[nodiscard]] Result<Credentials> parse_creds(std::string_view text);
// base64 of "user:pass", as docker's "auth" field. `where` names it in errors.
[[nodiscard]] Result<Credentials> parse_auth_field(std::string_view base64, const std::string& where);
// The entry for `host` ("host[:port]") in the auth files; nullopt when none
// has one. A file that exists but is not valid JSON, or an entry that
// cannot be decoded, is an error naming the file.
[[nodiscard]] Result<std::optional<Credentials>> find_credentials(const std::string& host);

} // namespace rafs::net
