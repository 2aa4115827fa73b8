#include <doctest/doctest.h>

#include "format/bytes.hpp"

TEST_SUITE("format::bytes") {
  TEST_CASE("le32 stores least significant byte first") {
    rafs::le32 v(0x52414653u);
    CHECK(v.b[0] == 0x53);
    CHECK(v.b[1] == 0x46);
    CHECK(v.b[2] == 0x41);
    CHECK(v.b[3] == 0x52);
    CHECK(v.get() == 0x52414653u);
  }
  TEST_CASE("to_hex is lowercase and two digits per byte") {
    const std::uint8_t b[] = {0x00, 0x0f, 0xab, 0xff};
    CHECK(rafs::to_hex(b) == "000fabff");
  }
}
