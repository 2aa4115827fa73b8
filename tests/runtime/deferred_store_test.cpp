// DeferredStore: the chunk store opened on its own thread while the mount
// goes live. Reads wait for the open and then go to the store, or fail with
// the open's error; stats are zeros until it is open.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "runtime/deferred_store.hpp"

namespace {

using namespace rafs;
using namespace std::chrono_literals;

// Fills reads with the index; counts what it is asked.
class FakeStore final : public runtime::ChunkStore {
public:
  std::atomic<int>* shutdowns;
  std::vector<std::uint32_t> prefetched;
  explicit FakeStore(std::atomic<int>* s) : shutdowns(s) {}
  Result<std::size_t> read_file(std::uint32_t index, std::uint64_t, MutableBytes out) override {
    std::fill(out.begin(), out.end(), static_cast<std::uint8_t>(index));
    return out.size();
  }
  void start_prefetch(std::vector<std::uint32_t> indexes) override { prefetched = std::move(indexes); }
  void shutdown() override { ++*shutdowns; }
  runtime::StoreStats stats() const override {
    runtime::StoreStats s;
    s.cache_hits = 42;
    return s;
  }
};

} // namespace

TEST_SUITE("runtime::deferred store") {
  TEST_CASE("a read waits for the open, then reads from the opened store") {
    std::atomic<bool> release{false};
    std::atomic<int> shutdowns{0};
    FakeStore* fake = nullptr;
    runtime::DeferredStore store([&]() -> Result<std::unique_ptr<runtime::ChunkStore>> {
      while (!release) {
        std::this_thread::sleep_for(1ms);
      }
      auto s = std::make_unique<FakeStore>(&shutdowns);
      fake = s.get();
      return std::unique_ptr<runtime::ChunkStore>(std::move(s));
    });
    CHECK(store.stats().cache_hits == 0); // not open yet
    std::atomic<bool> read_done{false};
    std::vector<std::uint8_t> buf(5);
    std::thread reader([&] {
      auto n = store.read_file(7, 0, buf);
      CHECK(n);
      CHECK(*n == 5);
      read_done = true;
    });
    std::this_thread::sleep_for(20ms);
    CHECK_FALSE(read_done); // still waiting for the open
    release = true;
    reader.join();
    CHECK(buf == std::vector<std::uint8_t>(5, 7));
    CHECK(store.wait());
    CHECK(store.stats().cache_hits == 42);
    store.start_prefetch({3, 4});
    REQUIRE(fake != nullptr);
    CHECK(fake->prefetched == std::vector<std::uint32_t>{3, 4});
    store.shutdown();
    CHECK(shutdowns == 1);
  }

  TEST_CASE("the open runs at the lowest priority, and the caller's priority is unchanged") {
    const int before = ::getpriority(PRIO_PROCESS, 0);
    std::atomic<int> seen{-100};
    std::atomic<int> shutdowns{0};
    runtime::DeferredStore store([&]() -> Result<std::unique_ptr<runtime::ChunkStore>> {
      seen = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
      return std::unique_ptr<runtime::ChunkStore>(std::make_unique<FakeStore>(&shutdowns));
    });
    REQUIRE(store.wait());
    CHECK(seen == 19);
    CHECK(::getpriority(PRIO_PROCESS, 0) == before);
  }

  TEST_CASE("a failed open fails every read with its error, and prefetch and shutdown do nothing") {
    runtime::DeferredStore store([]() -> Result<std::unique_ptr<runtime::ChunkStore>> {
      return make_error(Errc::io, "registry 127.0.0.1:9: connection refused");
    });
    auto w = store.wait();
    REQUIRE_FALSE(w);
    CHECK(w.error().message == "registry 127.0.0.1:9: connection refused");
    std::vector<std::uint8_t> buf(3);
    auto n = store.read_file(1, 0, buf);
    REQUIRE_FALSE(n);
    CHECK(n.error().code == Errc::io);
    CHECK(n.error().message == "registry 127.0.0.1:9: connection refused");
    store.start_prefetch({1});
    store.shutdown();
    CHECK(store.stats().backend_reads == 0);
  }

  TEST_CASE("dropped while still opening: the destructor waits for the open and shuts the store down") {
    std::atomic<int> shutdowns{0};
    {
      runtime::DeferredStore store([&]() -> Result<std::unique_ptr<runtime::ChunkStore>> {
        std::this_thread::sleep_for(30ms);
        return std::unique_ptr<runtime::ChunkStore>(std::make_unique<FakeStore>(&shutdowns));
      });
    }
    CHECK(shutdowns == 1);
  }
}
