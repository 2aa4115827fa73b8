// A WWW-Authenticate challenge (RFC 7235): the scheme and its parameters,
// e.g. Bearer realm="https://auth.example/token",service="reg",scope="..."
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace rafs::net {

struct Challenge {
  std::string scheme;                       // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params; // names lower-cased; values unquoted
};

// The first challenge of the header value; nullopt when it has no scheme.
std::optional<Challenge> parse_challenge(std::string_view header);

} // namespace rafs::net
