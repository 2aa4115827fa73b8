// Registries end to end, against a real registry (Debian's docker-registry
// on 127.0.0.1, tests/support/registry_server.hpp): an image pushed with
// skopeo is converted registry to registry, inspected with skopeo and
// mounted lazily from the registry; auth (htpasswd over TLS); the registry
// going away during a conversion and during a mount.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/mount_helpers.hpp"
#include "runtime/three_layers.hpp"
#include "support/feature_layer.hpp"
#include "support/oci_maker.hpp"
#include "support/registry_server.hpp"
#include "support/tree_compare.hpp"

namespace {

using namespace rafs::test;
using nlohmann::json;

constexpr std::size_t k_mib = 1 << 20;

// Pushes an OCI layout image to the registry with skopeo.
void skopeo_push(const RegistryServer& reg, const fs::path& layout, const std::string& tag, const std::string& repo_tag) {
  RunResult r = sh("skopeo copy --quiet " + reg.skopeo_flags("dest") + " oci:" + shell_quote(layout.string()) + ":" +
                   tag + " " + shell_quote(reg.ref(repo_tag)) + " 2>&1");
  INFO("skopeo copy: " << r.out);
  REQUIRE(r.exit_code == 0);
}

json skopeo_raw_manifest(const RegistryServer& reg, const std::string& repo_tag) {
  RunResult r = sh("skopeo inspect --raw " + reg.skopeo_flags("") + " " + shell_quote(reg.ref(repo_tag)));
  INFO("skopeo inspect: " << r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

OciImageSpec image_of(std::vector<OciLayerSpec> layers, std::string tag) {
  OciImageSpec s;
  s.layers = std::move(layers);
  s.tag = std::move(tag);
  return s;
}

// One layer: a large incompressible file and a small one.
OciImageSpec large_image() {
  return image_of({layer_of({tar_dir("data"), tar_file("data/big.bin", random_bytes(24 * k_mib, 11)),
                             tar_file("data/small.txt", "a small file\n")},
                            TarFilter::gzip)},
                  "v1");
}

RunResult convert(const std::vector<std::string>& args) {
  std::vector<std::string> all{"convert"};
  all.insert(all.end(), args.begin(), args.end());
  return run_rafs(all);
}

// A file to read through the mount, by open + read (errno kept).
int read_errno(const fs::path& p, std::string* out = nullptr) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno;
  }
  std::string data;
  char buf[65536];
  int err = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      err = errno;
      break;
    }
    if (n == 0) {
      break;
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (out != nullptr) {
    *out = data;
  }
  return err;
}

void drop_caches() { sh("sync; echo 3 > /proc/sys/vm/drop_caches"); }

} // namespace

TEST_SUITE("registry") {
  TEST_CASE("an image pushed with skopeo converts registry to registry, inspects as Nydus and mounts as umoci unpacks it") {
    TempDir tmp;
    RegistryServer reg(tmp / "registry");
    write_oci_layout(tmp / "src", {image_of(three_layers(TarFilter::gzip), "v1")});
    skopeo_push(reg, tmp / "src", "v1", "app:1");

    // 127.0.0.1 is a local host: plain http without asking, as docker does.
    RunResult r = convert({reg.ref("app:1"), "-o", reg.ref("app:1-nydus")});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("pushed: " + reg.ref("app:1-nydus") + " (manifest sha256:") != std::string::npos);

    json m = skopeo_raw_manifest(reg, "app:1-nydus");
    INFO(m.dump(2));
    REQUIRE(m["layers"].size() == 4); // one data blob per layer, then the bootstrap layer
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(m["layers"][i]["mediaType"] == "application/vnd.oci.image.layer.nydus.blob.v1");
      CHECK(m["layers"][i]["annotations"]["containerd.io/snapshot/nydus-blob"] == "true");
    }
    CHECK(m["layers"][3]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip");
    CHECK(m["layers"][3]["annotations"]["containerd.io/snapshot/nydus-bootstrap"] == "true");
    CHECK(m["layers"][3]["annotations"]["containerd.io/snapshot/nydus-fs-version"] == "5");

    RunResult u = sh("umoci unpack --image " + shell_quote((tmp / "src").string()) + ":v1 " +
                     shell_quote((tmp / "bundle").string()));
    INFO("umoci: " << u.out << u.err);
    REQUIRE(u.exit_code == 0);
    Mount mnt(tmp / "mnt");
    mnt.start_ok(reg.ref("app:1-nydus"), {});
    auto diffs = compare_trees(mnt.path(), tmp / "bundle" / "rootfs", {true});
    INFO(join(diffs));
    CHECK(diffs.empty());
    CHECK(mnt.unmount() == 0);

    // Converting again finds every blob in place and sends none.
    RunResult again = convert({reg.ref("app:1"), "-o", reg.ref("app:1-nydus")});
    INFO(again.out << again.err);
    REQUIRE(again.exit_code == 0);
    CHECK(again.out.find("0 blobs uploaded, 5 already there") != std::string::npos);
  }

  TEST_CASE("a convert to another repository of the same registry mounts the blobs it can instead of uploading") {
    TempDir tmp;
    RegistryServer reg(tmp / "registry");
    write_oci_layout(tmp / "src", {image_of(three_layers(TarFilter::gzip), "v1")});
    skopeo_push(reg, tmp / "src", "v1", "app:1");
    REQUIRE(convert({reg.ref("app:1"), "-o", reg.ref("app:1-nydus")}).exit_code == 0);
    // The same image into team/app: the same blobs, lent by app.
    RunResult r = convert({reg.ref("app:1-nydus-src-is-app"), "-o", reg.ref("team/app:1")});
    CHECK(r.exit_code != 0); // no such tag: a clear error
    CHECK(r.err.find("app/manifests/1-nydus-src-is-app: 404 Not Found (MANIFEST_UNKNOWN") != std::string::npos);
    RunResult ok = convert({reg.ref("app:1"), "-o", reg.ref("team/app:1")});
    INFO(ok.out << ok.err);
    REQUIRE(ok.exit_code == 0);
    CHECK(ok.out.find("0 blobs uploaded, 0 already there, 5 mounted from app") != std::string::npos);
    json m = skopeo_raw_manifest(reg, "team/app:1");
    CHECK(m["layers"].size() == 4);
  }

  TEST_CASE("Docker schema 2 manifests and multi-platform indexes in the registry convert, --platform picking one") {
    TempDir tmp;
    RegistryServer reg(tmp / "registry");
    write_oci_layout(tmp / "src", {image_of(three_layers(TarFilter::gzip), "v1")});
    RunResult v2s2 = sh("skopeo copy --quiet --format v2s2 " + reg.skopeo_flags("dest") + " oci:" +
                        shell_quote((tmp / "src").string()) + ":v1 " + shell_quote(reg.ref("docker:1")) + " 2>&1");
    INFO(v2s2.out);
    REQUIRE(v2s2.exit_code == 0);
    CHECK(skopeo_raw_manifest(reg, "docker:1")["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json");
    RunResult d = convert({reg.ref("docker:1"), "-o", (tmp / "from-docker").string(), "-B", (tmp / "d.boot").string()});
    INFO(d.out << d.err);
    REQUIRE(d.exit_code == 0);

    OciImageSpec amd = image_of({layer_of({tar_file("arch", "amd64\n")}, TarFilter::gzip)}, "");
    OciImageSpec arm = image_of({layer_of({tar_file("arch", "arm64\n")}, TarFilter::gzip)}, "");
    arm.architecture = "arm64";
    arm.variant = "v8";
    write_oci_multi_platform(tmp / "multi", {amd, arm}, "m");
    RunResult all = sh("skopeo copy --quiet --all " + reg.skopeo_flags("dest") + " oci:" +
                       shell_quote((tmp / "multi").string()) + ":m " + shell_quote(reg.ref("multi:1")) + " 2>&1");
    INFO(all.out);
    REQUIRE(all.exit_code == 0);
    for (const char* platform : {"linux/amd64", "linux/arm64/v8"}) {
      CAPTURE(platform);
      const fs::path out = tmp / (std::string("out-") + (platform[6] == 'a' && platform[7] == 'm' ? "amd" : "arm"));
      RunResult r = convert({reg.ref("multi:1"), "--platform", platform, "-o", out.string(), "-B",
                             (out.string() + ".boot")});
      INFO(r.out << r.err);
      REQUIRE(r.exit_code == 0);
      RunResult cat = run_rafs({"unpack", out.string() + ".boot", "-D", (out / "blobs" / "sha256").string(), "-o",
                                out.string() + ".tar"});
      REQUIRE(cat.exit_code == 0);
      RunResult arch = sh("tar -xOf " + shell_quote(out.string() + ".tar") + " arch");
      CHECK(arch.out == std::string(platform).substr(6, 5) + "\n");
    }
  }

  TEST_CASE("reading one small file of a large image mounted from the registry fetches under 2 MiB") {
    TempDir tmp;
    RegistryServer reg(tmp / "registry");
    write_oci_layout(tmp / "src", {large_image()});
    skopeo_push(reg, tmp / "src", "v1", "big:1");
    RunResult r = convert({reg.ref("big:1"), "-o", reg.ref("big:nydus")});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    Mount mnt(tmp / "mnt");
    mnt.start_ok(reg.ref("big:nydus"), {"--metrics", (tmp / "metrics.json").string()});
    json before = metrics_now(mnt, tmp / "metrics.json");
    CHECK(before["registry_bytes"] == 0);
    CHECK(slurp(mnt / "data/small.txt") == "a small file\n");
    CHECK(fs::file_size(mnt / "data/big.bin") == 24 * k_mib);
    json after = metrics_now(mnt, tmp / "metrics.json");
    INFO(after.dump());
    CHECK(after["registry_bytes"].get<std::uint64_t>() > 0);
    CHECK(after["registry_bytes"].get<std::uint64_t>() < 2 * k_mib);
    CHECK(after["backend_reads"] == 1);
    // The big file reads right too, fetched on demand.
    CHECK(slurp(mnt / "data/big.bin") == random_bytes(24 * k_mib, 11));
    CHECK(mnt.unmount() == 0);
  }

  TEST_CASE("htpasswd over TLS: the right password converts and mounts, a wrong or missing one is a clear error") {
    TempDir tmp;
    RegistryServer reg(tmp / "registry", {true, "alice", "s3cret:x"});
    write_oci_layout(tmp / "src", {image_of(three_layers(TarFilter::gzip), "v1")});
    skopeo_push(reg, tmp / "src", "v1", "app:1");
    const std::string certs = reg.cert_dir().string();
    // No auth file anywhere: the environment points at an empty one.
    const std::string auth = (tmp / "auth.json").string();
    write_text(tmp / "auth.json", "{}");
    const std::string env = "REGISTRY_AUTH_FILE=" + shell_quote(auth) + " ";
    const std::string rafs = env + shell_quote(RAFS_BINARY) + " ";

    RunResult wrong = sh(rafs + "convert " + reg.ref("app:1") + " -o " + reg.ref("app:2") +
                         " --creds alice:nope --cert-dir " + shell_quote(certs));
    CHECK(wrong.exit_code == 1);
    CHECK(wrong.err.find("the registry refused the credentials of user 'alice'") != std::string::npos);
    CHECK(std::count(wrong.err.begin(), wrong.err.end(), '\n') == 1);

    RunResult none = sh(rafs + "convert " + reg.ref("app:1") + " -o " + reg.ref("app:2") + " --cert-dir " +
                        shell_quote(certs));
    CHECK(none.exit_code == 1);
    CHECK(none.err.find(reg.host() + ": the registry asks for credentials") != std::string::npos);

    RunResult untrusted = sh(rafs + "convert " + reg.ref("app:1") + " -o " + reg.ref("app:2") + " --creds alice:s3cret:x");
    CHECK(untrusted.exit_code == 1);
    CHECK(untrusted.err.find("https://" + reg.host() + "/v2/") != std::string::npos);

    RunResult ok = sh(rafs + "convert " + reg.ref("app:1") + " -o " + reg.ref("app:2") +
                      " --creds alice:s3cret:x --cert-dir " + shell_quote(certs));
    INFO(ok.out << ok.err);
    REQUIRE(ok.exit_code == 0);

    // The auth file skopeo and docker write is found without --creds.
    write_text(tmp / "auth.json", json{{"auths", {{reg.host(), {{"auth", "YWxpY2U6czNjcmV0Ong="}}}}}}.dump());
    Mount mnt(tmp / "mnt");
    RunResult mr = sh(rafs + "mount " + reg.ref("app:2") + " " + shell_quote(mnt.path().string()) + " --cert-dir " +
                      shell_quote(certs));
    INFO(mr.err);
    REQUIRE(mr.exit_code == 0);
    mnt.adopt();
    CHECK(slurp(mnt / "etc/passwd") == "root:x:0:0\n");
    CHECK(mnt.unmount() == 0);
  }

  TEST_CASE("the registry stopped in the middle of a conversion: an error naming the URL and no manifest pushed") {
    TempDir tmp;
    RegistryServer reg(tmp / "registry");
    write_oci_layout(tmp / "src", {image_of({layer_of({tar_file("huge.bin", random_bytes(160 * k_mib, 5))},
                                                      TarFilter::none)},
                                            "v1")});
    skopeo_push(reg, tmp / "src", "v1", "app:1");
    fs::create_directories(tmp / "staging");
    RunResult r;
    std::thread t([&] {
      r = sh("TMPDIR=" + shell_quote((tmp / "staging").string()) + " " + shell_quote(RAFS_BINARY) + " convert " +
             reg.ref("app:1") + " -o " + reg.ref("app:1-nydus"));
    });
    // Once the first blob bytes land in staging, the layer is being pulled.
    const bool pulling = wait_until(
        [&] {
          std::error_code ec;
          for (auto it = fs::recursive_directory_iterator(tmp / "staging", ec);
               !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (it->is_regular_file(ec) && it->file_size(ec) > 0) {
              return true;
            }
          }
          return false;
        },
        60);
    reg.stop();
    t.join();
    REQUIRE(pulling);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("http://" + reg.host() + "/v2/app/blobs/sha256:") != std::string::npos);
    CHECK(fs::is_empty(tmp / "staging")); // the staging layout is gone
    reg.start();
    RunResult head = sh("curl -s -o /dev/null -w '%{http_code}' http://" + reg.host() + "/v2/app/manifests/1-nydus");
    CHECK(head.out == "404");
  }

  TEST_CASE("the registry stopped while mounted: cached files read, uncached ones fail with EIO, then work after a restart") {
    TempDir tmp;
    RegistryServer reg(tmp / "registry");
    const std::string a = random_bytes(3 * k_mib, 21);
    const std::string b = random_bytes(3 * k_mib, 22);
    write_oci_layout(tmp / "src", {image_of({layer_of({tar_file("a.bin", a), tar_file("b.bin", b)}, TarFilter::gzip)},
                                            "v1")});
    skopeo_push(reg, tmp / "src", "v1", "app:1");
    REQUIRE(convert({reg.ref("app:1"), "-o", reg.ref("app:nydus")}).exit_code == 0);
    Mount mnt(tmp / "mnt");
    mnt.start_ok(reg.ref("app:nydus"), {"--cache-dir", (tmp / "cache").string()});
    std::string got;
    REQUIRE(read_errno(mnt / "a.bin", &got) == 0);
    CHECK(got == a);

    reg.stop();
    drop_caches(); // the next reads reach the daemon
    CHECK(read_errno(mnt / "a.bin", &got) == 0); // from the chunk cache
    CHECK(got == a);
    CHECK(read_errno(mnt / "b.bin") == EIO);
    CHECK(read_errno(mnt / "b.bin") == EIO);
    CHECK(fs::file_size(mnt / "b.bin") == 3 * k_mib); // metadata is local

    reg.start();
    CHECK(read_errno(mnt / "b.bin", &got) == 0);
    CHECK(got == b);
    CHECK(mnt.unmount() == 0);
  }

  TEST_CASE("a bootstrap file mounts with nydusd's registry backend config, blobs read from the registry") {
    TempDir tmp;
    RegistryServer reg(tmp / "registry");
    write_oci_layout(tmp / "src", {image_of(three_layers(TarFilter::gzip), "v1")});
    skopeo_push(reg, tmp / "src", "v1", "app:1");
    RunResult r = convert({reg.ref("app:1"), "-o", reg.ref("app:nydus"), "-B", (tmp / "image.boot").string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    write_text(tmp / "cfg.json", json{{"mode", "direct"},
                                      {"device",
                                       {{"backend",
                                         {{"type", "registry"},
                                          {"config", {{"scheme", "http"}, {"host", reg.host()}, {"repo", "app"},
                                                      {"timeout", 5}, {"retry_limit", 1}}}}}}}}
                                     .dump());
    Mount mnt(tmp / "mnt");
    mnt.start_ok(tmp / "image.boot", {"--config", (tmp / "cfg.json").string()});
    CHECK(slurp(mnt / "etc/passwd") == "root:x:0:0\n");
    CHECK(slurp(mnt / "data/two") == random_bytes(2 * k_mib, 7));
    CHECK(mnt.unmount() == 0);
    // The registry down: the backend fails to open after the FUSE mount is
    // up (the store opens behind it); the mount ends and says why.
    reg.stop();
    RunResult down = mnt.start(tmp / "image.boot", {"--config", (tmp / "cfg.json").string()});
    INFO(down.err);
    CHECK(down.exit_code == 1);
    CHECK(down.err.find("rafs: ") == 0);
    CHECK(down.err.find(reg.host()) != std::string::npos);
    CHECK(std::count(down.err.begin(), down.err.end(), '\n') == 1);
    CHECK(!is_mounted(tmp / "mnt"));
    CHECK(daemon_pids(tmp / "mnt").empty());
  }

  TEST_CASE("a mount from a registry that is down or does not have the tag fails with one line") {
    TempDir tmp;
    RegistryServer reg(tmp / "registry");
    Mount mnt(tmp / "mnt");
    RunResult missing = mnt.start(reg.ref("nothing:here"), {});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err == "rafs: GET http://" + reg.host() +
                             "/v2/nothing/manifests/here: 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)\n");
    reg.stop();
    RunResult down = mnt.start(reg.ref("app:1"), {});
    CHECK(down.exit_code == 1);
    CHECK(down.err.find("rafs: ") == 0);
    CHECK(down.err.find(reg.host()) != std::string::npos);
    CHECK(std::count(down.err.begin(), down.err.end(), '\n') == 1);
  }
}
