#include "support/run.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "support/temp_dir.hpp"

namespace rafs::test {

RunResult run(const std::vector<std::string>& argv, const std::string& input) {
  TempDir dir;
  const std::string in_path = (dir / "stdin").string();
  const std::string out_path = (dir / "stdout").string();
  const std::string err_path = (dir / "stderr").string();
  write_file(in_path, std::vector<std::uint8_t>(input.begin(), input.end()));

  pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) {
      _exit(127);
    }
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

RunResult run_rafs(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv{RAFS_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, input);
}

RunResult sh(const std::string& command) { return run({"/bin/sh", "-c", command}); }

} // namespace rafs::test
