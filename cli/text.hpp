// Small formatting helpers shared by the subcommands' human-readable output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rafs::cli {

std::string hex(std::uint64_t v);
// "2022-11-12T05:51:45Z" (UTC), with ".nnnnnnnnn" when nsec is non-zero.
std::string iso_time(std::uint64_t sec, std::uint32_t nsec);
// Octal permission bits with set-id/sticky, e.g. "0755", "4755".
std::string perm_string(std::uint32_t mode);
bool is_utf8(std::string_view s);
// A name printable on one line: bytes that are not printable UTF-8 become \xNN.
std::string escape(std::string_view s);

} // namespace rafs::cli
