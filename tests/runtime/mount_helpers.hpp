// Helpers for the `rafs mount` tests: a mount that is always unmounted at
// scope exit (fusermount3 -u, then umount -l), the daemon's pid (the test
// process is made a child subreaper, so the daemon becomes its child and
// its exit status can be read), and the --metrics file.
#pragma once

#include <doctest/doctest.h>
#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace rafs::test {

namespace fs = std::filesystem;

// Whether something is mounted exactly at `dir` (per /proc/self/mountinfo).
inline bool is_mounted(const fs::path& dir) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point;
    if (fields >> id >> parent >> devno >> root >> point && point == dir.string()) {
      return true;
    }
  }
  return false;
}

// The pids of `rafs mount ... MOUNTPOINT ...` processes for this mountpoint.
inline std::vector<pid_t> daemon_pids(const fs::path& mountpoint) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> argv;
    std::istringstream parts(cmdline);
    for (std::string a; std::getline(parts, a, '\0');) {
      argv.push_back(a);
    }
    if (argv.size() >= 3 && argv[0] == RAFS_BINARY && argv[1] == "mount" &&
        std::find(argv.begin(), argv.end(), mountpoint.string()) != argv.end()) {
      out.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return out;
}

// Polls `done` every 20 ms for up to `seconds`.
template <typename F> bool wait_until(F&& done, double seconds = 10) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// A `rafs mount` of one bootstrap; unmounted (and its daemon reaped) at
// scope exit whatever happened. Declare it after the TempDir holding the
// mountpoint, so it goes first.
class Mount {
public:
  explicit Mount(fs::path mountpoint) : m_mnt(std::move(mountpoint)) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    fs::create_directories(m_mnt);
  }
  ~Mount() {
    try {
      unmount();
    } catch (...) {
    }
  }
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

  const fs::path& path() const { return m_mnt; }
  fs::path operator/(const std::string& rel) const { return m_mnt / rel; }

  // `rafs mount BOOT MNT args...`; on success, records the daemon's pid.
  RunResult start(const fs::path& boot, const std::vector<std::string>& args) {
    std::vector<std::string> all{"mount", boot.string(), m_mnt.string()};
    all.insert(all.end(), args.begin(), args.end());
    RunResult r = run_rafs(all);
    if (r.exit_code == 0) {
      adopt();
    }
    return r;
  }
  // Records the pid of the daemon serving this mountpoint (after a mount
  // made without start()).
  void adopt() {
    auto pids = daemon_pids(m_mnt);
    m_pid = pids.empty() ? std::nullopt : std::optional<pid_t>(pids.front());
  }
  // start() that must succeed, with no output.
  void start_ok(const fs::path& boot, const std::vector<std::string>& args) {
    RunResult r = start(boot, args);
    INFO("rafs mount: " << r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err == "");
    REQUIRE(is_mounted(m_mnt));
    REQUIRE(m_pid.has_value());
  }

  std::optional<pid_t> pid() const { return m_pid; }

  // Unmounts if mounted (fusermount3 -u, else umount -l), then waits for
  // the daemon; returns its exit status (-signal when killed), if known.
  std::optional<int> unmount() {
    if (is_mounted(m_mnt)) {
      const std::string q = shell_quote(m_mnt.string());
      sh("fusermount3 -u " + q + " 2>/dev/null || umount -l " + q + " 2>/dev/null");
    }
    return reap();
  }

  // Waits (up to 10 s) for the daemon to exit; its status, if it was ours.
  std::optional<int> reap() {
    if (!m_pid) {
      return m_status;
    }
    int status = 0;
    const pid_t pid = *m_pid;
    bool exited = wait_until([&] {
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      return r == pid || (r < 0 && errno == ECHILD);
    });
    if (!exited) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
    m_pid.reset();
    m_status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    return m_status;
  }

  // Sends `sig` to the daemon.
  void signal(int sig) const {
    REQUIRE(m_pid.has_value());
    ::kill(*m_pid, sig);
  }

private:
  fs::path m_mnt;
  std::optional<pid_t> m_pid;
  std::optional<int> m_status;
};

// A fresh snapshot of the daemon's --metrics file: removes it, sends
// SIGUSR1 and waits for the daemon to write it again.
inline nlohmann::json metrics_now(const Mount& m, const fs::path& file) {
  std::error_code ec;
  fs::remove(file, ec);
  m.signal(SIGUSR1);
  REQUIRE(wait_until([&] { return fs::exists(file); }));
  return nlohmann::json::parse(read_text(file));
}

// Reads a whole file through the mount (a short read or error throws).
inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open " + p.string());
  }
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    throw std::runtime_error("read error in " + p.string());
  }
  return s;
}

// Every regular file under `root`, read completely (a whole-tree read).
inline std::uint64_t read_tree(const fs::path& root) {
  std::uint64_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && !e.is_symlink()) {
      bytes += slurp(e.path()).size();
    }
  }
  return bytes;
}

inline void write_text(const fs::path& p, const std::string& s) {
  write_file(p, std::vector<std::uint8_t>(s.begin(), s.end()));
}

} // namespace rafs::test
