#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "format/bytes.hpp"
#include "format/digest.hpp"

namespace {

rafs::Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string sha256_hex(std::string_view s) {
  rafs::Sha256 h;
  h.update(as_bytes(s));
  return rafs::to_hex(h.finalize());
}

// FIPS 180-2 appendix B (and the empty message).
constexpr std::string_view k_two_blocks =
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
constexpr std::string_view k_sha256_empty =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view k_sha256_abc =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr std::string_view k_sha256_two_blocks =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr std::string_view k_sha256_million_a =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

// BLAKE3 of the same messages (the official test vector for "", b3sum for "abc").
constexpr std::string_view k_blake3_empty =
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
constexpr std::string_view k_blake3_abc =
    "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85";

} // namespace

TEST_SUITE("format::Sha256") {
  TEST_CASE("the empty message gives the FIPS 180 digest") {
    CHECK(sha256_hex("") == k_sha256_empty);
    rafs::Sha256 h; // no update at all
    CHECK(rafs::to_hex(h.finalize()) == k_sha256_empty);
  }

  TEST_CASE("abc gives the FIPS 180 digest") { CHECK(sha256_hex("abc") == k_sha256_abc); }

  TEST_CASE("the 448-bit two-block message gives the FIPS 180 digest") {
    CHECK(sha256_hex(k_two_blocks) == k_sha256_two_blocks);
  }

  TEST_CASE("one million a gives the FIPS 180 digest") {
    CHECK(sha256_hex(std::string(1000000, 'a')) == k_sha256_million_a);
  }

  TEST_CASE("incremental updates in random pieces equal one shot") {
    std::mt19937_64 rng(0x5a256);
    std::vector<std::uint8_t> data(100000);
    for (std::uint8_t& b : data) {
      b = static_cast<std::uint8_t>(rng());
    }
    rafs::Sha256 one_shot;
    one_shot.update(data);
    const rafs::Digest want = one_shot.finalize();
    for (int round = 0; round < 8; ++round) {
      std::uniform_int_distribution<std::size_t> pos(0, data.size());
      std::vector<std::size_t> cuts(8);
      for (std::size_t& c : cuts) {
        c = pos(rng);
      }
      cuts.push_back(data.size());
      std::sort(cuts.begin(), cuts.end());
      rafs::Sha256 h;
      std::size_t begin = 0;
      for (std::size_t end : cuts) {
        h.update(rafs::Bytes(data).subspan(begin, end - begin));
        begin = end;
      }
      CHECK(h.finalize() == want);
    }
    rafs::Sha256 bytewise;
    const std::string million(1000000, 'a');
    for (std::size_t i = 0; i < million.size(); i += 1000) {
      bytewise.update(as_bytes(std::string_view(million).substr(i, 1000)));
    }
    CHECK(rafs::to_hex(bytewise.finalize()) == k_sha256_million_a);
  }

  TEST_CASE("a moved hasher keeps its state") {
    rafs::Sha256 a;
    a.update(as_bytes("ab"));
    rafs::Sha256 b(std::move(a));
    b.update(as_bytes("c"));
    rafs::Sha256 c;
    c = std::move(b);
    CHECK(rafs::to_hex(c.finalize()) == k_sha256_abc);
  }
}

TEST_SUITE("format::Hasher") {
  TEST_CASE("digest_algo_name names both algorithms") {
    CHECK(rafs::digest_algo_name(rafs::DigestAlgo::blake3) == "blake3");
    CHECK(rafs::digest_algo_name(rafs::DigestAlgo::sha256) == "sha256");
  }

  TEST_CASE("a blake3 Hasher gives BLAKE3 digests") {
    rafs::Hasher empty(rafs::DigestAlgo::blake3);
    CHECK(rafs::to_hex(empty.finalize()) == k_blake3_empty);
    rafs::Hasher h(rafs::DigestAlgo::blake3);
    h.update(as_bytes("a"));
    h.update(as_bytes("bc"));
    CHECK(rafs::to_hex(h.finalize()) == k_blake3_abc);
  }

  TEST_CASE("a sha256 Hasher gives SHA-256 digests") {
    rafs::Hasher empty(rafs::DigestAlgo::sha256);
    CHECK(rafs::to_hex(empty.finalize()) == k_sha256_empty);
    rafs::Hasher h(rafs::DigestAlgo::sha256);
    h.update(as_bytes("a"));
    h.update(as_bytes("bc"));
    CHECK(rafs::to_hex(h.finalize()) == k_sha256_abc);
  }

  TEST_CASE("digest_of uses the algorithm it is given") {
    CHECK(rafs::to_hex(rafs::digest_of(rafs::DigestAlgo::blake3, as_bytes("abc"))) ==
          k_blake3_abc);
    CHECK(rafs::to_hex(rafs::digest_of(rafs::DigestAlgo::sha256, as_bytes("abc"))) ==
          k_sha256_abc);
    CHECK(rafs::to_hex(rafs::digest_of(rafs::DigestAlgo::blake3, {})) == k_blake3_empty);
    CHECK(rafs::to_hex(rafs::digest_of(rafs::DigestAlgo::sha256, as_bytes(k_two_blocks))) ==
          k_sha256_two_blocks);
  }
}
