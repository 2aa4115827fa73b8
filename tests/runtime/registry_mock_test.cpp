// What a real registry will not do on demand, against
// tests/support/mock_registry.py: the Bearer token flow (and tokens that
// expire during a mount), 429 and 503 answers, and redirected blob reads.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/mount_helpers.hpp"
#include "runtime/three_layers.hpp"
#include "support/feature_layer.hpp"
#include "support/oci_maker.hpp"

namespace {

using namespace rafs::test;
using nlohmann::json;

constexpr std::size_t k_mib = 1 << 20;

// The mock on a free port, killed at scope exit.
class MockRegistry {
public:
  MockRegistry(const fs::path& dir, const fs::path& layout, const std::vector<std::string>& flags)
      : m_log(dir / "requests.jsonl") {
    const fs::path port_file = dir / "port";
    std::vector<std::string> argv{"/usr/bin/python3", RAFS_SOURCE_DIR "/tests/support/mock_registry.py",
                                  "--layout", layout.string(), "--port-file", port_file.string(), "--log",
                                  m_log.string()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    m_pid = ::fork();
    REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
      std::vector<char*> args;
      for (auto& a : argv) {
        args.push_back(a.data());
      }
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    REQUIRE(wait_until([&] { return fs::exists(port_file); }, 20));
    m_host = "127.0.0.1:" + read_text(port_file);
  }
  ~MockRegistry() {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
  MockRegistry(const MockRegistry&) = delete;
  MockRegistry& operator=(const MockRegistry&) = delete;

  std::string ref(const std::string& repo_tag) const { return "docker://" + m_host + "/" + repo_tag; }
  // Every request so far: method, path, status, authorization.
  std::vector<json> requests() const {
    std::vector<json> out;
    std::istringstream in(read_text(m_log));
    for (std::string line; std::getline(in, line);) {
      out.push_back(json::parse(line));
    }
    return out;
  }
  std::size_t count(const std::function<bool(const json&)>& pred) const {
    auto r = requests();
    return static_cast<std::size_t>(std::count_if(r.begin(), r.end(), pred));
  }

private:
  fs::path m_log;
  std::string m_host;
  pid_t m_pid = -1;
};

void make_source(const TempDir& tmp) {
  OciImageSpec image;
  image.layers = three_layers(TarFilter::gzip);
  image.tag = "v1";
  write_oci_layout(tmp / "src", {image});
}

bool starts(const json& r, const std::string& prefix) {
  return r["path"].get<std::string>().rfind(prefix, 0) == 0;
}

} // namespace

TEST_SUITE("registry (mock)") {
  TEST_CASE("the Bearer flow: the challenge sends rafs to the realm with the password and the repository's pull scope") {
    TempDir tmp;
    make_source(tmp);
    MockRegistry reg(tmp.path(), tmp / "src", {"--bearer", "--user", "alice", "--password", "pw"});
    RunResult r = run_rafs({"convert", reg.ref("team/app:v1"), "-o", (tmp / "out").string(), "--creds", "alice:pw"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(fs::exists(tmp / "out" / "index.json"));
    auto reqs = reg.requests();
    REQUIRE(!reqs.empty());
    CHECK(reqs[0]["path"] == "/v2/");
    CHECK(reqs[0]["status"] == 401);
    CHECK(reqs[1]["path"] == "/token?service=mock-registry&scope=repository%3Ateam%2Fapp%3Apull");
    CHECK(reqs[1]["authorization"] == "Basic YWxpY2U6cHc=");
    CHECK(reqs[1]["status"] == 200);
    // One token serves everything after it.
    CHECK(reg.count([](const json& q) { return starts(q, "/token"); }) == 1);
    CHECK(reg.count([](const json& q) { return starts(q, "/v2/team/app/") && q["authorization"] != "Bearer token-1"; }) == 0);

    RunResult wrong = run_rafs({"convert", reg.ref("team/app:v1"), "-o", (tmp / "out2").string(), "--creds", "alice:x"});
    CHECK(wrong.exit_code == 1);
    CHECK(wrong.err.find("the token service refused the credentials of user 'alice'") != std::string::npos);
    CHECK(!fs::exists(tmp / "out2"));
  }

  TEST_CASE("429 and 503 answers are retried with backoff, and a registry that keeps failing is one clear error") {
    TempDir tmp;
    make_source(tmp);
    {
      MockRegistry reg(tmp.path(), tmp / "src", {"--fail-first", "2", "--fail-status", "429"});
      RunResult r = run_rafs({"convert", reg.ref("app:v1"), "-o", (tmp / "out").string()});
      INFO(r.out << r.err);
      CHECK(r.exit_code == 0);
      CHECK(reg.count([](const json& q) { return q["status"] == 429; }) == 2);
    }
    fs::remove(tmp / "port");
    fs::remove(tmp / "requests.jsonl");
    MockRegistry reg(tmp.path(), tmp / "src", {"--fail-first", "100"});
    RunResult r = run_rafs({"convert", reg.ref("app:v1"), "-o", (tmp / "out2").string()});
    CHECK(r.exit_code == 1);
    const std::string http = "http://" + reg.ref("").substr(9);
    CHECK(r.err == "rafs: GET " + http + "v2/app/manifests/v1: 503 Service Unavailable (UNAVAILABLE: try again)\n");
    CHECK(reg.count([](const json& q) { return q["status"] == 503; }) == 4); // 1 + 3 retries
    CHECK(!fs::exists(tmp / "out2"));
  }

  TEST_CASE("a mount renews an expired token on 401 and follows redirected blob reads") {
    TempDir tmp;
    make_source(tmp);
    // The Nydus image as a local layout, tagged v1, served by the mock.
    RunResult c = run_rafs({"convert", (tmp / "src").string() + ":v1", "-o", "oci:" + (tmp / "nydus").string() + ":v1"});
    INFO(c.out << c.err);
    REQUIRE(c.exit_code == 0);
    MockRegistry reg(tmp.path(), tmp / "nydus", {"--bearer", "--token-uses", "3", "--redirect-blobs"});
    Mount mnt(tmp / "mnt");
    mnt.start_ok(reg.ref("app:v1"), {});
    CHECK(slurp(mnt / "etc/passwd") == "root:x:0:0\n");
    CHECK(slurp(mnt / "data/two") == random_bytes(2 * k_mib, 7));
    CHECK(slurp(mnt / "opq/c") == "upper c\n");
    CHECK(mnt.unmount() == 0);
    // Tokens last 3 requests: the daemon went back to the realm.
    CHECK(reg.count([](const json& q) { return starts(q, "/token"); }) >= 3);
    CHECK(reg.count([](const json& q) { return q["status"] == 307; }) >= 1);
    CHECK(reg.count([](const json& q) { return starts(q, "/redirected/app/blobs/sha256:") && q["status"] == 206; }) >= 1);
  }
}
