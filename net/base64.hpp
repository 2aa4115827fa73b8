// Base64 (RFC 4648, with padding), for Basic auth and the auth files.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rafs::net {

std::string base64_encode(std::string_view data);
// nullopt for anything but canonical padded base64 (whitespace is not skipped).
std::optional<std::string> base64_decode(std::string_view text);

} // namespace rafs::net
