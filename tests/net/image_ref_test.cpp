// docker:// references as skopeo and docker read them.
#include <doctest/doctest.h>

#include "net/image_ref.hpp"

using rafs::net::ImageRef;
using rafs::net::parse_image_ref;

namespace {

ImageRef ok(const char* text) {
  auto r = parse_image_ref(text);
  INFO(text << ": " << (r ? "" : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

std::string error_of(const char* text) {
  auto r = parse_image_ref(text);
  REQUIRE(!r.ok());
  CHECK(r.error().code == rafs::Errc::invalid_argument);
  return r.error().message;
}

} // namespace

TEST_SUITE("net::image_ref") {
  TEST_CASE("host with port, nested repository and tag") {
    ImageRef r = ok("docker://127.0.0.1:5000/team/app:1.2-nydus");
    CHECK(r.host == "127.0.0.1:5000");
    CHECK(r.repo == "team/app");
    CHECK(r.tag == "1.2-nydus");
    CHECK(r.digest == "");
    CHECK(r.reference() == "1.2-nydus");
    CHECK(r.api_host() == "127.0.0.1:5000");
    CHECK(r.str() == "127.0.0.1:5000/team/app:1.2-nydus");
  }

  TEST_CASE("docker's short forms name docker.io, library/ and latest, and the API host is registry-1") {
    ImageRef r = ok("docker://alpine");
    CHECK(r.host == "docker.io");
    CHECK(r.repo == "library/alpine");
    CHECK(r.tag == "latest");
    CHECK(r.api_host() == "registry-1.docker.io");
    CHECK(ok("user/app:3").repo == "user/app");
    CHECK(ok("user/app:3").host == "docker.io");
    CHECK(ok("localhost/app").host == "localhost");
    CHECK(ok("localhost:5000/app").host == "localhost:5000");
    CHECK(ok("reg.example.com/app").host == "reg.example.com");
  }

  TEST_CASE("a digest replaces the tag, and both may be given") {
    const std::string hex(64, 'a');
    ImageRef d = ok(("docker://h:1/app@sha256:" + hex).c_str());
    CHECK(d.tag == "");
    CHECK(d.digest == "sha256:" + hex);
    CHECK(d.reference() == d.digest);
    ImageRef both = ok(("h:1/app:v1@sha256:" + hex).c_str());
    CHECK(both.tag == "v1");
    CHECK(both.reference() == both.digest);
    CHECK(both.with_tag("v2").str() == "h:1/app:v2");
  }

  TEST_CASE("bad repositories, tags and digests are refused naming what is wrong") {
    CHECK(error_of("docker://").find("empty") != std::string::npos);
    CHECK(error_of("docker://h:1/App").find("repository 'App'") != std::string::npos);
    CHECK(error_of("docker://h:1/a//b").find("repository 'a//b'") != std::string::npos);
    CHECK(error_of("docker://h:1/app:-x").find("tag '-x'") != std::string::npos);
    CHECK(error_of("docker://h:1/app:").find("tag ''") != std::string::npos);
    CHECK(error_of("docker://h:1/app@sha256:abc").find("digest 'sha256:abc'") != std::string::npos);
    CHECK(error_of("docker://h:1/app@md5:00").find("is not sha256:") != std::string::npos);
    CHECK(error_of("docker://h:1/").find("no repository") != std::string::npos);
  }

  TEST_CASE("local hosts are localhost, 127.0.0.0/8 and ::1 with any port") {
    CHECK(rafs::net::is_local_host("localhost"));
    CHECK(rafs::net::is_local_host("localhost:5000"));
    CHECK(rafs::net::is_local_host("127.0.0.1:5000"));
    CHECK(rafs::net::is_local_host("127.1.2.3"));
    CHECK(rafs::net::is_local_host("[::1]:5000"));
    CHECK(!rafs::net::is_local_host("10.0.0.1:5000"));
    CHECK(!rafs::net::is_local_host("localhost.example.com"));
    CHECK(!rafs::net::is_local_host("docker.io"));
  }
}
