#include "runtime/blob_backend.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <string>
#include <vector>

#include "format/file.hpp"
#include "runtime/registry_backend.hpp"

namespace rafs::runtime {

void BlobBackend::readahead(std::uint32_t, std::uint64_t, std::uint64_t) {}

namespace {

// One opened blob file: read-only, never closed before the backend.
struct OpenBlob {
  UniqueFd fd;
  std::uint64_t base = 0; // where the blob starts in the file
  std::uint64_t size = 0;
  std::string name;
};

class LocalFsBackend final : public BlobBackend {
public:
  LocalFsBackend(const v5::Bootstrap& boot, const RuntimeConfig& config)
      : m_boot(boot), m_config(config), m_slots(boot.blobs().size()) {}

  Result<void> read(std::uint32_t blob_index, std::uint64_t offset, MutableBytes out) override {
    RAFS_TRY_ASSIGN(const OpenBlob* blob, get(blob_index));
    if (offset > blob->size || out.size() > blob->size - offset) {
      return make_error(Errc::corrupted, blob->name + ": range " + std::to_string(offset) + "+" +
                                             std::to_string(out.size()) +
                                             " is beyond the end of the blob (" +
                                             std::to_string(blob->size) + " bytes)");
    }
    return pread_full(blob->fd.get(), blob->base + offset, out, blob->name);
  }

  void readahead(std::uint32_t blob_index, std::uint64_t offset, std::uint64_t size) override {
    auto blob = get(blob_index);
    if (blob && size > 0) {
      // Best effort: a failure only means the data is not warmed.
      (void)::readahead((*blob)->fd.get(), static_cast<off64_t>((*blob)->base + offset), size);
    }
  }

private:
  struct Slot {
    std::mutex open_mutex;
    std::atomic<const OpenBlob*> blob{nullptr};
    std::unique_ptr<OpenBlob> owned;
  };

  // The opened file of a blob; a failed open is retried at the next call
  // (the file may appear later) and reported each time.
  Result<const OpenBlob*> get(std::uint32_t blob_index) {
    if (blob_index >= m_slots.size()) {
      return make_error(Errc::out_of_range, "blob index " + std::to_string(blob_index));
    }
    Slot& slot = m_config.blob_file.empty() ? m_slots[blob_index] : m_single;
    if (const OpenBlob* b = slot.blob.load(std::memory_order_acquire)) {
      return b;
    }
    std::lock_guard lock(slot.open_mutex);
    if (const OpenBlob* b = slot.blob.load(std::memory_order_acquire)) {
      return b;
    }
    RAFS_TRY_ASSIGN(std::unique_ptr<OpenBlob> opened, open_blob(m_boot.blobs()[blob_index].id));
    slot.owned = std::move(opened);
    slot.blob.store(slot.owned.get(), std::memory_order_release);
    return slot.owned.get();
  }

  Result<std::unique_ptr<OpenBlob>> open_blob(const std::string& id) const {
    if (!m_config.blob_extents.empty()) {
      return open_extent(id);
    }
    std::vector<std::filesystem::path> candidates;
    if (!m_config.blob_file.empty()) {
      candidates.push_back(m_config.blob_file);
    } else {
      candidates.push_back(m_config.blob_dir / id);
      for (const auto& dir : m_config.alt_dirs) {
        candidates.push_back(dir / id);
      }
    }
    Error first = make_error(Errc::not_found, "no blob file for " + id);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      auto opened = open_file(candidates[i]);
      if (opened) {
        return std::move(*opened);
      }
      if (i == 0) {
        first = std::move(opened).error();
      }
      // Later candidates are only looked at when the earlier ones are absent.
      if (first.sys_errno != ENOENT) {
        break;
      }
    }
    return first;
  }

  // A blob inside an archive: the archive must still hold the whole extent.
  Result<std::unique_ptr<OpenBlob>> open_extent(const std::string& id) const {
    auto it = m_config.blob_extents.find(id);
    if (it == m_config.blob_extents.end()) {
      return make_error(Errc::not_found, "blob " + id + ": not in the image");
    }
    const BlobExtent& e = it->second;
    RAFS_TRY_ASSIGN(auto blob, open_file(e.file));
    if (e.offset > blob->size || e.size > blob->size - e.offset) {
      return make_error(Errc::corrupted, blob->name + ": blob " + id + " at " + std::to_string(e.offset) + "+" +
                                             std::to_string(e.size) + " is beyond the end of the file (" +
                                             std::to_string(blob->size) + " bytes)");
    }
    blob->name += ": blob " + id;
    blob->base = e.offset;
    blob->size = e.size;
    return blob;
  }

  static Result<std::unique_ptr<OpenBlob>> open_file(const std::filesystem::path& path) {
    auto blob = std::make_unique<OpenBlob>();
    blob->name = path.string();
    blob->fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!blob->fd) {
      return sys_error(blob->name);
    }
    struct stat st {};
    if (::fstat(blob->fd.get(), &st) != 0) {
      return sys_error(blob->name);
    }
    if (!S_ISREG(st.st_mode)) {
      return make_error(Errc::invalid_argument, blob->name + ": not a regular file");
    }
    blob->size = static_cast<std::uint64_t>(st.st_size);
    return blob;
  }

  const v5::Bootstrap& m_boot;
  RuntimeConfig m_config;
  std::vector<Slot> m_slots;
  Slot m_single; // the one file of config.blob_file
};

} // namespace

Result<std::unique_ptr<BlobBackend>> open_blob_backend(const v5::Bootstrap& boot, const RuntimeConfig& config) {
  if (config.backend == BackendType::registry) {
    return open_registry_backend(boot, config);
  }
  return open_localfs_backend(boot, config);
}

Result<std::unique_ptr<BlobBackend>> open_localfs_backend(const v5::Bootstrap& boot,
                                                          const RuntimeConfig& config) {
  if (!boot.blobs().empty() && config.blob_file.empty() && config.blob_dir.empty() &&
      config.blob_extents.empty()) {
    return make_error(Errc::invalid_argument,
                      "localfs backend: neither a blob directory nor a blob file is set");
  }
  return std::unique_ptr<BlobBackend>(std::make_unique<LocalFsBackend>(boot, config));
}

} // namespace rafs::runtime
