#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "format/blake3_vectors.hpp"
#include "format/bytes.hpp"
#include "format/digest.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace rafs::test::blake3_vectors;

const Vector& vector_for(std::size_t input_len) {
  const auto it = std::find_if(std::begin(k_vectors), std::end(k_vectors),
                               [&](const Vector& v) { return v.input_len == input_len; });
  REQUIRE(it != std::end(k_vectors));
  return *it;
}

std::string digest_hex(const rafs::Blake3& h) { return rafs::to_hex(h.finalize()); }

// Feeds data through update() cut at random points; some pieces are empty.
void update_in_random_pieces(rafs::Blake3& h, rafs::Bytes data, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::size_t> cuts_dist(0, 8);
  std::uniform_int_distribution<std::size_t> pos_dist(0, data.size());
  std::vector<std::size_t> cuts(cuts_dist(rng));
  for (std::size_t& c : cuts) {
    c = pos_dist(rng);
  }
  cuts.push_back(data.size());
  std::sort(cuts.begin(), cuts.end());
  std::size_t begin = 0;
  for (std::size_t end : cuts) {
    h.update(data.subspan(begin, end - begin));
    begin = end;
  }
}

void check_vectors(Mode mode) {
  for (const Vector& v : k_vectors) {
    CAPTURE(v.input_len);
    const std::vector<std::uint8_t> in = vector_input(v.input_len);
    rafs::Blake3 h = make_hasher(mode);
    h.update(in);
    const std::string want = expected_hex(v, mode);
    CHECK(xof_hex(h, k_vector_output_len) == want);
    CHECK(digest_hex(h) == want.substr(0, 64));
  }
}

std::vector<std::uint8_t> random_bytes(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t r = rng();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j) {
      out[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
    }
  }
  return out;
}

// "b3sum --no-names FILE": the 64 hex digits of the BLAKE3 hash of FILE.
std::string b3sum_hex(const std::filesystem::path& b3sum, const std::filesystem::path& file) {
  return command_output(shell_quote(b3sum.string()) + " --no-names " + shell_quote(file.string()));
}

} // namespace

TEST_SUITE("format::Blake3") {
  TEST_CASE("hash mode gives the official test vector outputs") { check_vectors(Mode::hash); }

  TEST_CASE("keyed mode gives the official test vector outputs") { check_vectors(Mode::keyed); }

  TEST_CASE("derive_key mode gives the official test vector outputs") {
    check_vectors(Mode::derive_key);
  }

  TEST_CASE("test vectors fed in random pieces give the same outputs") {
    std::mt19937_64 rng(0x5eed'b1a4e3ULL);
    for (Mode mode : k_modes) {
      CAPTURE(static_cast<int>(mode));
      for (const Vector& v : k_vectors) {
        CAPTURE(v.input_len);
        const std::vector<std::uint8_t> in = vector_input(v.input_len);
        const std::string want = expected_hex(v, mode);
        for (int round = 0; round < 4; ++round) {
          rafs::Blake3 h = make_hasher(mode);
          update_in_random_pieces(h, in, rng);
          CHECK(xof_hex(h, k_vector_output_len) == want);
          CHECK(digest_hex(h) == want.substr(0, 64));
        }
        // One byte at a time.
        rafs::Blake3 h = make_hasher(mode);
        for (std::size_t i = 0; i < in.size(); ++i) {
          h.update(rafs::Bytes(in).subspan(i, 1));
        }
        CHECK(xof_hex(h, k_vector_output_len) == want);
      }
    }
  }

  TEST_CASE("finalize leaves the state so that hashing can continue") {
    const std::vector<std::uint8_t> in = vector_input(102400);
    // Stop at every interesting boundary, finalize, then go on to the end.
    for (std::size_t cut : {std::size_t{0}, std::size_t{64}, std::size_t{1024},
                            std::size_t{1025}, std::size_t{4096}, std::size_t{31744}}) {
      CAPTURE(cut);
      rafs::Blake3 h;
      h.update(rafs::Bytes(in).first(cut));
      const rafs::Digest first = h.finalize();
      CHECK(h.finalize() == first);
      std::vector<std::uint8_t> out(k_vector_output_len);
      h.finalize_xof(out);
      CHECK(h.finalize() == first);
      h.update(rafs::Bytes(in).subspan(cut));
      CHECK(xof_hex(h, k_vector_output_len) == vector_for(102400).hash);
    }
  }

  TEST_CASE("extended output of any length is a prefix of a longer one") {
    rafs::Blake3 h;
    h.update(vector_input(1025));
    const std::string full = xof_hex(h, 1000);
    for (std::size_t len : std::array<std::size_t, 12>{1, 31, 32, 33, 63, 64, 65, 127, 128, 129,
                                                        131, 999}) {
      CAPTURE(len);
      CHECK(xof_hex(h, len) == full.substr(0, 2 * len));
    }
    CHECK(full.substr(0, 262) == vector_for(1025).hash);
  }

  TEST_CASE("a copied hasher goes on independently of the original") {
    const std::vector<std::uint8_t> in = vector_input(8193);
    rafs::Blake3 a;
    a.update(rafs::Bytes(in).first(5000));
    rafs::Blake3 b = a;
    b.update(rafs::Bytes(in).subspan(5000));
    CHECK(xof_hex(b, k_vector_output_len) == vector_for(8193).hash);
    rafs::Blake3 fresh;
    fresh.update(rafs::Bytes(in).first(5000));
    CHECK(a.finalize() == fresh.finalize());
    CHECK(a.finalize() != b.finalize());
  }

  TEST_CASE("random inputs hash as b3sum hashes them") {
    const std::filesystem::path b3sum = find_b3sum();
    if (b3sum.empty()) {
      FAIL("b3sum is not installed: install the b3sum package (apt-get install b3sum)");
    }
    rafs::test::TempDir dir;
    std::mt19937_64 rng(20240601);
    const std::size_t mib = std::size_t{1} << 20;
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{64},
                             std::size_t{65}, std::size_t{1023}, std::size_t{1024},
                             std::size_t{1025}, std::size_t{2048}, mib, mib + 1,
                             16 * mib + 3}) {
      CAPTURE(size);
      const std::vector<std::uint8_t> in = random_bytes(size, rng);
      const std::filesystem::path file = dir / ("input-" + std::to_string(size));
      rafs::test::write_file(file, in);
      const std::string want = b3sum_hex(b3sum, file);
      REQUIRE(want.size() == 64);

      rafs::Blake3 one_shot;
      one_shot.update(in);
      CHECK(digest_hex(one_shot) == want);

      rafs::Blake3 pieces;
      update_in_random_pieces(pieces, in, rng);
      CHECK(digest_hex(pieces) == want);
      std::filesystem::remove(file);
    }
  }
}
