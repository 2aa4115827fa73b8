// `rafs mount` as a command: daemon life cycle (returns once live, ends on
// unmount or SIGTERM/SIGINT with exit 0, leaves no process), foreground
// mode, --record-access, read-only behaviour, and one-line errors for bad
// mountpoints, configs and options.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

#include "runtime/mount_helpers.hpp"

namespace {

using namespace rafs::test;

std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// A small image: three files, a directory, a symlink.
void create_image(const TempDir& tmp) {
  write_tar(tmp / "layer.tar", {tar_dir("./", 0755), tar_file("a", "alpha\n"), tar_file("b", random_bytes(200000, 2)),
                                tar_dir("d", 0750), tar_file("d/c", "gamma\n", 0600), tar_file("d/e", "epsilon\n"),
                                tar_symlink("link", "d/c")});
  fs::create_directories(tmp / "blobs");
  RunResult r = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "img.boot").string(), "-D",
                          (tmp / "blobs").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

std::vector<std::string> blob_args(const TempDir& tmp) { return {"-D", (tmp / "blobs").string()}; }

// `rafs mount` must fail with exit 1 and exactly one line "rafs: ...".
void expect_one_line_failure(const RunResult& r, const std::string& needle) {
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(count_lines(r.err) == 1);
  CHECK(r.err.rfind("rafs: ", 0) == 0);
  CHECK(r.err.find(needle) != std::string::npos);
}

} // namespace

TEST_SUITE("runtime::mount cli") {
  TEST_CASE("the daemon returns once the mount is live and fusermount3 -u ends it with exit 0, no process left") {
    TempDir tmp;
    create_image(tmp);
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", blob_args(tmp));
    const pid_t pid = *m.pid();
    CHECK(slurp(m / "a") == "alpha\n");
    CHECK(daemon_pids(m.path()) == std::vector<pid_t>{pid});
    RunResult u = sh("fusermount3 -u " + shell_quote(m.path().string()));
    CHECK(u.exit_code == 0);
    CHECK(m.reap() == 0);
    CHECK(daemon_pids(m.path()).empty());
    CHECK(::kill(pid, 0) != 0);
    CHECK(!is_mounted(m.path()));
  }

  // They cost start-up time (format/shared_lib.hpp): loaded only when used.
  TEST_CASE("libarchive, libcrypto and libcurl are not linked, and a mount of a bootstrap never loads them") {
    RunResult needed = sh("readelf -d " + shell_quote(RAFS_BINARY) + " | grep NEEDED");
    REQUIRE(needed.exit_code == 0);
    CHECK(needed.out.find("libfuse3") != std::string::npos);
    for (const char* lib : {"libarchive", "libcrypto", "libcurl"}) {
      CAPTURE(lib);
      CHECK(needed.out.find(lib) == std::string::npos);
    }
    TempDir tmp;
    create_image(tmp);
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", blob_args(tmp));
    CHECK(slurp(m / "b") == random_bytes(200000, 2));
    const std::string maps = slurp("/proc/" + std::to_string(*m.pid()) + "/maps");
    CHECK(maps.find("libfuse3") != std::string::npos);
    for (const char* lib : {"libarchive", "libcrypto", "libcurl"}) {
      CAPTURE(lib);
      CHECK(maps.find(lib) == std::string::npos);
    }
    CHECK(m.unmount() == 0);
  }

  TEST_CASE("SIGTERM and SIGINT unmount and exit 0") {
    for (int sig : {SIGTERM, SIGINT}) {
      CAPTURE(sig);
      TempDir tmp;
      create_image(tmp);
      Mount m(tmp / "mnt");
      m.start_ok(tmp / "img.boot", blob_args(tmp));
      CHECK(slurp(m / "d/c") == "gamma\n");
      m.signal(sig);
      CHECK(m.reap() == 0);
      CHECK(!is_mounted(m.path()));
    }
  }

  TEST_CASE("-f stays in the foreground until unmounted, then logs the stats once") {
    TempDir tmp;
    create_image(tmp);
    Mount m(tmp / "mnt");
    std::thread fg([&] {
      RunResult r = run_rafs({"mount", (tmp / "img.boot").string(), m.path().string(), "-D",
                              (tmp / "blobs").string(), "-f"});
      CHECK(r.exit_code == 0);
      CHECK(r.err == "rafs: backend: 1 reads, 8 bytes; registry: 0 requests, 0 bytes, 0 retries; cache: 0 hits, "
                     "1 chunks fetched, 0 bad; prefetch: 0 chunks, done\n");
    });
    const bool live = wait_until([&] { return is_mounted(m.path()); });
    CHECK(live);
    if (live) {
      CHECK(slurp(m / "d/e") == "epsilon\n");
      CHECK(sh("fusermount3 -u " + shell_quote(m.path().string())).exit_code == 0);
    }
    fg.join();
  }

  TEST_CASE("--record-access lists the files opened, once each, in order, and it is a valid prefetch list") {
    TempDir tmp;
    create_image(tmp);
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", {"-D", (tmp / "blobs").string(), "--record-access", (tmp / "access.txt").string()});
    const std::string q = shell_quote(m.path().string());
    REQUIRE(sh("ls -lR " + q + " > /dev/null && cat " + q + "/d/e " + q + "/a " + q + "/link " + q + "/a > /dev/null")
                .exit_code == 0);
    CHECK(m.unmount() == 0);
    CHECK(read_text(tmp / "access.txt") == "/d/e\n/a\n/d/c\n");
    RunResult b = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "pf.boot").string(), "-D",
                            (tmp / "blobs").string(), "--prefetch-policy", "fs"},
                           read_text(tmp / "access.txt"));
    INFO(b.err);
    REQUIRE(b.exit_code == 0);
    RunResult d = run_rafs({"dump", (tmp / "pf.boot").string()});
    CHECK(d.out.find("prefetch: 3 entries\n  /d/e\n  /a\n  /d/c\n") != std::string::npos);
  }

  TEST_CASE("the mount is read-only: writes fail with EROFS, reads and metadata work") {
    TempDir tmp;
    create_image(tmp);
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", blob_args(tmp));
    errno = 0;
    CHECK(::open((m / "a").c_str(), O_WRONLY) < 0);
    CHECK(errno == EROFS);
    errno = 0;
    CHECK(::open((m / "new").c_str(), O_WRONLY | O_CREAT, 0644) < 0);
    CHECK(errno == EROFS);
    errno = 0;
    CHECK(::mkdir((m / "dir").c_str(), 0755) < 0);
    CHECK(errno == EROFS);
    errno = 0;
    CHECK(::unlink((m / "a").c_str()) < 0);
    CHECK(errno == EROFS);
    errno = 0;
    CHECK(::chmod((m / "a").c_str(), 0777) < 0);
    CHECK(errno == EROFS);
    errno = 0;
    CHECK(::setxattr((m / "a").c_str(), "user.x", "1", 1, 0) < 0);
    CHECK(errno == EROFS);
    // The image has no xattrs (and enable_xattr is off): none listed.
    CHECK(::listxattr((m / "a").c_str(), nullptr, 0) <= 0);
    CHECK(fs::read_symlink(m / "link") == "d/c");
    CHECK(fs::status(m / "d").permissions() == static_cast<fs::perms>(0750));
    struct statvfs sv {};
    REQUIRE(::statvfs(m.path().c_str(), &sv) == 0);
    CHECK(sv.f_namemax == 255);
    CHECK(sv.f_files == 7); // the superblock's inodes_count
    CHECK((sv.f_flag & ST_RDONLY) != 0);
    CHECK((sv.f_flag & ST_NOSUID) != 0);
    CHECK((sv.f_flag & ST_NODEV) != 0);
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(m / "d")) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"c", "e"});
    CHECK(m.unmount() == 0);
  }

  TEST_CASE("a missing, busy, dead or non-directory mountpoint fails with one line and exit 1") {
    TempDir tmp;
    create_image(tmp);
    SUBCASE("missing") {
      RunResult r = run_rafs({"mount", (tmp / "img.boot").string(), (tmp / "nope").string(), "-D",
                              (tmp / "blobs").string()});
      expect_one_line_failure(r, "mountpoint does not exist");
    }
    SUBCASE("a file") {
      write_text(tmp / "file", "x");
      RunResult r = run_rafs({"mount", (tmp / "img.boot").string(), (tmp / "file").string(), "-D",
                              (tmp / "blobs").string()});
      expect_one_line_failure(r, "not a directory");
    }
    SUBCASE("already mounted, and dead after kill -9") {
      Mount m(tmp / "mnt");
      m.start_ok(tmp / "img.boot", blob_args(tmp));
      RunResult r = m.start(tmp / "img.boot", blob_args(tmp));
      expect_one_line_failure(r, "busy");
      CHECK(daemon_pids(m.path()).size() == 1);
      m.signal(SIGKILL);
      m.reap();
      RunResult dead = run_rafs({"mount", (tmp / "img.boot").string(), m.path().string(), "-D",
                                 (tmp / "blobs").string()});
      expect_one_line_failure(dead, "dead FUSE mount");
      m.unmount();
      CHECK(!is_mounted(m.path()));
    }
  }

  TEST_CASE("bad configs, a missing bootstrap or blob dir and unknown FUSE options fail with one line and exit 1") {
    TempDir tmp;
    create_image(tmp);
    fs::create_directories(tmp / "mnt");
    const std::string boot = (tmp / "img.boot").string();
    const std::string mnt = (tmp / "mnt").string();
    auto mount_with = [&](const std::string& cfg) {
      write_text(tmp / "cfg.json", cfg);
      return run_rafs({"mount", boot, mnt, "--config", (tmp / "cfg.json").string()});
    };
    expect_one_line_failure(mount_with(R"({"device": {}})"), "cfg.json: mode: missing");
    expect_one_line_failure(mount_with(R"({"mode": "direct", "device": {"backend": {"type": "oss",
      "config": {"host": "h", "repo": "r"}}}})"), "device.backend.type: the oss backend is not supported yet");
    expect_one_line_failure(mount_with(R"({"mode": "direct", "device": {"backend": {"type": "registry",
      "config": {"host": "h"}}}})"), "device.backend.config.repo: missing");
    expect_one_line_failure(mount_with(R"({"mode": "direct", "fs_prefetch": {"enable": true, "threads_count": 0}})"),
                            "fs_prefetch.threads_count");
    expect_one_line_failure(mount_with("{not json"), "cfg.json: not valid JSON");
    expect_one_line_failure(mount_with(R"({"mode": "direct"})"), "no blob directory");
    expect_one_line_failure(run_rafs({"mount", (tmp / "missing.boot").string(), mnt, "-D", (tmp / "blobs").string()}),
                            "missing.boot");
    expect_one_line_failure(run_rafs({"mount", boot, mnt, "--config", (tmp / "nope.json").string(), "-D",
                                      (tmp / "blobs").string()}),
                            "nope.json");
    expect_one_line_failure(run_rafs({"mount", boot, mnt, "-D", (tmp / "blobs").string(), "-o", "no_such_option"}),
                            "no_such_option");
    CHECK(!is_mounted(tmp / "mnt"));
    CHECK(daemon_pids(tmp / "mnt").empty());
    // Usage errors exit 2.
    CHECK(run_rafs({"mount", boot}).exit_code == 2);
    CHECK(run_rafs({"mount", boot, mnt, "-D", (tmp / "no-dir").string()}).exit_code == 2);
  }

  TEST_CASE("SIGUSR1 without --metrics is ignored, and SIGHUP ends the daemon like SIGTERM") {
    TempDir tmp;
    create_image(tmp);
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", blob_args(tmp));
    m.signal(SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(slurp(m / "a") == "alpha\n");
    CHECK(daemon_pids(m.path()).size() == 1);
    m.signal(SIGHUP);
    CHECK(m.reap() == 0);
    CHECK(!is_mounted(m.path()));
  }

  TEST_CASE("an image built with --repeatable (no EXPLICIT_UID_GID) shows the daemon's uid and gid, "
            "like nydusd") {
    TempDir tmp;
    write_tar(tmp / "layer.tar", {tar_dir("./", 0755), tar_file("owned", "x\n").with_owner(1234, 5678)});
    fs::create_directories(tmp / "blobs");
    RunResult r = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "img.boot").string(), "-D",
                            (tmp / "blobs").string(), "--repeatable"});
    REQUIRE(r.exit_code == 0);
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", blob_args(tmp));
    struct stat st {};
    REQUIRE(::stat((m / "owned").c_str(), &st) == 0);
    CHECK(st.st_uid == ::geteuid());
    CHECK(st.st_gid == ::getegid());
    CHECK(m.unmount() == 0);
  }

  TEST_CASE("-o options reach FUSE: allow_other, dev and suid undo the defaults") {
    TempDir tmp;
    create_image(tmp);
    Mount m(tmp / "mnt");
    // -o takes one value per use, before or after the positionals.
    RunResult r = run_rafs({"mount", "-o", "allow_other", (tmp / "img.boot").string(), m.path().string(), "-D",
                            (tmp / "blobs").string(), "-o", "dev,suid"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(is_mounted(m.path()));
    m.adopt();
    RunResult info = sh("findmnt -n -o FSTYPE,OPTIONS,SOURCE " + shell_quote(m.path().string()));
    INFO(info.out);
    CHECK(info.out.find("fuse.rafs") != std::string::npos);
    CHECK(info.out.find("allow_other") != std::string::npos);
    CHECK(info.out.find("nosuid") == std::string::npos);
    CHECK(info.out.find("nodev") == std::string::npos);
    CHECK(info.out.find("ro,") != std::string::npos);
    CHECK(m.unmount() == 0);
  }

  TEST_CASE("a default mount is ro, nodev and nosuid without allow_other, and --dev --suid lift the two") {
    TempDir tmp;
    create_image(tmp);
    for (bool lifted : {false, true}) {
      CAPTURE(lifted);
      Mount m(tmp / (lifted ? "mnt-lifted" : "mnt-default"));
      std::vector<std::string> args{"mount", (tmp / "img.boot").string(), m.path().string(), "-D",
                                    (tmp / "blobs").string()};
      if (lifted) {
        args.insert(args.end(), {"--dev", "--suid"});
      }
      RunResult r = run_rafs(args);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      REQUIRE(is_mounted(m.path()));
      m.adopt();
      RunResult info = sh("findmnt -n -o OPTIONS " + shell_quote(m.path().string()));
      INFO(info.out);
      const std::string opts = "," + info.out.substr(0, info.out.find('\n')) + ",";
      CHECK(opts.find(",ro,") != std::string::npos);
      CHECK(opts.find("allow_other") == std::string::npos);
      CHECK((opts.find(",nodev,") != std::string::npos) == !lifted);
      CHECK((opts.find(",nosuid,") != std::string::npos) == !lifted);
      CHECK(m.unmount() == 0);
    }
  }

  TEST_CASE("--busy-poll-us runs one rafs-spin thread at nice 19 that sleeps between requests, and ioctls get "
            "ENOTTY") {
    TempDir tmp;
    create_image(tmp);
    // The daemon's threads named `name`: each one's /proc/PID/task/TID.
    auto threads_named = [](pid_t pid, const std::string& name) {
      std::vector<fs::path> tasks;
      for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        if (slurp(task.path() / "comm") == name + "\n") {
          tasks.push_back(task.path());
        }
      }
      return tasks;
    };
    // Fields of a task's stat line after the ")" closing the name: [0] state, [16] nice.
    auto stat_field = [](const fs::path& task, std::size_t k) {
      const std::string stat = slurp(task / "stat");
      std::istringstream in(stat.substr(stat.rfind(')') + 2));
      std::string f;
      for (std::size_t i = 0; i <= k; ++i) {
        in >> f;
      }
      return f;
    };
    auto switches = [](const fs::path& task) { // voluntary context switches
      const std::string status = slurp(task / "status");
      return std::stol(status.substr(status.find("voluntary_ctxt_switches:") + 24));
    };
    {
      Mount plain(tmp / "mnt-plain");
      plain.start_ok(tmp / "img.boot", blob_args(tmp));
      CHECK(threads_named(*plain.pid(), "rafs-spin").empty());
      CHECK(plain.unmount() == 0);
    }
    Mount m(tmp / "mnt");
    m.start_ok(tmp / "img.boot", {"-D", (tmp / "blobs").string(), "--busy-poll-us", "50000"});
    const pid_t pid = *m.pid();
    const auto spinners = threads_named(pid, "rafs-spin");
    REQUIRE(spinners.size() == 1);
    const fs::path spinner = spinners[0];
    CHECK(stat_field(spinner, 16) == "19");
    // Asleep once the mount's own requests are 50 ms past.
    CHECK(wait_until([&] { return stat_field(spinner, 0) == "S"; }));
    const long before = switches(spinner);
    const int fd = ::open((m / "a").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    errno = 0;
    CHECK(::isatty(fd) == 0); // an IOCTL request: the spinner wakes, spins, sleeps again
    CHECK(errno == ENOTTY);
    ::close(fd);
    CHECK(wait_until([&] { return switches(spinner) > before && stat_field(spinner, 0) == "S"; }));
    CHECK(slurp(m / "b") == random_bytes(200000, 2));
    CHECK(m.unmount() == 0);
    RunResult bad = run_rafs({"mount", (tmp / "img.boot").string(), (tmp / "mnt").string(), "-D",
                              (tmp / "blobs").string(), "--busy-poll-us", "2000000"});
    CHECK(bad.exit_code == 2); // a usage error, as for every flag's range
    CHECK(bad.err.find("--busy-poll-us: Value 2000000 not in range 0 to 1000000") == 0);
    CHECK(!is_mounted(tmp / "mnt"));
  }

  TEST_CASE("--poll-idle-ms: a rafs-qos thread holds /dev/cpu_dma_latency open while requests arrive and "
            "drops it after, and 0 runs none") {
    TempDir tmp;
    create_image(tmp);
    auto qos_threads = [](pid_t pid) {
      int n = 0;
      for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        n += slurp(task.path() / "comm") == "rafs-qos\n" ? 1 : 0;
      }
      return n;
    };
    const fs::path device = "/dev/cpu_dma_latency";
    auto holds_device = [&](pid_t pid) {
      for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        std::error_code ec;
        if (fs::read_symlink(fd.path(), ec) == device) {
          return true;
        }
      }
      return false;
    };
    auto request = [](const fs::path& file) { // an IOCTL request, as Python's isatty() makes
      const int fd = ::open(file.c_str(), O_RDONLY);
      REQUIRE(fd >= 0);
      CHECK(::isatty(fd) == 0);
      ::close(fd);
    };
    const bool device_usable = ::access(device.c_str(), W_OK) == 0;
    {
      Mount m(tmp / "mnt-default"); // 20 ms after the last request
      m.start_ok(tmp / "img.boot", blob_args(tmp));
      CHECK(qos_threads(*m.pid()) == 1);
      request(m / "a");
      CHECK(wait_until([&] { return !holds_device(*m.pid()); }));
      CHECK(slurp(m / "b") == random_bytes(200000, 2));
      CHECK(m.unmount() == 0);
    }
    if (device_usable) {
      Mount m(tmp / "mnt-long");
      m.start_ok(tmp / "img.boot", {"-D", (tmp / "blobs").string(), "--poll-idle-ms", "60000"});
      request(m / "a");
      CHECK(wait_until([&] { return holds_device(*m.pid()); })); // for a minute after
      CHECK(m.unmount() == 0);
    } else {
      MESSAGE("not checked: " << device << " is not writable here (the hold then does nothing)");
    }
    {
      Mount m(tmp / "mnt-off");
      m.start_ok(tmp / "img.boot", {"-D", (tmp / "blobs").string(), "--poll-idle-ms", "0"});
      CHECK(qos_threads(*m.pid()) == 0);
      request(m / "a");
      CHECK_FALSE(holds_device(*m.pid()));
      CHECK(m.unmount() == 0);
    }
    RunResult bad = run_rafs({"mount", (tmp / "img.boot").string(), (tmp / "mnt").string(), "-D",
                              (tmp / "blobs").string(), "--poll-idle-ms", "60001"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--poll-idle-ms: Value 60001 not in range 0 to 60000") == 0);
  }
}
