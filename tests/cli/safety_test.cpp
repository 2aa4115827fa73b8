// Input that tries to reach outside where rafs was told to work:
//   - layer entry paths and hard-link targets with ".." or absolute are
//     refused by `create` and `convert`, naming the layer and the entry;
//   - a symlink may point anywhere: its target is data, kept byte for byte,
//     and never followed, neither in a tar layer (an entry under a symlink)
//     nor in a directory source;
//   - OCI and docker image files that name blobs by digests or member paths
//     leading outside the image are refused before anything outside it is
//     opened;
//   - `rafs unpack` writes a tar whose entry names are relative and free of
//     "..". No command extracts anything to a directory: the OCI output's
//     files are named by digests rafs computes or checks (64 hex digits),
//     and blobs by ids the bootstrap reader refuses unless they are plain
//     file names, which `check -D`, `unpack -D` and `mount` rely on.
// "Nothing outside is touched" is watched with inotify on a directory made
// for the purpose: any open, read or creation there is an event.
#include <doctest/doctest.h>
#include <archive.h>
#include <archive_entry.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "runtime/mount_helpers.hpp"
#include "support/feature_layer.hpp"
#include "support/dir_names.hpp"
#include "support/oci_maker.hpp"
#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace rafs::test;
namespace fs = std::filesystem;
using nlohmann::json;

std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// A directory rafs must never touch, holding one file ("secret"), watched
// from construction: events() lists what happened in it since.
class Outside {
public:
  explicit Outside(const fs::path& dir) : m_dir(dir) {
    fs::create_directories(m_dir);
    write_file(m_dir / "secret", {'s', '\n'});
    m_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    REQUIRE(m_fd >= 0);
    REQUIRE(::inotify_add_watch(m_fd, m_dir.c_str(), IN_ALL_EVENTS) >= 0);
  }
  ~Outside() { ::close(m_fd); }
  Outside(const Outside&) = delete;
  Outside& operator=(const Outside&) = delete;

  const fs::path& path() const { return m_dir; }
  // Event masks (and names) seen so far; call before looking inside.
  std::vector<std::string> events() const {
    std::vector<std::string> out;
    alignas(inotify_event) char buf[4096];
    for (;;) {
      const ssize_t n = ::read(m_fd, buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      for (ssize_t at = 0; at < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
        out.push_back(std::to_string(e->mask) + " " + (e->len > 0 ? e->name : ""));
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
    return out;
  }
  // Untouched: no event, and still just the secret.
  void check_untouched() const {
    CHECK(events() == std::vector<std::string>{});
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(m_dir)) {
      names.push_back(e.path().filename().string());
    }
    CHECK(names == std::vector<std::string>{"secret"});
  }

private:
  fs::path m_dir;
  int m_fd = -1;
};

// A tar's entries as libarchive reads them: name -> symlink target, "hardlink:" target, or the type.
std::map<std::string, std::string> tar_listing(const fs::path& tar) {
  std::map<std::string, std::string> out;
  archive* a = archive_read_new();
  archive_read_support_format_all(a);
  REQUIRE(archive_read_open_filename(a, tar.c_str(), 65536) == ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const char* symlink = archive_entry_symlink(e);
    const char* hardlink = archive_entry_hardlink(e);
    out[archive_entry_pathname(e)] = symlink != nullptr    ? std::string(symlink)
                                     : hardlink != nullptr ? "hardlink:" + std::string(hardlink)
                                     : archive_entry_filetype(e) == AE_IFDIR ? std::string("dir")
                                                                             : std::string("file");
  }
  archive_read_free(a);
  return out;
}

// A path that neither starts with '/' nor has a ".." component.
bool stays_inside(const std::string& path) {
  if (path.empty() || path.front() == '/') {
    return false;
  }
  const fs::path p(path);
  return std::none_of(p.begin(), p.end(), [](const fs::path& part) { return part == ".."; });
}

// rafs unpack of an image, and its entries; every name (and hard-link
// target) stays inside.
std::map<std::string, std::string> unpacked(const fs::path& boot, const fs::path& blobs, const fs::path& tar) {
  RunResult u = run_rafs({"unpack", boot.string(), "-D", blobs.string(), "-o", tar.string()});
  INFO(u.err);
  REQUIRE(u.exit_code == 0);
  auto listing = tar_listing(tar);
  for (const auto& [name, what] : listing) {
    CAPTURE(name);
    CHECK(stays_inside(name));
    if (what.rfind("hardlink:", 0) == 0) {
      CHECK(stays_inside(what.substr(9)));
    }
  }
  return listing;
}

// path -> the inode's dump --json record.
std::map<std::string, json> dump_inodes(const fs::path& boot) {
  RunResult d = run_rafs({"dump", "--json", boot.string()});
  INFO(d.err);
  REQUIRE(d.exit_code == 0);
  const json dump = json::parse(d.out);
  std::map<std::string, json> out;
  for (const auto& i : dump.at("inodes")) {
    out[i.at("path").get<std::string>()] = i;
  }
  return out;
}

// An OCI layout of one uncompressed layer with these entries.
void write_one_layer_layout(const fs::path& dir, std::vector<std::vector<TarEntry>> layers) {
  OciImageSpec image;
  for (auto& entries : layers) {
    OciLayerSpec layer;
    layer.entries = std::move(entries);
    image.layers.push_back(std::move(layer));
  }
  write_oci_layout(dir, {image});
}

// A command that must fail: exit 1, one line starting "rafs: <prefix>"
// and holding every needle.
void check_refused(const RunResult& r, const std::string& prefix, const std::vector<std::string>& needles) {
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(count_lines(r.err) == 1);
  CHECK(r.err.rfind("rafs: " + prefix, 0) == 0);
  for (const auto& n : needles) {
    CHECK(r.err.find(n) != std::string::npos);
  }
}

// ------------------------------------------------------------ OCI files

json read_json(const fs::path& p) { return json::parse(read_text(p)); }

fs::path blob_path(const fs::path& layout, const std::string& digest) {
  return layout / "blobs" / "sha256" / digest.substr(7);
}

// Stores `j` as a blob; its descriptor fields (digest, size).
std::pair<std::string, std::size_t> put_json_blob(const fs::path& layout, const json& j) {
  const std::string text = j.dump();
  const std::vector<std::uint8_t> bytes(text.begin(), text.end());
  const std::string digest = sha256_digest(bytes);
  write_file(blob_path(layout, digest), bytes);
  return {digest, bytes.size()};
}

// Rewrites the (only) manifest with `edit`, and index.json to name it.
void edit_manifest(const fs::path& layout, const std::function<void(json&)>& edit) {
  json index = read_json(layout / "index.json");
  json manifest = read_json(blob_path(layout, index["manifests"][0]["digest"].get<std::string>()));
  edit(manifest);
  const auto [digest, size] = put_json_blob(layout, manifest);
  index["manifests"][0]["digest"] = digest;
  index["manifests"][0]["size"] = size;
  const std::string text = index.dump();
  write_file(layout / "index.json", {text.begin(), text.end()});
}

// Rewrites the config with `edit`, and the manifest to name it.
void edit_config(const fs::path& layout, const std::function<void(json&)>& edit) {
  json index = read_json(layout / "index.json");
  json manifest = read_json(blob_path(layout, index["manifests"][0]["digest"].get<std::string>()));
  json config = read_json(blob_path(layout, manifest["config"]["digest"].get<std::string>()));
  edit(config);
  const auto [digest, size] = put_json_blob(layout, config);
  edit_manifest(layout, [&, d = digest, s = size](json& m) {
    m["config"]["digest"] = d;
    m["config"]["size"] = s;
  });
}

} // namespace

TEST_SUITE("cli::safety") {
  // create_test.cpp covers create with "a/../../escape", "/etc/passwd" and a
  // hard link to "../f"; this is the whole table, for create and convert.
  TEST_CASE("entry paths and hard-link targets with '..' or absolute are refused by create and convert, "
            "naming the layer and the entry, leaving nothing") {
    TempDir tmp;
    struct Case {
      std::vector<TarEntry> entries;
      std::string named; // the entry text the message quotes
    };
    const std::vector<Case> cases{
        {{tar_file("../x", "x\n")}, "../x"},
        {{tar_dir("a"), tar_file("a/../../etc/x", "x\n")}, "a/../../etc/x"},
        {{tar_file("/etc/passwd", "x\n")}, "/etc/passwd"},
        {{tar_dir("/abs-dir")}, "/abs-dir/"},
        {{tar_file("f", "x\n"), tar_hardlink("g", "../f")}, "../f"},
        {{tar_file("f", "x\n"), tar_hardlink("g", "a/../../f")}, "a/../../f"},
        {{tar_file("f", "x\n"), tar_hardlink("g", "/etc/passwd")}, "/etc/passwd"},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      CAPTURE(c.named);
      const fs::path dir = tmp / ("case-" + std::to_string(i));
      fs::create_directories(dir / "out");
      write_tar(dir / "layer.tar", c.entries);
      RunResult r = run_rafs({"create", (dir / "layer.tar").string(), "-B", (dir / "out" / "image.boot").string(),
                              "-D", (dir / "out").string()});
      check_refused(r, (dir / "layer.tar").string() + ": ", {"'" + c.named + "'"});
      CHECK(names_in(dir / "out").empty());

      write_one_layer_layout(dir / "src", {c.entries});
      RunResult v = run_rafs({"convert", (dir / "src").string(), "-o", (dir / "oci").string()});
      check_refused(v, (dir / "src").string() + ": layer 1 (sha256:", {"'" + c.named + "'"});
      CHECK(names_in(dir) == std::vector<std::string>{"layer.tar", "out", "src"});
    }
  }

  TEST_CASE("a symlink may point anywhere: create, convert, dump and unpack keep its target byte for byte "
            "and never follow it") {
    TempDir tmp;
    Outside outside(tmp / "outside");
    const std::map<std::string, std::string> links{
        {"etc-link", "/etc"},
        {"up", "../../.."},
        {"d/sideways", "a/../../b"},
        {"to-outside", outside.path().string()},
        {"to-secret", (outside.path() / "secret").string()},
    };
    std::vector<TarEntry> entries{tar_dir("d")};
    for (const auto& [path, target] : links) {
      entries.push_back(tar_symlink(path, target));
    }
    write_tar(tmp / "layer.tar", entries);
    fs::create_directories(tmp / "blobs");
    RunResult c = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "c.boot").string(), "-D",
                            (tmp / "blobs").string()});
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    write_one_layer_layout(tmp / "src", {entries});
    RunResult v = run_rafs({"convert", (tmp / "src").string(), "-o", (tmp / "oci").string(), "-B",
                            (tmp / "v.boot").string(), "-D", (tmp / "blobs").string()});
    INFO(v.err);
    REQUIRE(v.exit_code == 0);
    for (const char* boot : {"c.boot", "v.boot"}) {
      CAPTURE(boot);
      const auto inodes = dump_inodes(tmp / boot);
      const auto listing = unpacked(tmp / boot, tmp / "blobs", tmp / (std::string(boot) + ".tar"));
      for (const auto& [path, target] : links) {
        CAPTURE(path);
        CHECK(inodes.at("/" + path).at("type") == "symlink");
        CHECK(inodes.at("/" + path).at("symlink") == target);
        CHECK(listing.at(path) == target);
      }
      CHECK(inodes.size() == links.size() + 2); // and "/", "/d": nothing from outside
    }
    outside.check_untouched();
  }

  // Decision: the builder takes entry paths literally and never resolves
  // a symlink. Within one layer, an entry under a path the same layer made
  // a symlink is a contradiction (extracting it with a tar tool would write
  // through the link), so it is refused, naming the layer and the entry.
  // Across layers, the upper layer's path implies a directory, which
  // replaces the lower layer's symlink like any upper entry replaces a lower
  // one of another type (containerd and umoci would instead resolve the
  // link inside the root filesystem; rafs never resolves one). A hard link
  // through a symlink finds no target. Either way nothing outside is
  // created or read.
  TEST_CASE("an entry under a symlink is refused in the symlink's own layer and replaces it from a layer "
            "above: nothing outside is created or read") {
    TempDir tmp;
    Outside outside(tmp / "outside");
    const std::vector<TarEntry> link_layer{tar_symlink("a", outside.path().string())};
    const std::vector<TarEntry> through{tar_file("a/file", "through the link\n")};
    std::vector<TarEntry> one_layer = link_layer;
    one_layer.insert(one_layer.end(), through.begin(), through.end());
    write_tar(tmp / "layer.tar", one_layer);
    fs::create_directories(tmp / "out");
    RunResult c = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "out" / "image.boot").string(),
                            "-D", (tmp / "out").string()});
    check_refused(c, (tmp / "layer.tar").string() + ": a/file: ", {"parent a is not a directory"});
    CHECK(names_in(tmp / "out").empty());

    write_one_layer_layout(tmp / "same", {one_layer});
    RunResult same = run_rafs({"convert", (tmp / "same").string(), "-o", (tmp / "oci-same").string()});
    check_refused(same, (tmp / "same").string() + ": layer 1 (sha256:", {"a/file: parent a is not a directory"});
    CHECK_FALSE(fs::exists(tmp / "oci-same"));

    write_one_layer_layout(tmp / "hard", {link_layer, {tar_hardlink("h", "a/secret")}});
    RunResult hard = run_rafs({"convert", (tmp / "hard").string(), "-o", (tmp / "oci-hard").string()});
    check_refused(hard, (tmp / "hard").string() + ": layer 2 (sha256:", {"hard link to a/secret"});
    CHECK_FALSE(fs::exists(tmp / "oci-hard"));

    write_one_layer_layout(tmp / "two", {link_layer, through});
    fs::create_directories(tmp / "blobs");
    RunResult v = run_rafs({"convert", (tmp / "two").string(), "-o", (tmp / "oci").string(), "-B",
                            (tmp / "two.boot").string(), "-D", (tmp / "blobs").string()});
    INFO(v.err);
    REQUIRE(v.exit_code == 0);
    const auto inodes = dump_inodes(tmp / "two.boot");
    CHECK(inodes.at("/a").at("type") == "dir");
    CHECK(inodes.at("/a/file").at("type") == "file");
    CHECK(inodes.size() == 3);
    const auto listing = unpacked(tmp / "two.boot", tmp / "blobs", tmp / "two.tar");
    CHECK(listing == std::map<std::string, std::string>{{"./", "dir"}, {"a/", "dir"}, {"a/file", "file"}});
    outside.check_untouched();
  }

  TEST_CASE("create -t dir keeps a symlink to a directory outside as a symlink and never opens the outside") {
    TempDir tmp;
    Outside outside(tmp / "outside");
    fs::create_directories(tmp / "src" / "d");
    fs::create_directory_symlink(outside.path(), tmp / "src" / "abs-out");
    fs::create_directory_symlink("../../outside", tmp / "src" / "d" / "rel-out");
    write_file(tmp / "src" / "d" / "f", {'f'});
    fs::create_directories(tmp / "blobs");
    RunResult c = run_rafs({"create", "-t", "dir", (tmp / "src").string(), "-B", (tmp / "image.boot").string(),
                            "-D", (tmp / "blobs").string()});
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    const auto inodes = dump_inodes(tmp / "image.boot");
    std::vector<std::string> paths;
    for (const auto& [path, inode] : inodes) {
      paths.push_back(path);
    }
    CHECK(paths == std::vector<std::string>{"/", "/abs-out", "/d", "/d/f", "/d/rel-out"});
    CHECK(inodes.at("/abs-out").at("symlink") == outside.path().string());
    CHECK(inodes.at("/d/rel-out").at("symlink") == "../../outside");
    outside.check_untouched();
  }

  TEST_CASE("OCI index, manifest and config digests that are not 64 lowercase hex digits are refused before "
            "any file outside the layout is opened, as a layout and as an oci-archive") {
    TempDir tmp;
    Outside outside(tmp / "outside");
    // From <case>/src/blobs/sha256/, "../../../../outside/secret" is the watched file.
    const std::vector<std::string> bad{"sha256:../../../../outside/secret",
                                       "sha256:" + (outside.path() / "secret").string(),
                                       "sha256:" + std::string(64, 'g'), "sha256:" + std::string(64, 'A')};
    using Edit = std::function<void(const fs::path&, const std::string&)>;
    const std::vector<std::pair<std::string, Edit>> places{
        {"index.json manifest", [](const fs::path& l, const std::string& d) {
           json index = read_json(l / "index.json");
           index["manifests"][0]["digest"] = d;
           const std::string text = index.dump();
           write_file(l / "index.json", {text.begin(), text.end()});
         }},
        {"manifest config", [](const fs::path& l, const std::string& d) {
           edit_manifest(l, [&](json& m) { m["config"]["digest"] = d; });
         }},
        {"manifest layer", [](const fs::path& l, const std::string& d) {
           edit_manifest(l, [&](json& m) { m["layers"][0]["digest"] = d; });
         }},
        {"config diff_id", [](const fs::path& l, const std::string& d) {
           edit_config(l, [&](json& c) { c["rootfs"]["diff_ids"][0] = d; });
         }},
    };
    int n = 0;
    for (const auto& [place, edit] : places) {
      for (const std::string& digest : bad) {
        CAPTURE(place);
        CAPTURE(digest);
        const fs::path dir = tmp / ("case-" + std::to_string(n++));
        write_one_layer_layout(dir / "src", {{tar_file("f", "data\n")}});
        edit(dir / "src", digest);
        RunResult r = run_rafs({"convert", (dir / "src").string(), "-o", (dir / "out").string()});
        const std::string why = "'" + digest + "' is not a sha256 digest";
        check_refused(r, (dir / "src").string(), {why});
        RunResult pack = sh("tar -cf " + shell_quote((dir / "src.tar").string()) + " -C " +
                            shell_quote((dir / "src").string()) + " .");
        REQUIRE(pack.exit_code == 0);
        RunResult a = run_rafs({"convert", "oci-archive:" + (dir / "src.tar").string(), "-o", (dir / "out").string()});
        check_refused(a, "", {(dir / "src.tar").string(), why});
        CHECK(names_in(dir) == std::vector<std::string>{"src", "src.tar"});
      }
    }
    outside.check_untouched();
  }

  TEST_CASE("docker archives whose manifest.json names the config or a layer outside the archive are refused") {
    TempDir tmp;
    Outside outside(tmp / "outside");
    OciImageSpec image;
    OciLayerSpec layer;
    layer.entries = {tar_file("f", "data\n")};
    image.layers = {layer};
    write_docker_archive(tmp / "good.tar", {image});
    fs::create_directories(tmp / "x");
    REQUIRE(sh("tar -xf " + shell_quote((tmp / "good.tar").string()) + " -C " + shell_quote((tmp / "x").string()))
                .exit_code == 0);
    const json good = read_json(tmp / "x" / "manifest.json");
    const std::vector<std::string> bad{"../outside/secret", (outside.path() / "secret").string(),
                                       "x/../../outside/secret"};
    int n = 0;
    for (const char* field : {"Config", "Layers"}) {
      for (const std::string& path : bad) {
        CAPTURE(field);
        CAPTURE(path);
        json m = good;
        if (std::string(field) == "Config") {
          m[0]["Config"] = path;
        } else {
          m[0]["Layers"][0] = path;
        }
        const std::string text = m.dump();
        write_file(tmp / "x" / "manifest.json", {text.begin(), text.end()});
        const fs::path archive = tmp / ("bad-" + std::to_string(n++) + ".tar");
        REQUIRE(sh("tar -cf " + shell_quote(archive.string()) + " -C " + shell_quote((tmp / "x").string()) + " .")
                    .exit_code == 0);
        const std::string source = "docker-archive:" + archive.string();
        RunResult r = run_rafs({"convert", source, "-o", (tmp / "out").string()});
        check_refused(r, archive.string() + ": '" + path + "' is not a path inside the archive", {});
        CHECK_FALSE(fs::exists(tmp / "out"));
      }
    }
    outside.check_untouched();
  }

  TEST_CASE("rafs unpack names every entry relatively, without '..', hard-link targets too") {
    TempDir tmp;
    write_tar(tmp / "layer.tar", feature_entries());
    fs::create_directories(tmp / "blobs");
    RunResult c = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "image.boot").string(), "-D",
                            (tmp / "blobs").string()});
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    const auto listing = unpacked(tmp / "image.boot", tmp / "blobs", tmp / "image.tar");
    CHECK(listing.size() == dump_inodes(tmp / "image.boot").size());
    CHECK(std::any_of(listing.begin(), listing.end(),
                      [](const auto& e) { return e.second.rfind("hardlink:", 0) == 0; }));
  }

  // The bootstrap reader refuses a blob id that is not a plain file name;
  // here one that would lead from the blob dir to the watched directory.
  TEST_CASE("a bootstrap whose blob id leads out of the blob dir is refused by check -D, unpack -D and mount, "
            "which open nothing outside") {
    TempDir tmp;
    Outside outside(tmp / "outside");
    write_tar(tmp / "layer.tar", {tar_file("f", random_bytes(10000, 3))});
    fs::create_directories(tmp / "blobs");
    RunResult c = run_rafs({"create", (tmp / "layer.tar").string(), "-B", (tmp / "good.boot").string(), "-D",
                            (tmp / "blobs").string()});
    REQUIRE(c.exit_code == 0);
    std::vector<std::uint8_t> boot = read_file(tmp / "good.boot");
    const std::string id = fs::directory_iterator(tmp / "blobs")->path().filename().string();
    REQUIRE(id.size() == 64);
    // Same length, so the table keeps its shape: "../outside/" then a name.
    const std::string escape = "../outside/" + std::string(64 - 11, 'e');
    write_file(outside.path() / escape.substr(11), {'x'});
    outside.events(); // the test's own write
    auto at = std::search(boot.begin(), boot.end(), id.begin(), id.end());
    REQUIRE(at != boot.end());
    std::copy(escape.begin(), escape.end(), at);
    REQUIRE(std::search(boot.begin(), boot.end(), id.begin(), id.end()) == boot.end());
    write_file(tmp / "bad.boot", boot);

    const std::string why = "blob id '" + escape + "' is not a file name";
    const std::string bad_boot = (tmp / "bad.boot").string();
    check_refused(run_rafs({"check", bad_boot, "-D", (tmp / "blobs").string()}), "", {bad_boot, why});
    check_refused(run_rafs({"unpack", bad_boot, "-D", (tmp / "blobs").string(), "-o", (tmp / "x.tar").string()}),
                  bad_boot, {why});
    CHECK_FALSE(fs::exists(tmp / "x.tar"));
    {
      Mount m(tmp / "mnt");
      check_refused(m.start(tmp / "bad.boot", {"-D", (tmp / "blobs").string()}), "", {bad_boot, why});
      CHECK_FALSE(is_mounted(m.path()));
    }
    CHECK(outside.events() == std::vector<std::string>{});
    fs::remove(outside.path() / escape.substr(11));
  }
}
