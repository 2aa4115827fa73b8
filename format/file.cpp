#include "format/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

namespace rafs {

UniqueFd::~UniqueFd() { reset(); }

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    reset(o.release());
  }
  return *this;
}

int UniqueFd::release() noexcept { return std::exchange(m_fd, -1); }

void UniqueFd::reset(int fd) noexcept {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
  m_fd = fd;
}

namespace {
constexpr std::uint64_t k_writeback_step = 8 << 20;
} // namespace

Result<void> pread_full(int fd, std::uint64_t offset, MutableBytes out, const std::string& name) {
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_error(name + ": read at offset " + std::to_string(offset + done));
    }
    if (n == 0) {
      return make_error(Errc::corrupted, name + ": unexpected end of file at offset " +
                                             std::to_string(offset + done));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

namespace {

// The whole regular file at `path` (at most `max_size` bytes) read into a
// Buffer made with its size.
template <typename Buffer>
Result<Buffer> read_into(const std::filesystem::path& path, std::uint64_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return sys_error(path.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return sys_error(path.string());
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(Errc::invalid_argument, path.string() + ": not a regular file");
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_size) {
    return make_error(Errc::overflow, path.string() + ": file of " + std::to_string(size) +
                                          " bytes exceeds the limit of " +
                                          std::to_string(max_size));
  }
  Buffer data(size);
  RAFS_TRY(pread_full(fd.get(), 0, MutableBytes(data.data(), data.size()), path.string()));
  return data;
}

} // namespace

Result<std::vector<std::uint8_t>> read_whole_file(const std::filesystem::path& path, std::uint64_t max_size) {
  return read_into<std::vector<std::uint8_t>>(path, max_size);
}

Result<HugeBuffer> read_whole_file_huge(const std::filesystem::path& path, std::uint64_t max_size) {
  return read_into<HugeBuffer>(path, max_size);
}

Result<RandomAccessFile> RandomAccessFile::open(const std::filesystem::path& path) {
  RandomAccessFile f;
  f.m_name = path.string();
  f.m_fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.m_fd) {
    return sys_error(f.m_name);
  }
  struct stat st {};
  if (::fstat(f.m_fd.get(), &st) != 0) {
    return sys_error(f.m_name);
  }
  f.m_size = static_cast<std::uint64_t>(st.st_size);
  return f;
}

Result<void> RandomAccessFile::read_at(std::uint64_t offset, MutableBytes out) const {
  if (offset > m_size || out.size() > m_size - offset) {
    return make_error(Errc::corrupted, m_name + ": range " + std::to_string(offset) + "+" +
                                           std::to_string(out.size()) + " is beyond the end (" +
                                           std::to_string(m_size) + " bytes)");
  }
  return pread_full(m_fd.get(), offset, out, m_name);
}

Result<AtomicFile> AtomicFile::create(const std::filesystem::path& final_path) {
  AtomicFile f;
  f.m_final = final_path;
  std::filesystem::path dir = final_path.parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  std::string leaf = ".";
  leaf += final_path.filename().string();
  leaf += ".tmp-XXXXXX";
  std::string tmpl = (dir / leaf).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    return sys_error("cannot create a file in " + dir.string());
  }
  f.m_fd.reset(fd);
  f.m_temp = tmpl;
  ::fchmod(fd, 0644);
  return f;
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : m_fd(std::move(o.m_fd)), m_temp(std::move(o.m_temp)), m_final(std::move(o.m_final)),
      m_committed(std::exchange(o.m_committed, true)), m_written(o.m_written), m_kicked(o.m_kicked),
      m_synced(o.m_synced), m_sync(std::move(o.m_sync)) {
  o.m_temp.clear();
}

AtomicFile::~AtomicFile() {
  if (m_sync.valid()) {
    m_sync.wait(); // its descriptor stays open until it is done
  }
  if (!m_committed && !m_temp.empty()) {
    m_fd.reset();
    ::unlink(m_temp.c_str());
  }
}

Result<void> AtomicFile::write(Bytes data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(m_fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_error("write " + m_final.string());
    }
    done += static_cast<std::size_t>(n);
  }
  m_written += data.size();
  if (m_written - m_kicked >= k_writeback_step) {
    // A hint: errors (or a filesystem without writeback) show at fsync.
    (void)::sync_file_range(m_fd.get(), static_cast<off_t>(m_kicked),
                            static_cast<off_t>(m_written - m_kicked), SYNC_FILE_RANGE_WRITE);
    m_kicked = m_written;
  }
  return {};
}

Result<void> AtomicFile::commit_as(const std::filesystem::path& final_path) {
  m_final = final_path;
  return commit();
}

void AtomicFile::sync_in_background() {
  if (m_sync.valid()) {
    return;
  }
  m_synced = m_written;
  m_sync = std::async(std::launch::async, [fd = m_fd.get()] { return ::fsync(fd) == 0 ? 0 : errno; });
}

Result<void> AtomicFile::commit() {
  bool synced = false;
  if (m_sync.valid()) {
    if (const int err = m_sync.get(); err != 0) {
      errno = err;
      return sys_error("fsync " + m_final.string());
    }
    synced = m_synced == m_written;
  }
  if (!synced && ::fsync(m_fd.get()) != 0) {
    return sys_error("fsync " + m_final.string());
  }
  if (::close(m_fd.release()) != 0) {
    return sys_error("close " + m_final.string());
  }
  if (::rename(m_temp.c_str(), m_final.c_str()) != 0) {
    return sys_error("rename to " + m_final.string());
  }
  m_committed = true;
  return {};
}

} // namespace rafs
