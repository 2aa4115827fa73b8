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
    std::this_thread::sleep_for(50ms);
    CHECK(s.sleeping());
    CHECK(s.periods() == 0);
  }

  TEST_CASE("a touch begins exactly one spin period, which ends in sleep after the window") {
    WakeSpinner s(20ms);
    s.touch();
    CHECK(wait_until([&] { return s.periods() == 1 && s.sleeping(); }));
    std::this_thread::sleep_for(50ms); // nothing wakes it again
    CHECK(s.periods() == 1);
    CHECK(s.sleeping());
    s.touch();
    CHECK(wait_until([&] { return s.periods() == 2 && s.sleeping(); }));
  }

  TEST_CASE("the destructor ends the thread while it spins and while it sleeps") {
    {
      WakeSpinner spinning(std::chrono::microseconds(1'000'000'000)); // 1000 s
      spinning.touch();
      CHECK(wait_until([&] { return spinning.periods() == 1; }));
    }
    {
      WakeSpinner asleep(1ms);
    }
  }
}
