#include "cli/text.hpp"

#include <cstdio>
#include <ctime>

#include "format/bytes.hpp"
#include "format/utf8.hpp"

namespace rafs::cli {

std::string hex(std::uint64_t v) { return hex_number(v); }

std::string iso_time(std::uint64_t sec, std::uint32_t nsec) {
  std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (nsec != 0) {
    std::snprintf(buf, sizeof buf, ".%09u", nsec);
    out += buf;
  }
  return out + "Z";
}

std::string perm_string(std::uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}


bool is_utf8(std::string_view s) { return is_valid_utf8(s); }

std::string escape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_sequence_length(s, i);
    auto c = static_cast<unsigned char>(s[i]);
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f || c == '\\'))) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      i += 1;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

} // namespace rafs::cli
