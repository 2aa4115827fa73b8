// WakeLatencyHold (runtime/wake_latency.hpp): the PM QoS request is made on
// the first touch of a burst (a 32-bit 0 written to the device, the device
// kept open), dropped once `linger` passes with no touch, never made without
// a touch, and a device that cannot be opened only disables it.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

#include "runtime/mount_helpers.hpp"
#include "runtime/wake_latency.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using rafs::runtime::WakeLatencyHold;
using rafs::test::read_file;
using rafs::test::TempDir;
using rafs::test::wait_until;
using rafs::test::write_file;
using namespace std::chrono_literals;

// How many of this process's descriptors are open on `file`.
int open_count(const fs::path& file) {
  int n = 0;
  for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(fd.path(), ec) == file) {
      n += 1;
    }
  }
  return n;
}

} // namespace

TEST_SUITE("runtime::wake_latency") {
  TEST_CASE("untouched, nothing is requested: the device is never opened") {
    TempDir tmp;
    const fs::path device = tmp / "qos";
    write_file(device, {7, 7, 7, 7, 7});
    {
      WakeLatencyHold hold(10ms, device);
      std::this_thread::sleep_for(50ms);
      CHECK_FALSE(hold.held());
      CHECK(hold.holds() == 0);
      CHECK(open_count(device) == 0);
    }
    CHECK(read_file(device) == std::vector<std::uint8_t>{7, 7, 7, 7, 7});
  }

  TEST_CASE("a touch writes a 32-bit 0 and keeps the device open until the linger has passed, once per "
            "burst") {
    TempDir tmp;
    const fs::path device = tmp / "qos";
    write_file(device, {7, 7, 7, 7, 7});
    WakeLatencyHold hold(30ms, device);
    hold.touch();
    REQUIRE(wait_until([&] { return hold.holds() == 1; }));
    // Released on its own, 30 ms after the touch.
    CHECK(wait_until([&] { return !hold.held() && open_count(device) == 0; }));
    CHECK(hold.holds() == 1);
    CHECK(read_file(device) == std::vector<std::uint8_t>{0, 0, 0, 0, 7});
    CHECK(hold.failed_errno() == 0);
    std::this_thread::sleep_for(60ms); // no touch, no new hold
    CHECK(hold.holds() == 1);
    hold.touch();
    CHECK(wait_until([&] { return hold.holds() == 2 && !hold.held(); }));
  }

  TEST_CASE("touches closer together than the linger keep one hold with the device open throughout, and "
            "the destructor drops it at once") {
    TempDir tmp;
    const fs::path device = tmp / "qos";
    write_file(device, {});
    std::chrono::steady_clock::time_point destroying;
    {
      WakeLatencyHold hold(std::chrono::milliseconds(60'000), device);
      hold.touch();
      REQUIRE(wait_until([&] { return hold.held(); }));
      for (int i = 0; i < 10; ++i) {
        hold.touch();
        std::this_thread::sleep_for(5ms);
        CHECK(hold.held());
        CHECK(open_count(device) == 1);
      }
      CHECK(hold.holds() == 1);
      destroying = std::chrono::steady_clock::now();
    }
    // A minute of linger was left: a destructor that waited it out took 60 s.
    CHECK(std::chrono::steady_clock::now() - destroying < 30s);
    CHECK(open_count(device) == 0);
  }

  TEST_CASE("a device that cannot be opened disables the hold: the errno is kept and touches do nothing") {
    TempDir tmp;
    WakeLatencyHold hold(10ms, tmp / "missing");
    hold.touch();
    REQUIRE(wait_until([&] { return hold.failed_errno() != 0; }));
    CHECK(hold.failed_errno() == ENOENT);
    hold.touch();
    std::this_thread::sleep_for(30ms);
    CHECK(hold.holds() == 0);
    CHECK_FALSE(hold.held());
  }
}
