// split_work: one loop over [0, n) cut into contiguous ranges on threads.
#include <doctest/doctest.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "builder/split_work.hpp"

using rafs::builder::split_work;

namespace {

// The ranges split_work hands out, sorted, and the threads they ran on.
struct Calls {
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  std::vector<std::thread::id> threads;
};

Calls record(std::size_t n, unsigned threads, std::size_t min_range) {
  Calls c;
  std::mutex m;
  split_work(n, threads, min_range, [&](std::size_t begin, std::size_t end) {
    std::lock_guard lock(m);
    c.ranges.emplace_back(begin, end);
    c.threads.push_back(std::this_thread::get_id());
  });
  std::sort(c.ranges.begin(), c.ranges.end());
  return c;
}

} // namespace

TEST_SUITE("builder::split_work") {
  TEST_CASE("the ranges are contiguous and cover every index once, the first on the calling thread") {
    Calls c = record(10, 3, 1);
    REQUIRE(c.ranges.size() == 3);
    CHECK(c.ranges[0] == std::pair<std::size_t, std::size_t>{0, 3});
    CHECK(c.ranges[1] == std::pair<std::size_t, std::size_t>{3, 6});
    CHECK(c.ranges[2] == std::pair<std::size_t, std::size_t>{6, 10});
    CHECK(std::count(c.threads.begin(), c.threads.end(), std::this_thread::get_id()) == 1);
    std::sort(c.threads.begin(), c.threads.end());
    CHECK(std::unique(c.threads.begin(), c.threads.end()) == c.threads.end());
  }

  TEST_CASE("ranges shorter than the minimum are merged: fewer threads than asked") {
    CHECK(record(20000, 2, 8192).ranges ==
          std::vector<std::pair<std::size_t, std::size_t>>{{0, 10000}, {10000, 20000}});
    CHECK(record(16383, 2, 8192).ranges == std::vector<std::pair<std::size_t, std::size_t>>{{0, 16383}});
    CHECK(record(30000, 8, 8192).ranges.size() == 3);
    Calls one = record(5, 4, 8192);
    CHECK(one.ranges == std::vector<std::pair<std::size_t, std::size_t>>{{0, 5}});
    CHECK(one.threads == std::vector<std::thread::id>{std::this_thread::get_id()});
  }

  TEST_CASE("no work, or 0 threads asked, is one call on the calling thread") {
    CHECK(record(0, 4, 1).ranges == std::vector<std::pair<std::size_t, std::size_t>>{{0, 0}});
    CHECK(record(7, 0, 1).ranges == std::vector<std::pair<std::size_t, std::size_t>>{{0, 7}});
    CHECK(record(7, 2, 0).ranges == std::vector<std::pair<std::size_t, std::size_t>>{{0, 3}, {3, 7}});
  }

  TEST_CASE("every index's result is the same for any thread count") {
    std::vector<std::uint64_t> want(50000);
    for (std::size_t i = 0; i < want.size(); ++i) {
      want[i] = i * i % 7919;
    }
    for (unsigned threads : {1u, 2u, 3u, 7u}) {
      std::vector<std::uint64_t> got(want.size(), 0);
      split_work(got.size(), threads, 1000, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
          got[i] = i * i % 7919;
        }
      });
      CHECK(got == want);
    }
  }
}
