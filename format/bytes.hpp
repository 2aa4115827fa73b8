// Little-endian field types for on-disk records, and byte helpers.
//
// Every on-disk record is declared with these types so its byte order shows
// at each use, it has alignment 1 and no padding, and it is memcpy'd from and
// to the file. Loads and stores are written as shifts; compilers turn them
// into single moves on little-endian hosts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace rafs {

using Bytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

// An allocator whose value-less construct() leaves the element uninitialised,
// so a vector grown with resize(n) is not zeroed first (resize(n, 0) still
// zeroes).
template <typename T> struct DefaultInitAllocator : std::allocator<T> {
  template <typename U> struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() noexcept = default;
  template <typename U> DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  template <typename U> void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... A> void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
};

// Bytes about to be overwritten (a chunk being filled, a codec's output):
// growing it costs no memset.
using ByteBuffer = std::vector<std::uint8_t, DefaultInitAllocator<std::uint8_t>>;

template <typename T> constexpr T load_le(const std::uint8_t* p) noexcept {
  static_assert(std::is_unsigned_v<T>);
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<T>(v | (static_cast<T>(p[i]) << (8 * i)));
  }
  return v;
}

template <typename T> constexpr void store_le(std::uint8_t* p, T v) noexcept {
  static_assert(std::is_unsigned_v<T>);
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

// An unsigned little-endian integer stored as bytes.
template <typename T> struct Le {
  std::array<std::uint8_t, sizeof(T)> b{};

  constexpr Le() = default;
  constexpr Le(T v) noexcept { set(v); } // NOLINT: implicit by design
  constexpr T get() const noexcept { return load_le<T>(b.data()); }
  constexpr void set(T v) noexcept { store_le<T>(b.data(), v); }
};

using le16 = Le<std::uint16_t>;
using le32 = Le<std::uint32_t>;
using le64 = Le<std::uint64_t>;
static_assert(sizeof(le16) == 2 && alignof(le16) == 1);
static_assert(sizeof(le32) == 4 && alignof(le32) == 1);
static_assert(sizeof(le64) == 8 && alignof(le64) == 1);

constexpr std::uint64_t align8(std::uint64_t n) noexcept { return (n + 7) & ~std::uint64_t{7}; }

// Copy an on-disk record out of a byte buffer (no aliasing, no alignment).
template <typename Rec> Rec load_record(const std::uint8_t* p) noexcept {
  static_assert(std::is_trivially_copyable_v<Rec> && alignof(Rec) == 1);
  Rec r;
  std::memcpy(&r, p, sizeof(Rec));
  return r;
}

template <typename Rec> void store_record(std::uint8_t* p, const Rec& r) noexcept {
  static_assert(std::is_trivially_copyable_v<Rec> && alignof(Rec) == 1);
  std::memcpy(p, &r, sizeof(Rec));
}

// Lowercase hex of bytes.
std::string to_hex(Bytes bytes);
// "0x1f": a number in hex with the 0x prefix, for messages.
std::string hex_number(std::uint64_t v);

} // namespace rafs
