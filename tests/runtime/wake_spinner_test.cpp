// WakeSpinner (runtime/wake_spinner.hpp): one spin period per burst of
// touches, asleep between bursts, and a destructor that never hangs.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "runtime/mount_helpers.hpp"
#include "runtime/wake_spinner.hpp"

namespace {

using rafs::runtime::WakeSpinner;
using rafs::test::wait_until;
using namespace std::chrono_literals;

} // namespace

TEST_SUITE("runtime::wake_spinner") {
  TEST_CASE("untouched, the spinner sleeps and begins no spin period") {
    WakeSpinner s(1000ms);
    CHECK(wait_until([&] { return s.sleeping(); })); // its thread may start late
    std::this_thread::sleep_for(50ms);
    CHECK(s.sleeping());
    CHECK(s.periods() == 0);
  }

  TEST_CASE("touches within the window make one spin period, which ends in sleep after the window") {
    WakeSpinner s(200ms);
    // Touched every 20 ms until its thread is seen awake: a busy machine may
    // give a thread at nice 19 no CPU for a while, even seconds.
    CHECK(wait_until([&] {
      s.touch();
      return !s.sleeping();
    }));
    CHECK(s.periods() == 1);
    CHECK(wait_until([&] { return s.sleeping(); })); // 200 ms after the last touch
    std::this_thread::sleep_for(50ms);               // nothing wakes it again
    CHECK(s.sleeping());
    CHECK(s.periods() == 1);
    s.touch(); // after the window: a new period
    CHECK(s.periods() == 2);
    s.touch();
    CHECK(s.periods() == 2);
  }

  TEST_CASE("the destructor ends the thread while it spins and while it sleeps") {
    {
      WakeSpinner spinning(std::chrono::microseconds(1'000'000'000)); // 1000 s
      spinning.touch();
      CHECK(wait_until([&] { return !spinning.sleeping(); }));
    }
    {
      WakeSpinner asleep(1ms);
    }
  }
}
