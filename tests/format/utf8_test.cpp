#include <doctest/doctest.h>

#include "format/utf8.hpp"

TEST_SUITE("format::utf8") {
  TEST_CASE("well-formed UTF-8 of every length is accepted") {
    CHECK(rafs::is_valid_utf8(""));
    CHECK(rafs::is_valid_utf8("abc"));
    CHECK(rafs::is_valid_utf8("\xC3\xA9"));         // U+00E9
    CHECK(rafs::is_valid_utf8("\xE2\x82\xAC"));     // U+20AC
    CHECK(rafs::is_valid_utf8("\xF0\x9F\x98\x80")); // U+1F600
    CHECK(rafs::is_valid_utf8("\xF4\x8F\xBF\xBF")); // U+10FFFF
  }
  TEST_CASE("overlong forms, surrogates, out-of-range and truncated sequences are rejected") {
    CHECK_FALSE(rafs::is_valid_utf8("\xC0\x80"));         // overlong NUL
    CHECK_FALSE(rafs::is_valid_utf8("\xC1\xBF"));         // overlong
    CHECK_FALSE(rafs::is_valid_utf8("\xE0\x80\xAF"));     // overlong '/'
    CHECK_FALSE(rafs::is_valid_utf8("\xED\xA0\x80"));     // surrogate U+D800
    CHECK_FALSE(rafs::is_valid_utf8("\xF0\x80\x80\x80")); // overlong
    CHECK_FALSE(rafs::is_valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
    CHECK_FALSE(rafs::is_valid_utf8("\xF5\x80\x80\x80"));
    CHECK_FALSE(rafs::is_valid_utf8("\xFF"));
    CHECK_FALSE(rafs::is_valid_utf8("\xE2\x82"));         // truncated
    CHECK_FALSE(rafs::is_valid_utf8("\x80"));             // lone continuation
  }
  TEST_CASE("utf8_sequence_length gives the length of the sequence at a position") {
    const std::string_view s = "a\xC3\xA9\xE2\x82\xAC\xFF";
    CHECK(rafs::utf8_sequence_length(s, 0) == 1);
    CHECK(rafs::utf8_sequence_length(s, 1) == 2);
    CHECK(rafs::utf8_sequence_length(s, 3) == 3);
    CHECK(rafs::utf8_sequence_length(s, 6) == 0);
  }
}
