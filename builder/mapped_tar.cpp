#include "builder/mapped_tar.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "builder/layer_stream.hpp"
#include "format/file.hpp"

namespace rafs::builder {

namespace {

// One mapped window, unmapped when the last holder drops it (chunks of it
// may still be waiting for a worker when the parser has moved on).
class Window {
public:
  Window(void* p, std::size_t n) noexcept : m_p(p), m_n(n) {}
  ~Window() { ::munmap(m_p, m_n); }
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;
  Bytes bytes() const noexcept { return {static_cast<const std::uint8_t*>(m_p), m_n}; }

private:
  void* m_p;
  std::size_t m_n;
};

class MappedTar final : public ReadAheadReader {
public:
  MappedTar(UniqueFd fd, std::string name, std::uint64_t size, std::size_t window)
      : m_fd(std::move(fd)), m_name(std::move(name)), m_size(size), m_window(window) {
    ::posix_fadvise(m_fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  }

  Result<Bytes> view() override {
    if (m_pos == current().size()) {
      RAFS_TRY(next_window());
    }
    Bytes rest = current().subspan(m_pos); // all of a new window, or what read() left of this one
    m_pos = current().size();
    return rest;
  }

  Result<std::size_t> read(MutableBytes out) override {
    if (m_pos == current().size()) {
      RAFS_TRY(next_window());
      if (!m_map) {
        return std::size_t{0}; // the end (no window to copy from)
      }
    }
    const std::size_t n = std::min(out.size(), current().size() - m_pos);
    std::memcpy(out.data(), current().data() + m_pos, n);
    m_pos += n;
    return n;
  }

  std::shared_ptr<const void> view_owner() const override { return m_map; }
  std::string name() const override { return m_name; }
  std::uint64_t raw_bytes_read() const override { return m_offset - (current().size() - m_pos); }

private:
  Bytes current() const { return m_map ? m_map->bytes() : Bytes{}; }

  // Maps the next window (the previous one is unmapped first); none at the end.
  Result<void> next_window() {
    m_map.reset();
    m_pos = 0;
    if (m_offset == m_size) {
      return {};
    }
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(m_window, m_size - m_offset));
    void* p = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, m_fd.get(),
                     static_cast<off_t>(m_offset));
    if (p == MAP_FAILED) {
      return sys_error(m_name);
    }
    auto window = std::make_shared<const Window>(p, len);
    // Touching a page past the end of a file that shrank would raise
    // SIGBUS: check the size once the window is mapped.
    struct stat st{};
    if (::fstat(m_fd.get(), &st) != 0) {
      return sys_error(m_name);
    }
    if (static_cast<std::uint64_t>(st.st_size) < m_offset + len) {
      return make_error(Errc::io, m_name + ": file shrank while being read");
    }
    ::posix_fadvise(m_fd.get(), static_cast<off_t>(m_offset + len), static_cast<off_t>(m_window),
                    POSIX_FADV_WILLNEED);
    m_map = std::move(window);
    m_offset += len;
    return {};
  }

  UniqueFd m_fd;
  const std::string m_name;
  const std::uint64_t m_size;
  const std::size_t m_window;
  std::shared_ptr<const Window> m_map; // the current window; null before the first and at the end
  std::size_t m_pos = 0;               // of the current window, handed out so far
  std::uint64_t m_offset = 0;          // file offset after the current window
};

} // namespace

Result<std::unique_ptr<ReadAheadReader>> map_plain_tar(const std::string& path, std::size_t window) {
  // Looked at before it is opened: opening a FIFO would wait for a writer,
  // and a pipe's bytes must be read once, by the stream reader.
  struct stat st{};
  std::array<std::uint8_t, 4> head{};
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size < static_cast<off_t>(head.size())) {
    return std::unique_ptr<ReadAheadReader>(); // the stream reader opens it (or says why not)
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return sys_error(path);
  }
  RAFS_TRY(pread_full(fd.get(), 0, head, path));
  if (detect_layer_compression(head) != LayerCompression::none) {
    return std::unique_ptr<ReadAheadReader>();
  }
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  window = std::max<std::size_t>(window / page * page, page);
  return std::unique_ptr<ReadAheadReader>(
      std::make_unique<MappedTar>(std::move(fd), path, static_cast<std::uint64_t>(st.st_size), window));
}

} // namespace rafs::builder
