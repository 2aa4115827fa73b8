// Seeds of fuzz_oci: OCI layouts and docker archives in the harness's piece
// format ("$D<j>"/"$S<j>" stand for piece j's digest and size), and real
// oci-archive and docker-archive files from tests/support/oci_maker.
#include <nlohmann/json.hpp>

#include "fuzz/seeds/seeds.hpp"
#include "support/oci_maker.hpp"
#include "support/temp_dir.hpp"

namespace rafs::fuzz_seeds {

namespace {

using nlohmann::json;

constexpr const char* k_index = "application/vnd.oci.image.index.v1+json";
constexpr const char* k_manifest = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* k_config = "application/vnd.oci.image.config.v1+json";
constexpr const char* k_tar = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* k_tar_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";

// A descriptor naming piece j; the size placeholder becomes a bare number.
std::string descriptor(const char* media_type, int j, const std::string& extra = "") {
  const std::string n = std::to_string(j);
  return R"({"mediaType":")" + std::string(media_type) + R"(","digest":"$D)" + n + R"(","size":$S)" + n +
         extra + "}";
}

std::string manifest(int config, int layer, const char* layer_type) {
  return R"({"schemaVersion":2,"mediaType":")" + std::string(k_manifest) + R"(","config":)" +
         descriptor(k_config, config) + R"(,"layers":[)" + descriptor(layer_type, layer) + "]}";
}

std::string config(const std::string& arch, const std::string& diff_id) {
  return json{{"architecture", arch},
              {"os", "linux"},
              {"config", {{"Env", {"PATH=/usr/bin"}}, {"Entrypoint", {"/bin/sh"}}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id}}}}}
      .dump();
}

Seed pieces(std::uint8_t flags, const std::vector<std::string>& parts) {
  std::string text(1, static_cast<char>(flags));
  for (std::size_t i = 0; i < parts.size(); ++i) {
    text += (i == 0 ? "" : "\n----\n") + parts[i];
  }
  return bytes_of(text);
}

std::string text_of(const Seed& s) { return {s.begin(), s.end()}; }

Seed file_seed(std::uint8_t flags, const std::filesystem::path& file) {
  Seed s = test::read_file(file);
  s.insert(s.begin(), flags);
  return s;
}

} // namespace

Seeds oci_seeds() {
  const std::string layer =
      text_of(test::make_tar({test::tar_file("etc/hostname", "rafs\n"), test::tar_dir("tmp")},
                             {test::TarFormat::pax, test::TarFilter::none, false}));
  const Seed gz_tar = test::make_tar({test::tar_file("bin/sh", "#!\n")});
  const std::string gz_layer = text_of(test::compress_layer(gz_tar, test::TarFilter::gzip));
  const std::string ref = R"(,"annotations":{"org.opencontainers.image.ref.name":"latest"})";
  const std::string arm = R"(,"platform":{"os":"linux","architecture":"arm64","variant":"v8"})";
  const std::string amd = R"(,"platform":{"os":"linux","architecture":"amd64"})";

  Seeds seeds = {
      // index.json -> manifest -> config, layer
      {"oci-layout", pieces(4, {R"({"schemaVersion":2,"mediaType":")" + std::string(k_index) +
                                    R"(","manifests":[)" + descriptor(k_manifest, 1, ref) + "]}",
                                manifest(2, 3, k_tar), config("amd64", "$D3"), layer})},
      // index.json -> image index -> a manifest per platform
      {"oci-multi-platform",
       pieces(8, {R"({"schemaVersion":2,"manifests":[)" + descriptor(k_index, 1, ref) + "]}",
                  R"({"schemaVersion":2,"mediaType":")" + std::string(k_index) + R"(","manifests":[)" +
                      descriptor(k_manifest, 2, amd) + "," + descriptor(k_manifest, 4, arm) + "]}",
                  manifest(3, 6, k_tar), config("amd64", "$D6"), manifest(5, 6, k_tar),
                  config("arm64", "$D6"), layer})},
      // a gzip layer: its diff_id is the digest of the tar inside
      {"oci-gzip-layer",
       pieces(0, {R"({"schemaVersion":2,"manifests":[)" + descriptor(k_manifest, 1) + "]}",
                  manifest(2, 3, k_tar_gzip), config("amd64", test::sha256_digest(gz_tar)), gz_layer})},
      {"docker-archive",
       pieces(5, {R"([{"Config":"1","RepoTags":["docker.io/library/rafs:latest"],"Layers":["2"]}])",
                  config("amd64", "$D2"), layer})},
  };

  test::TempDir dir;
  const std::vector<test::OciImageSpec> images = {
      {{{{test::tar_file("a", "1")}, test::TarFilter::zstd}}, "latest"}};
  test::write_oci_archive(dir / "oci.tar", images);
  test::write_docker_archive(dir / "docker.tar", images);
  seeds.emplace_back("oci-archive.tar", file_seed(2, dir / "oci.tar"));
  seeds.emplace_back("docker-archive.tar", file_seed(3 | 4, dir / "docker.tar"));
  return seeds;
}

} // namespace rafs::fuzz_seeds
