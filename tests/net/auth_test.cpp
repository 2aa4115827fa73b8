// Base64, WWW-Authenticate challenges and the auth files skopeo and docker
// write, looked up as they look them up.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "net/base64.hpp"
#include "net/challenge.hpp"
#include "net/credentials.hpp"
#include "support/temp_dir.hpp"

using namespace rafs::net;

namespace {

// Sets (or clears, with nullptr) an environment variable for a scope.
class EnvVar {
public:
  EnvVar(const char* name, const char* value) : m_name(name) {
    if (const char* old = std::getenv(name)) {
      m_old = old;
      m_had = true;
    }
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvVar() {
    if (m_had) {
      ::setenv(m_name.c_str(), m_old.c_str(), 1);
    } else {
      ::unsetenv(m_name.c_str());
    }
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

private:
  std::string m_name;
  std::string m_old;
  bool m_had = false;
};

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

} // namespace

TEST_SUITE("net::auth") {
  TEST_CASE("base64 round-trips RFC 4648's vectors and refuses what is not canonical") {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (auto [plain, encoded] : vectors) {
      CHECK(base64_encode(plain) == encoded);
      CHECK(base64_decode(encoded) == std::optional<std::string>(plain));
    }
    CHECK(base64_decode("Zg=") == std::nullopt);
    CHECK(base64_decode("Z===") == std::nullopt);
    CHECK(base64_decode("Zm9v\n") == std::nullopt);
    CHECK(base64_decode("Zm=v") == std::nullopt);
    CHECK(base64_decode("Zm9*") == std::nullopt);
  }

  TEST_CASE("a Bearer challenge gives its realm, service and scope, and Basic gives its realm") {
    auto c = parse_challenge(R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
    REQUIRE(c);
    CHECK(c->scheme == "bearer");
    CHECK(c->params["realm"] == "https://auth.docker.io/token");
    CHECK(c->params["service"] == "registry.docker.io");
    CHECK(c->params["scope"] == "repository:library/alpine:pull");
    auto b = parse_challenge(R"(Basic realm="rafs \"test\"", charset=UTF-8)");
    REQUIRE(b);
    CHECK(b->scheme == "basic");
    CHECK(b->params["realm"] == "rafs \"test\"");
    CHECK(b->params["charset"] == "UTF-8");
    CHECK(!parse_challenge("   "));
  }

  TEST_CASE("--creds splits at the first colon: the password may hold colons") {
    auto c = parse_creds("alice:s3:cr:et");
    REQUIRE(c);
    CHECK(c->username == "alice");
    CHECK(c->password == "s3:cr:et");
    CHECK(!parse_creds("alice"));
    CHECK(!parse_creds(":pw"));
  }

  TEST_CASE("REGISTRY_AUTH_FILE alone is read when set, matching host, https:// and path forms") {
    rafs::test::TempDir tmp;
    write(tmp / "auth.json", R"({"auths": {"https://reg.example:5000/v1/": {"auth": "YWxpY2U6cHc="},
                                           "other:1": {"username": "bob", "password": "x"}}})");
    EnvVar f("REGISTRY_AUTH_FILE", (tmp / "auth.json").c_str());
    auto a = find_credentials("reg.example:5000");
    REQUIRE(a);
    REQUIRE(a->has_value());
    CHECK((*a)->username == "alice");
    CHECK((*a)->password == "pw");
    auto b = find_credentials("other:1");
    REQUIRE(b);
    REQUIRE(b->has_value());
    CHECK((*b)->username == "bob");
    auto none = find_credentials("elsewhere");
    REQUIRE(none);
    CHECK(!none->has_value());
  }

  TEST_CASE("without REGISTRY_AUTH_FILE: XDG_RUNTIME_DIR's containers/auth.json, then ~/.docker/config.json") {
    rafs::test::TempDir tmp;
    EnvVar f("REGISTRY_AUTH_FILE", nullptr);
    EnvVar run("XDG_RUNTIME_DIR", (tmp / "run").c_str());
    EnvVar home("HOME", (tmp / "home").c_str());
    EnvVar dc("DOCKER_CONFIG", nullptr);
    write(tmp / "home/.docker/config.json", R"({"auths": {"https://index.docker.io/v1/": {"auth": "ZDpodWI="},
                                                           "reg:1": {"auth": "ZG9ja2VyOng="}}})");
    auto hub = find_credentials("docker.io");
    REQUIRE(hub);
    REQUIRE(hub->has_value());
    CHECK((*hub)->username == "d");
    auto reg = find_credentials("reg:1");
    REQUIRE(reg);
    REQUIRE(reg->has_value());
    CHECK((*reg)->username == "docker");
    // The containers file comes first.
    write(tmp / "run/containers/auth.json", R"({"auths": {"reg:1": {"auth": "cG9kbWFuOnk="}}})");
    auto first = find_credentials("reg:1");
    REQUIRE(first);
    REQUIRE(first->has_value());
    CHECK((*first)->username == "podman");
  }

  TEST_CASE("a broken auth file or entry is an error naming the file") {
    rafs::test::TempDir tmp;
    write(tmp / "auth.json", "{not json");
    EnvVar f("REGISTRY_AUTH_FILE", (tmp / "auth.json").c_str());
    auto bad = find_credentials("h");
    REQUIRE(!bad);
    CHECK(bad.error().message == (tmp / "auth.json").string() + ": not a JSON object");
    write(tmp / "auth.json", R"({"auths": {"h": {"auth": "%%%"}}})");
    auto entry = find_credentials("h");
    REQUIRE(!entry);
    CHECK(entry.error().message == (tmp / "auth.json").string() + ": auths.h: auth is not base64");
    write(tmp / "auth.json", R"({"auths": {"h": {"auth": "bm9jb2xvbg=="}}})");
    auto nocolon = find_credentials("h");
    REQUIRE(!nocolon);
    CHECK(nocolon.error().message == (tmp / "auth.json").string() + ": auths.h: auth does not decode to USER:PASSWORD");
  }
}
