// Faults during conversion: `rafs create` and `rafs convert` killed with
// SIGKILL at moments spread over their run leave nothing partial at a final
// name (only temporary files, which the next run removes), and a full disk
// (a small tmpfs) or a file size limit (RLIMIT_FSIZE) makes rafs fail with
// one line naming the file and the OS reason, with no output left.
//
// Timing only picks the kill moments (fractions of a measured run); nothing
// about time is asserted: a run that ends before its moment is checked as a
// success.
#include <doctest/doctest.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "format/digest.hpp"
#include "support/dir_names.hpp"
#include "support/oci_maker.hpp"
#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace rafs::test;
namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t k_mib = 1 << 20;

// The names rafs gives temporary files and directories beside an output
// (format/file.hpp's AtomicFile, the OCI layout's staging and replaced
// directories, a scratch file).
bool is_temp_name(const std::string& name) {
  static const std::regex pattern(R"(\..+\.(tmp|old)-[A-Za-z0-9]{6}|\.rafs-scratch-[A-Za-z0-9]{6})");
  return std::regex_match(name, pattern);
}

std::string sha256_of_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + p.string());
  }
  rafs::Sha256 h;
  std::vector<char> buf(k_mib);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update({reinterpret_cast<const std::uint8_t*>(buf.data()), static_cast<std::size_t>(in.gcount())});
  }
  return rafs::to_hex(h.finalize());
}

// What is under a directory: its final outputs (relative path -> "dir" or
// the sha256 of the file) and its temporaries (relative paths; a temporary
// directory is not entered).
struct Outputs {
  std::map<std::string, std::string> finals;
  std::set<std::string> temps;
};

Outputs outputs_under(const fs::path& root) {
  Outputs o;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = it->path().lexically_relative(root).string();
    if (is_temp_name(it->path().filename().string())) {
      o.temps.insert(rel);
      if (it->is_directory()) {
        it.disable_recursion_pending();
      }
    } else {
      o.finals[rel] = it->is_directory() ? "dir" : sha256_of_file(it->path());
    }
  }
  return o;
}

// A tar of `files` files of `file_size` deterministic random bytes each,
// written piece by piece (never held in memory); returns its sha256 digest.
std::string write_big_layer(const fs::path& path, int files, std::size_t file_size) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
  for (int f = 0; f < files; ++f) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, ("data/file-" + std::to_string(f)).c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(file_size));
    archive_entry_set_mtime(e, 1700000000, 0);
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    archive_entry_free(e);
    for (std::size_t off = 0; off < file_size; off += k_mib) {
      const std::string piece =
          random_bytes(std::min(k_mib, file_size - off), static_cast<std::uint32_t>(static_cast<std::size_t>(f) * 100000 + off / k_mib));
      REQUIRE(archive_write_data(a, piece.data(), piece.size()) == static_cast<la_ssize_t>(piece.size()));
    }
  }
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
  return "sha256:" + sha256_of_file(path);
}

// An OCI image layout around one uncompressed layer file (moved in).
void write_layout_around(const fs::path& dir, const fs::path& layer, const std::string& digest) {
  fs::create_directories(dir / "blobs" / "sha256");
  auto put = [&](const std::string& text) {
    const std::vector<std::uint8_t> bytes(text.begin(), text.end());
    const std::string d = sha256_digest(bytes);
    write_file(dir / "blobs" / "sha256" / d.substr(7), bytes);
    return json{{"digest", d}, {"size", bytes.size()}};
  };
  const auto layer_size = fs::file_size(layer);
  fs::rename(layer, dir / "blobs" / "sha256" / digest.substr(7));
  json config_desc = put(json{{"architecture", "amd64"},
                              {"os", "linux"},
                              {"rootfs", {{"type", "layers"}, {"diff_ids", {digest}}}}}
                             .dump());
  config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json";
  const json layer_desc = {{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                           {"digest", digest},
                           {"size", layer_size}};
  json manifest_desc = put(json{{"schemaVersion", 2},
                                {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                {"config", config_desc},
                                {"layers", {layer_desc}}}
                               .dump());
  manifest_desc["mediaType"] = "application/vnd.oci.image.manifest.v1+json";
  const std::string index = json{{"schemaVersion", 2}, {"manifests", {manifest_desc}}}.dump();
  write_file(dir / "index.json", {index.begin(), index.end()});
  const std::string layout = R"({"imageLayoutVersion":"1.0.0"})";
  write_file(dir / "oci-layout", {layout.begin(), layout.end()});
}

// rafs started in the background (output discarded); SIGKILLed and reaped
// at scope exit if still there.
class Child {
public:
  explicit Child(const std::vector<std::string>& args) {
    std::vector<std::string> argv{RAFS_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c_argv;
    for (auto& a : argv) {
      c_argv.push_back(a.data());
    }
    c_argv.push_back(nullptr);
    m_pid = ::fork();
    REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execv(c_argv[0], c_argv.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (m_pid > 0) {
      kill_and_wait();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // SIGKILL (harmless if it has ended), then its exit code (-9 when killed).
  int kill_and_wait() {
    ::kill(m_pid, SIGKILL);
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

private:
  pid_t m_pid = -1;
};

// One final output of a command, in the order the command gives final
// names: `path` (relative to the run's root) and the name its temporary is
// made from (beside it: "<dir>/.<temp_leaf>.tmp-XXXXXX").
struct Output {
  std::string path;
  std::string temp_leaf;
};

bool has_prefix_in(const std::set<std::string>& set, const std::string& prefix) {
  auto it = set.lower_bound(prefix);
  return it != set.end() && it->rfind(prefix, 0) == 0;
}

// After a kill: every final name holds exactly the reference's bytes (an
// output directory, all of it), outputs appear in order, and an output
// whose temporary is still there is absent.
void check_killed_state(const Outputs& got, const Outputs& want, const std::vector<Output>& order) {
  for (const auto& [path, digest] : got.finals) {
    CAPTURE(path);
    REQUIRE(want.finals.count(path) == 1);
    CHECK(want.finals.at(path) == digest);
  }
  bool later_present = false;
  for (auto o = order.rbegin(); o != order.rend(); ++o) {
    CAPTURE(o->path);
    const bool present = got.finals.count(o->path) == 1;
    CHECK((present || !later_present));
    later_present = later_present || present;
    if (present) { // complete: everything the reference has under it
      for (auto it = want.finals.lower_bound(o->path + "/");
           it != want.finals.end() && it->first.rfind(o->path + "/", 0) == 0; ++it) {
        CHECK(got.finals.count(it->first) == 1);
      }
    }
    const std::string dir = fs::path(o->path).parent_path().string();
    if (has_prefix_in(got.temps, (dir.empty() ? "" : dir + "/") + "." + o->temp_leaf + ".tmp-")) {
      CHECK_FALSE(present);
    }
  }
}

// Runs `command_for(root)` once to completion (the reference, and the run
// time), then for 8 moments spread over that time (the last ones a little
// past it, where the run may be giving final names or have ended): a fresh
// root, the same command killed at that moment, the state checked, then the
// command again on the same root, which must succeed and leave exactly the
// reference, temporaries of the killed run gone.
template <typename CommandFor>
void kill_at_moments(const TempDir& tmp, const std::vector<std::string>& dirs, const std::vector<Output>& order,
                     CommandFor command_for) {
  auto fresh_root = [&](const std::string& name) {
    const fs::path root = tmp / name;
    for (const auto& d : dirs) {
      fs::create_directories(root / d);
    }
    return root;
  };
  const fs::path ref = fresh_root("ref");
  const auto t0 = std::chrono::steady_clock::now();
  RunResult r = run_rafs(command_for(ref));
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  INFO("reference run: " << r.err);
  REQUIRE(r.exit_code == 0);
  const Outputs want = outputs_under(ref);
  REQUIRE(want.temps.empty());
  for (const auto& o : order) {
    REQUIRE(want.finals.count(o.path) == 1);
  }
  fs::remove_all(ref);

  constexpr int k_moments = 8;
  for (int k = 0; k < k_moments; ++k) {
    CAPTURE(k);
    const fs::path root = fresh_root("kill-" + std::to_string(k));
    int status = 0;
    {
      Child child(command_for(root));
      std::this_thread::sleep_for(took * (5 * k) / (4 * k_moments)); // 0 to 1.1 times the run
      status = child.kill_and_wait();
    }
    CHECK((status == -SIGKILL || status == 0));
    const Outputs killed = outputs_under(root);
    if (status == 0) { // it ended before the moment came
      CHECK(killed.finals == want.finals);
      CHECK(killed.temps.empty());
    } else {
      check_killed_state(killed, want, order);
    }
    RunResult again = run_rafs(command_for(root));
    INFO("rerun: " << again.err);
    REQUIRE(again.exit_code == 0);
    const Outputs after = outputs_under(root);
    CHECK(after.finals == want.finals);
    CHECK(after.temps == std::set<std::string>{});
    fs::remove_all(root);
  }
}

std::string blob_id_of(const fs::path& boot) {
  RunResult d = run_rafs({"dump", "--json", boot.string()});
  REQUIRE(d.exit_code == 0);
  return json::parse(d.out).at("blobs").at(0).at("id").get<std::string>();
}

// A small tmpfs mounted for the test, unmounted at scope exit.
class Tmpfs {
public:
  Tmpfs(fs::path dir, const std::string& size) : m_dir(std::move(dir)) {
    fs::create_directories(m_dir);
    RunResult r = sh("mount -t tmpfs -o size=" + size + " tmpfs " + shell_quote(m_dir.string()));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    m_mounted = true;
  }
  ~Tmpfs() {
    if (m_mounted) {
      const std::string q = shell_quote(m_dir.string());
      sh("umount " + q + " 2>/dev/null || umount -l " + q);
    }
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;

  const fs::path& path() const { return m_dir; }
  fs::path operator/(const std::string& name) const { return m_dir / name; }
  // Fills it up with one file, so that no write has room left.
  void fill(const std::string& name) const {
    sh("cat /dev/zero > " + shell_quote((m_dir / name).string()) + " 2>/dev/null");
  }

private:
  fs::path m_dir;
  bool m_mounted = false;
};

// One line, "rafs: write <path>: <reason>" with <path> matching `file`.
void check_write_error(const RunResult& r, const std::string& file, const std::string& reason) {
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(std::regex_match(r.err, std::regex("rafs: write " + file + ": " + reason + "\n")));
}

// A regex matching `p` literally.
std::string literally(const fs::path& p) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(p.string(), special, R"(\$&)");
}

const std::string k_random_suffix = "[A-Za-z0-9]{6}";

// A 4 MiB layer of random bytes (stored, not compressible).
std::vector<TarEntry> four_mib_layer() { return {tar_file("big", random_bytes(4 * k_mib, 11))}; }

} // namespace

TEST_SUITE("cli::faults") {
  TEST_CASE("create killed with SIGKILL at 8 moments leaves no partial output, and a rerun succeeds and "
            "removes the temporary files") {
    TempDir tmp;
    const fs::path layer = tmp / "layer.tar";
    write_big_layer(layer, 4, 24 * k_mib);
    auto command = [&](const fs::path& root) {
      return std::vector<std::string>{"create", layer.string(), "-B", (root / "boot" / "image.boot").string(),
                                      "-D", (root / "blobs").string()};
    };
    // The blob's name is its id: found from a first build.
    fs::create_directories(tmp / "probe");
    REQUIRE(run_rafs({"create", layer.string(), "-B", (tmp / "probe" / "b").string(), "-D",
                      (tmp / "probe").string(), "--compressor", "none"})
                .exit_code == 0);
    const std::string id = blob_id_of(tmp / "probe" / "b");
    fs::remove_all(tmp / "probe");
    kill_at_moments(tmp, {"boot", "blobs"}, {{"blobs/" + id, "blob"}, {"boot/image.boot", "image.boot"}}, command);
  }

  TEST_CASE("convert killed with SIGKILL at 8 moments leaves no partial layout, bootstrap or blob, and a "
            "rerun succeeds and removes the temporary files") {
    TempDir tmp;
    const std::string digest = write_big_layer(tmp / "layer.tar", 4, 24 * k_mib);
    write_layout_around(tmp / "src", tmp / "layer.tar", digest);
    auto command = [&](const fs::path& root) {
      return std::vector<std::string>{"convert", (tmp / "src").string(), "-o", (root / "oci" / "out").string(),
                                      "-B", (root / "oci" / "image.boot").string(), "-D",
                                      (root / "blobs").string()};
    };
    fs::create_directories(tmp / "probe" / "oci");
    fs::create_directories(tmp / "probe" / "blobs");
    REQUIRE(run_rafs(command(tmp / "probe")).exit_code == 0);
    const std::string id = blob_id_of(tmp / "probe" / "oci" / "image.boot");
    fs::remove_all(tmp / "probe");
    kill_at_moments(tmp, {"oci", "blobs"},
                    {{"oci/out", "out"}, {"oci/image.boot", "image.boot"}, {"blobs/" + id, id}}, command);
  }

  // Only names of the exact temporary patterns go, and only where no other
  // rafs run is writing (tested here: a name that merely looks alike stays).
  TEST_CASE("a run removes stale temporaries of its own outputs' names and nothing else, and none while "
            "another run holds the directory") {
    TempDir tmp;
    write_tar(tmp / "layer.tar", {tar_file("f", "data\n")});
    const fs::path out = tmp / "out";
    fs::create_directories(out / ".image.boot.tmp-dir123"); // a directory: only files are stale temps
    const std::vector<std::string> stale{".image.boot.tmp-Ab12Cd", ".blob.tmp-x1Y2z3", ".rafs-scratch-000000",
                                         "." + std::string(64, 'a') + ".tmp-QWErty"};
    const std::vector<std::string> kept{".image.boot.tmp-toolong1", ".other.tmp-Ab12Cd", "image.boot.tmp-Ab12Cd",
                                        ".image.boot.tmp-short", "notes.txt"};
    for (const auto& n : stale) {
      write_file(out / n, {1, 2, 3});
    }
    for (const auto& n : kept) {
      write_file(out / n, {1, 2, 3});
    }
    auto create = [&] {
      RunResult r = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (out / "image.boot").string(), "-D",
                              out.string()});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
    };
    std::vector<std::string> want{".image.boot.tmp-dir123", "image.boot"};
    want.insert(want.end(), kept.begin(), kept.end());
    std::vector<std::string> want_while_locked = want;
    want_while_locked.insert(want_while_locked.end(), stale.begin(), stale.end());
    {
      // As another rafs run writing there would: a shared lock on the directory.
      const int fd = ::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      REQUIRE(fd >= 0);
      REQUIRE(::flock(fd, LOCK_SH) == 0);
      create();
      ::close(fd);
    }
    const std::string id = blob_id_of(out / "image.boot");
    want.push_back(id);
    want_while_locked.push_back(id);
    std::sort(want.begin(), want.end());
    std::sort(want_while_locked.begin(), want_while_locked.end());
    CHECK(names_in(out) == want_while_locked);
    create();
    CHECK(names_in(out) == want);
  }

  TEST_CASE("convert to an archive removes a killed run's staging directory and temporary archive beside it") {
    TempDir tmp;
    OciImageSpec image;
    image.layers = {{{tar_file("f", "data\n")}, TarFilter::none}};
    image.tag = "v1";
    write_oci_layout(tmp / "src", {image});
    const fs::path out = tmp / "out";
    fs::create_directories(out / ".img.tar.tmp-Ab12Cd" / "image" / "blobs"); // a killed run's staging
    write_file(out / ".img.tar.tmp-Ab12Cd" / "image" / "blobs" / "x", {1, 2, 3});
    write_file(out / ".img.tar.tmp-Qw34Er", {1, 2, 3}); // its half-written archive
    write_file(out / ".other.tar.tmp-Qw34Er", {1, 2, 3});  // another output's: kept
    for (const std::string target : {"oci-archive:", "docker-archive:"}) {
      CAPTURE(target);
      RunResult r = run_rafs({"convert", (tmp / "src").string(), "-o", target + (out / "img.tar").string()});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(names_in(out) == std::vector<std::string>{".other.tar.tmp-Qw34Er", "img.tar"});
    }
  }

  TEST_CASE("create on a full tmpfs fails with one line naming the blob being written and ENOSPC, "
            "leaving nothing") {
    TempDir tmp;
    write_tar(tmp / "layer.tar", four_mib_layer());
    Tmpfs tfs(tmp / "tfs", "2m");
    RunResult r = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tfs / "image.boot").string(), "-D",
                            tfs.path().string()});
    check_write_error(r, literally(tfs / ".blob.tmp-") + k_random_suffix, "No space left on device");
    CHECK(names_in(tfs.path()).empty());
  }

  // The bootstrap is written in full before the blob takes its name: a
  // bootstrap that does not fit leaves no blob either.
  TEST_CASE("create whose bootstrap does not fit fails naming the bootstrap and leaves no blob") {
    TempDir tmp;
    write_tar(tmp / "layer.tar", four_mib_layer());
    fs::create_directories(tmp / "blobs");
    Tmpfs tfs(tmp / "tfs", "1m");
    tfs.fill("filler");
    RunResult r = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tfs / "image.boot").string(), "-D",
                            (tmp / "blobs").string()});
    check_write_error(r, literally(tfs / "image.boot"), "No space left on device");
    CHECK(names_in(tfs.path()) == std::vector<std::string>{"filler"});
    CHECK(names_in(tmp / "blobs").empty());
  }

  TEST_CASE("convert to a full tmpfs fails with one line naming the blob being written and ENOSPC, "
            "leaving no layout") {
    TempDir tmp;
    OciLayerSpec layer;
    layer.entries = four_mib_layer();
    OciImageSpec image;
    image.layers = {layer};
    write_oci_layout(tmp / "src", {image});
    Tmpfs tfs(tmp / "tfs", "2m");
    RunResult r = run_rafs({"convert", (tmp / "src").string(), "-o", (tfs / "out").string()});
    check_write_error(r,
                      literally(tfs / ".out.tmp-") + k_random_suffix + "/blobs/sha256/\\.blob\\.tmp-" +
                          k_random_suffix,
                      "No space left on device");
    CHECK(names_in(tfs.path()).empty());
  }

  TEST_CASE("merge and unpack to a full tmpfs fail with one line naming the output and ENOSPC, leaving nothing") {
    TempDir tmp;
    write_tar(tmp / "layer.tar", four_mib_layer());
    fs::create_directories(tmp / "blobs");
    REQUIRE(run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "layer.boot").string(), "-D",
                      (tmp / "blobs").string()})
                .exit_code == 0);
    Tmpfs tfs(tmp / "tfs", "1m");
    tfs.fill("filler");
    RunResult m = run_rafs({"merge", (tmp / "layer.boot").string(), "-B", (tfs / "merged.boot").string()});
    check_write_error(m, literally(tfs / "merged.boot"), "No space left on device");
    RunResult u = run_rafs({"unpack", (tmp / "layer.boot").string(), "-D", (tmp / "blobs").string(), "-o",
                            (tfs / "image.tar").string()});
    INFO(u.err);
    CHECK(u.exit_code == 1);
    CHECK(std::count(u.err.begin(), u.err.end(), '\n') == 1);
    CHECK(u.err.rfind("rafs: " + (tfs / "image.tar").string() + ": ", 0) == 0);
    CHECK(u.err.find("No space left on device") != std::string::npos);
    CHECK(names_in(tfs.path()) == std::vector<std::string>{"filler"});
  }

  // SIGXFSZ would kill rafs (its default action); rafs ignores it, so the
  // write fails with EFBIG and is reported.
  TEST_CASE("create and convert past RLIMIT_FSIZE fail with one line naming the file and EFBIG, leaving nothing") {
    TempDir tmp;
    write_tar(tmp / "layer.tar", four_mib_layer());
    OciLayerSpec layer;
    layer.entries = four_mib_layer();
    OciImageSpec image;
    image.layers = {layer};
    write_oci_layout(tmp / "src", {image});
    const fs::path out = tmp / "out";
    fs::create_directories(out);
    // 1 MiB in 512-byte blocks (the unit of sh's ulimit -f).
    auto limited = [](const std::vector<std::string>& args) {
      std::string line = "ulimit -f 2048 && exec " + shell_quote(RAFS_BINARY);
      for (const auto& a : args) {
        line += " " + shell_quote(a);
      }
      return sh(line);
    };
    RunResult c = limited({"create", (tmp / "layer.tar").string(), "-B", (out / "image.boot").string(), "-D",
                           out.string()});
    check_write_error(c, literally(out / ".blob.tmp-") + k_random_suffix, "File too large");
    CHECK(names_in(out).empty());
    RunResult v = limited({"convert", (tmp / "src").string(), "-o", (out / "oci").string()});
    check_write_error(v,
                      literally(out / ".oci.tmp-") + k_random_suffix + "/blobs/sha256/\\.blob\\.tmp-" +
                          k_random_suffix,
                      "File too large");
    CHECK(names_in(out).empty());
  }
}
