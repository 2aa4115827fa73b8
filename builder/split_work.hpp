// Runs one loop over [0, n) on several threads, each on a contiguous range.
#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace rafs::builder {

// Calls fn(begin, end) on up to `threads` contiguous ranges covering [0, n),
// the first on the calling thread, the others on threads of their own, and
// returns when all are done. Ranges shorter than `min_range` are not worth a
// thread: fewer, longer ranges are used. The calls run at the same time;
// what fn computes for an index must not depend on its range (so the result
// is the same for every thread count); fn must not throw.
template <typename Fn>
void split_work(std::size_t n, unsigned threads, std::size_t min_range, Fn&& fn) {
  const std::size_t most = std::max<std::size_t>(1, n / std::max<std::size_t>(1, min_range));
  const std::size_t parts = std::clamp<std::size_t>(threads, 1, most);
  std::vector<std::thread> helpers;
  helpers.reserve(parts - 1);
  for (std::size_t p = 1; p < parts; ++p) {
    helpers.emplace_back([&fn, begin = n * p / parts, end = n * (p + 1) / parts] { fn(begin, end); });
  }
  fn(std::size_t{0}, n / parts);
  for (auto& t : helpers) {
    t.join();
  }
}

} // namespace rafs::builder
