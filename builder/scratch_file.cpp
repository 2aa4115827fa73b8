#include "builder/scratch_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace rafs::builder {

Result<ScratchFile> ScratchFile::create(const std::filesystem::path& dir) {
  ScratchFile f;
  f.m_dir = dir;
  f.m_fd.reset(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!f.m_fd) { // filesystems without O_TMPFILE: a named file, unlinked at once
    std::string templ = (dir / ".rafs-scratch-XXXXXX").string();
    f.m_fd.reset(::mkostemp(templ.data(), O_CLOEXEC));
    if (!f.m_fd) {
      return sys_error(dir.string() + ": cannot create a temporary file");
    }
    ::unlink(templ.c_str());
  }
  return f;
}

Result<std::uint64_t> ScratchFile::append(Bytes data) {
  const std::uint64_t at = m_size;
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(m_fd.get(), data.data() + done, data.size() - done,
                         static_cast<off_t>(m_size + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return sys_error(m_dir.string() + ": cannot write a temporary file");
    }
    done += static_cast<std::size_t>(n);
  }
  m_size += data.size();
  return at;
}

Result<void> ScratchFile::read_at(std::uint64_t offset, MutableBytes out) const {
  return pread_full(m_fd.get(), offset, out, m_dir.string() + ": temporary file");
}

} // namespace rafs::builder
