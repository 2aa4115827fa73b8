// Every subcommand registers itself on the app; main() only dispatches.
#pragma once

#include <functional>
#include <string>

#include "format/error.hpp"

namespace CLI {
class App;
}

namespace rafs::cli {

// A subcommand's action, run after parsing; returns the exit code.
using Action = std::function<int()>;

// Exit codes: 0 success, 1 bad input or failed check, 2 bad usage.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_bad_input = 1;
inline constexpr int k_exit_usage = 2;

Action setup_dump(CLI::App& app);
Action setup_check(CLI::App& app);
Action setup_unpack(CLI::App& app);
Action setup_create(CLI::App& app);
Action setup_convert(CLI::App& app);
Action setup_merge(CLI::App& app);
Action setup_mount(CLI::App& app);

// Prints "rafs: <message>" on stderr and returns k_exit_bad_input.
int report(const Error& error);

} // namespace rafs::cli
