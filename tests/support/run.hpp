// Runs a program (normally build/rafs) and captures its exit code and output.
#pragma once

#include <string>
#include <vector>

namespace rafs::test {

struct RunResult {
  int exit_code = -1; // -signal when killed by a signal
  std::string out;
  std::string err;
};

// argv[0] is the program path. `input` is fed to stdin (then closed).
RunResult run(const std::vector<std::string>& argv, const std::string& input = {});
// run({RAFS_BINARY, args...})
RunResult run_rafs(const std::vector<std::string>& args, const std::string& input = {});
// A shell command line through /bin/sh -c.
RunResult sh(const std::string& command);

} // namespace rafs::test
