// format/huge_pages: large arrays start on a huge-page boundary and hold
// what is written anywhere in them; small ones come from operator new; the
// allocator works under std::vector's growth.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "format/huge_pages.hpp"

using namespace rafs;

TEST_SUITE("format::huge pages") {
  TEST_CASE("a buffer of 1 MiB or more starts on a 2 MiB boundary and keeps every byte written") {
    for (std::size_t size : {std::size_t{1} << 20, (std::size_t{4} << 20) + 12345, std::size_t{6} << 20}) {
      CAPTURE(size);
      HugeBuffer b(size);
      REQUIRE(b.size() == size);
      CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % (2 << 20) == 0);
      for (std::size_t i = 0; i < size; i += 4093) {
        b.data()[i] = static_cast<std::uint8_t>(i * 31 + 7);
      }
      b.data()[size - 1] = 0x5A;
      bool same = true;
      for (std::size_t i = 0; i < size; i += 4093) {
        same = same && b.data()[i] == static_cast<std::uint8_t>(i * 31 + 7);
      }
      CHECK(same);
      CHECK(b.data()[size - 1] == 0x5A);
    }
  }

  TEST_CASE("a moved buffer owns the memory once, and small and empty buffers work") {
    HugeBuffer a(3 << 20);
    a.data()[0] = 1;
    const std::uint8_t* where = a.data();
    HugeBuffer b(std::move(a));
    CHECK(b.data() == where);
    CHECK(a.data() == nullptr);
    CHECK(a.size() == 0);
    HugeBuffer small(100);
    small.data()[99] = 9;
    small = std::move(b);
    CHECK(small.data() == where);
    CHECK(small.size() == std::size_t{3} << 20);
    HugeBuffer empty(0);
    CHECK(empty.size() == 0);
    CHECK(empty.begin() == empty.end());
  }

  TEST_CASE("a vector with the huge-page allocator grows past 1 MiB and keeps its elements") {
    std::vector<std::uint64_t, HugePageAllocator<std::uint64_t>> v;
    for (std::uint64_t i = 0; i < 500000; ++i) { // 4 MB, through several reallocations
      v.push_back(i * i);
    }
    bool same = true;
    for (std::uint64_t i = 0; i < v.size(); ++i) {
      same = same && v[i] == i * i;
    }
    CHECK(same);
    CHECK(reinterpret_cast<std::uintptr_t>(v.data()) % (2 << 20) == 0);
    v.resize(10);
    v.shrink_to_fit();
    CHECK(v.back() == 81);
  }
}
