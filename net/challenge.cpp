#include "net/challenge.hpp"

#include <cctype>

namespace rafs::net {

namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

void skip_spaces(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
    ++i;
  }
}

} // namespace

std::optional<Challenge> parse_challenge(std::string_view h) {
  std::size_t i = 0;
  skip_spaces(h, i);
  const std::size_t start = i;
  while (i < h.size() && is_token_char(h[i])) {
    ++i;
  }
  if (i == start) {
    return std::nullopt;
  }
  Challenge c;
  c.scheme = lower(h.substr(start, i - start));
  while (i < h.size()) {
    skip_spaces(h, i);
    const std::size_t name_start = i;
    while (i < h.size() && is_token_char(h[i])) {
      ++i;
    }
    std::string name = lower(h.substr(name_start, i - name_start));
    skip_spaces(h, i);
    if (name.empty() || i >= h.size() || h[i] != '=') {
      break; // the next challenge (or junk): only the first is taken
    }
    ++i;
    skip_spaces(h, i);
    std::string value;
    if (i < h.size() && h[i] == '"') {
      ++i;
      while (i < h.size() && h[i] != '"') {
        if (h[i] == '\\' && i + 1 < h.size()) {
          ++i;
        }
        value += h[i++];
      }
      ++i; // the closing quote
    } else {
      while (i < h.size() && h[i] != ',' && h[i] != ' ') {
        value += h[i++];
      }
    }
    c.params[name] = value;
    skip_spaces(h, i);
    if (i < h.size() && h[i] == ',') {
      ++i;
    }
  }
  return c;
}

} // namespace rafs::net
