#include "format/huge_pages.hpp"

#include <sys/mman.h>

namespace rafs {

namespace {

constexpr std::size_t k_huge_page = 2 << 20;
constexpr std::size_t k_page = 4096;
constexpr std::size_t k_min_huge = 1 << 20; // below this, operator new

std::size_t page_rounded(std::size_t bytes) { return (bytes + k_page - 1) & ~(k_page - 1); }

} // namespace

void* huge_alloc(std::size_t bytes) {
  if (bytes < k_min_huge) {
    return ::operator new(bytes == 0 ? 1 : bytes);
  }
  // Mapped with a huge page of slack, then trimmed so that the array starts
  // on a huge-page boundary: only whole aligned 2 MiB ranges get huge pages.
  const std::size_t size = page_rounded(bytes);
  if (size > static_cast<std::size_t>(-1) - k_huge_page) {
    throw std::bad_alloc();
  }
  void* raw = ::mmap(nullptr, size + k_huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    throw std::bad_alloc();
  }
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + k_huge_page - 1) & ~(std::uintptr_t{k_huge_page} - 1);
  if (aligned > start) {
    ::munmap(raw, aligned - start);
  }
  const std::uintptr_t tail = aligned + size;
  const std::uintptr_t end = start + size + k_huge_page;
  if (end > tail) {
    ::munmap(reinterpret_cast<void*>(tail), end - tail);
  }
  // Best effort: without THP the memory works the same, in small pages.
  (void)::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

void huge_free(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) {
    return;
  }
  if (bytes < k_min_huge) {
    ::operator delete(p);
    return;
  }
  ::munmap(p, page_rounded(bytes));
}

} // namespace rafs
