#include <doctest/doctest.h>

#include "format/blob_table.hpp"

TEST_SUITE("format::blob table") {
  TEST_CASE("a blob id that is not a plain file name is rejected") {
    for (const char* id : {"../../etc/passwd", "a/b", ".", ".."}) {
      CAPTURE(id);
      auto table = rafs::v5::encode_blob_table({rafs::v5::BlobInfo{id}});
      auto r = rafs::v5::decode_blob_table(table);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == rafs::Errc::corrupted);
      CHECK(r.error().message == std::string("blob table entry 0: blob id '") + id +
                                     "' is not a file name");
    }
  }
  TEST_CASE("a blob id with invalid UTF-8 is rejected") {
    auto table = rafs::v5::encode_blob_table({rafs::v5::BlobInfo{"ab\xC0\x80"}});
    auto r = rafs::v5::decode_blob_table(table);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "blob table entry 0: blob id is not valid UTF-8");
  }
}
