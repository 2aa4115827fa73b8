// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
#pragma once

#include <cstddef>
#include <string_view>

namespace rafs {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if there is none.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;
bool is_valid_utf8(std::string_view s) noexcept;

} // namespace rafs
